#include "metrics/gorilla.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace day2::metrics {

namespace {

// The delta-of-delta buckets after '0' (dod == 0); the last, '11111' + 64 bits, takes the rest.
struct DodBucket {
    uint64_t prefix;
    unsigned prefixBits;
    unsigned valueBits;
};
constexpr DodBucket kDodBuckets[] = {
    {0b10, 2, 7}, {0b110, 3, 12}, {0b1110, 4, 20}, {0b11110, 5, 32}};
constexpr uint64_t kWidestPrefix = 0b11111;
constexpr unsigned kWidestPrefixBits = 5;

bool fitsSigned(int64_t v, unsigned bits) {
    const int64_t half = int64_t{1} << (bits - 1);
    return v >= -half && v < half;
}

int64_t signExtend(uint64_t v, unsigned bits) {
    const unsigned shift = 64 - bits;
    return static_cast<int64_t>(v << shift) >> shift; // arithmetic in C++20
}

} // namespace

bool GorillaChunk::append(int64_t timestampMs, double value) {
    const auto bits = std::bit_cast<uint64_t>(value);
    if (m_count == 0) {
        writeBits(static_cast<uint64_t>(timestampMs), 64);
        writeBits(bits, 64);
        m_firstMs = m_lastMs = timestampMs;
        m_lastDelta = 0;
        m_lastValueBits = bits;
        m_count = 1;
        return true;
    }
    if (timestampMs <= m_lastMs || m_count == std::numeric_limits<uint32_t>::max())
        return false;

    // Modulo 2^64: the decoder adds the same wrapped numbers back.
    const uint64_t delta = static_cast<uint64_t>(timestampMs) - static_cast<uint64_t>(m_lastMs);
    const auto dod = static_cast<int64_t>(delta - m_lastDelta);
    if (dod == 0) {
        writeBit(false);
    } else {
        bool written = false;
        for (const DodBucket& b : kDodBuckets) {
            if (fitsSigned(dod, b.valueBits)) {
                writeBits(b.prefix, b.prefixBits);
                writeBits(static_cast<uint64_t>(dod), b.valueBits);
                written = true;
                break;
            }
        }
        if (!written) {
            writeBits(kWidestPrefix, kWidestPrefixBits);
            writeBits(static_cast<uint64_t>(dod), 64);
        }
    }

    const uint64_t x = bits ^ m_lastValueBits;
    if (x == 0) {
        writeBit(false);
    } else {
        const auto leading = static_cast<uint8_t>(std::min(std::countl_zero(x), 31));
        const auto trailing = static_cast<uint8_t>(std::countr_zero(x));
        if (m_leading != kNoWindow && leading >= m_leading && trailing >= m_trailing) {
            writeBits(0b10, 2);
            writeBits(x >> m_trailing, 64u - m_leading - m_trailing);
        } else {
            const unsigned significant = 64u - leading - trailing;
            writeBits(0b11, 2);
            writeBits(leading, 5);
            writeBits(significant & 63u, 6); // 64 is written as 0
            writeBits(x >> trailing, significant);
            m_leading = leading;
            m_trailing = trailing;
        }
    }

    m_lastMs = timestampMs;
    m_lastDelta = delta;
    m_lastValueBits = bits;
    ++m_count;
    return true;
}

void GorillaChunk::writeBits(uint64_t value, unsigned n) {
    if (n == 0)
        return;
    if (n < 64)
        value &= (uint64_t{1} << n) - 1;
    const auto used = static_cast<unsigned>(m_bits & 63);
    if (used == 0)
        m_words.push_back(0);
    const unsigned free = 64 - used;
    if (n <= free) {
        m_words.back() |= value << (free - n);
    } else {
        const unsigned rest = n - free;
        m_words.back() |= value >> rest;
        m_words.push_back(value << (64 - rest));
    }
    m_bits += n;
}

bool GorillaChunk::Iterator::next() {
    if (m_left == 0)
        return false;
    --m_left;
    if (!m_started) {
        m_started = true;
        m_t = readBits(64);
        m_valueBits = readBits(64);
        return true;
    }

    int64_t dod = 0;
    if (readBit()) {
        unsigned width = 64;
        for (const DodBucket& b : kDodBuckets) {
            if (!readBit()) {
                width = b.valueBits;
                break;
            }
        }
        const uint64_t raw = readBits(width);
        dod = width == 64 ? static_cast<int64_t>(raw) : signExtend(raw, width);
    }
    m_delta += static_cast<uint64_t>(dod);
    m_t += m_delta;

    if (readBit()) {
        if (readBit()) {
            m_leading = static_cast<uint8_t>(readBits(5));
            auto significant = static_cast<unsigned>(readBits(6));
            if (significant == 0)
                significant = 64;
            m_trailing = static_cast<uint8_t>(64u - m_leading - significant);
        }
        const unsigned significant = 64u - m_leading - m_trailing;
        m_valueBits ^= readBits(significant) << m_trailing;
    }
    return true;
}

double GorillaChunk::Iterator::value() const {
    return std::bit_cast<double>(m_valueBits);
}

bool GorillaChunk::Iterator::readBit() {
    const uint64_t word = m_words[m_pos >> 6];
    const bool bit = ((word >> (63 - (m_pos & 63))) & 1) != 0;
    ++m_pos;
    return bit;
}

uint64_t GorillaChunk::Iterator::readBits(unsigned n) {
    if (n == 0)
        return 0;
    const uint64_t* word = m_words + (m_pos >> 6);
    const auto offset = static_cast<unsigned>(m_pos & 63);
    const unsigned available = 64 - offset;
    uint64_t out = 0;
    if (n <= available) {
        out = (word[0] << offset) >> (64 - n);
    } else {
        const unsigned rest = n - available;
        const uint64_t high = (word[0] << offset) >> offset;
        out = (high << rest) | (word[1] >> (64 - rest));
    }
    m_pos += n;
    return out;
}

} // namespace day2::metrics
