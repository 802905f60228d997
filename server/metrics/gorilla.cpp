#include "metrics/gorilla.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

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

constexpr unsigned kMaxExponent = 15;
constexpr double kPow10[kMaxExponent + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr double kTwoTo53 = 9007199254740992.0;

// m when v is m / 10^e bit for bit with |m| <= 2^53. The decoder calls it on the previous value
// exactly as the encoder did, so both find the same m.
std::optional<int64_t> decimalMantissa(double v, unsigned e) {
    const double scaled = v * kPow10[e];
    if (!(std::fabs(scaled) <= kTwoTo53)) // NaN and infinities too
        return std::nullopt;
    const auto m = static_cast<int64_t>(std::llround(scaled));
    if (std::bit_cast<uint64_t>(static_cast<double>(m) / kPow10[e]) != std::bit_cast<uint64_t>(v))
        return std::nullopt;
    return m;
}

// The smallest e at which v is decimal, or kNone.
constexpr uint8_t kNone = 0xff;
uint8_t smallestExponent(double v) {
    if (!std::isfinite(v))
        return kNone;
    for (unsigned e = 0; e <= kMaxExponent; ++e)
        if (decimalMantissa(v, e))
            return static_cast<uint8_t>(e);
    return kNone;
}

uint64_t zigzag(int64_t d) {
    return (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
}
int64_t unzigzag(uint64_t z) {
    return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
}

// The zigzag delta of two values at e, when both are decimal there.
std::optional<uint64_t> decimalDelta(double previous, double value, unsigned e) {
    const auto mp = decimalMantissa(previous, e);
    const auto m = decimalMantissa(value, e);
    if (!mp || !m)
        return std::nullopt;
    return zigzag(*m - *mp); // |m|, |mp| <= 2^53: no overflow
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
        m_lastExponent = smallestExponent(value);
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
    uint8_t valueExponent = m_lastExponent;
    if (x == 0) {
        writeBit(false);
    } else {
        // What each form costs, and the shortest wins. The form used last reuses its window
        // with '10', the other form with '110'.
        const auto leading = static_cast<uint8_t>(std::min(std::countl_zero(x), 31));
        const auto trailing = static_cast<uint8_t>(std::countr_zero(x));
        const unsigned significant = 64u - leading - trailing;
        const unsigned xorPrefix = m_lastFormDecimal ? 3 : 2;
        const unsigned decimalPrefix = m_lastFormDecimal ? 2 : 3;

        enum class Form { XorReuse, XorNew, DecimalReuse, DecimalNew };
        Form form = Form::XorNew;
        unsigned best = 4 + 5 + 6 + significant;
        if (m_leading != kNoWindow && leading >= m_leading && trailing >= m_trailing &&
            xorPrefix + (64u - m_leading - m_trailing) <= best) {
            form = Form::XorReuse;
            best = xorPrefix + (64u - m_leading - m_trailing);
        }
        uint64_t decimal = 0;
        const double previous = std::bit_cast<double>(m_lastValueBits);
        if (m_decimalExponent != kNoWindow && decimalPrefix + m_decimalBits < best) {
            const auto z = decimalDelta(previous, value, m_decimalExponent);
            if (z && static_cast<unsigned>(std::bit_width(*z)) <= m_decimalBits) {
                form = Form::DecimalReuse;
                best = decimalPrefix + m_decimalBits;
                decimal = *z;
            }
        }
        valueExponent = smallestExponent(value);
        const uint8_t exponent = std::max(m_lastExponent, valueExponent); // kNone is the top
        uint8_t newBits = 0;
        // A new window at the last one's exponent cannot beat reusing it (it is no narrower).
        if (exponent != kNone && !(form == Form::DecimalReuse && exponent == m_decimalExponent)) {
            if (const auto z = decimalDelta(previous, value, exponent)) {
                // A new window at the same exponent never narrows: a noisy series would
                // otherwise pay for a new window every time its deltas grow again.
                newBits = static_cast<uint8_t>(std::bit_width(*z));
                if (exponent == m_decimalExponent)
                    newBits = std::max(newBits, m_decimalBits);
                if (4u + 4 + 6 + newBits < best) {
                    form = Form::DecimalNew;
                    decimal = *z;
                }
            }
        }
        switch (form) {
        case Form::XorReuse:
            writeBits(m_lastFormDecimal ? 0b110 : 0b10, xorPrefix);
            writeBits(x >> m_trailing, 64u - m_leading - m_trailing);
            m_lastFormDecimal = false;
            break;
        case Form::XorNew:
            writeBits(0b1110, 4);
            writeBits(leading, 5);
            writeBits(significant & 63u, 6); // 64 is written as 0
            writeBits(x >> trailing, significant);
            m_leading = leading;
            m_trailing = trailing;
            m_lastFormDecimal = false;
            break;
        case Form::DecimalReuse:
            writeBits(m_lastFormDecimal ? 0b10 : 0b110, decimalPrefix);
            writeBits(decimal, m_decimalBits);
            m_lastFormDecimal = true;
            break;
        case Form::DecimalNew:
            writeBits(0b1111, 4);
            writeBits(exponent, 4);
            writeBits(newBits - 1u, 6);
            writeBits(decimal, newBits);
            m_decimalExponent = exponent;
            m_decimalBits = newBits;
            m_lastFormDecimal = true;
            break;
        }
    }
    m_lastExponent = valueExponent;

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
        bool decimal = false;
        bool reuse = true;
        if (!readBit()) { // '10': the window of the form used last
            decimal = m_lastFormDecimal;
        } else if (!readBit()) { // '110': the other form's window
            decimal = !m_lastFormDecimal;
        } else { // '1110' a new XOR window, '1111' a new decimal one
            decimal = readBit();
            reuse = false;
        }
        m_lastFormDecimal = decimal;
        if (decimal) {
            if (!reuse) {
                m_decimalExponent = static_cast<uint8_t>(readBits(4));
                m_decimalBits = static_cast<uint8_t>(readBits(6) + 1);
            }
            applyDecimal(readBits(m_decimalBits));
        } else {
            if (!reuse) {
                m_leading = static_cast<uint8_t>(readBits(5));
                auto significant = static_cast<unsigned>(readBits(6));
                if (significant == 0)
                    significant = 64;
                m_trailing = static_cast<uint8_t>(64u - m_leading - significant);
            }
            const unsigned significant = 64u - m_leading - m_trailing;
            m_valueBits ^= readBits(significant) << m_trailing;
        }
    }
    return true;
}

void GorillaChunk::Iterator::applyDecimal(uint64_t delta) {
    // The encoder made this delta from the previous value's mantissa at this exponent.
    const int64_t previous =
        decimalMantissa(std::bit_cast<double>(m_valueBits), m_decimalExponent).value_or(0);
    const int64_t m = previous + unzigzag(delta);
    m_valueBits = std::bit_cast<uint64_t>(static_cast<double>(m) / kPow10[m_decimalExponent]);
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
