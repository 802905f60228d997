// A compressed chunk of (timestamp in ms, double) samples, as in Facebook's Gorilla paper
// (Pelkonen et al., VLDB 2015) and Prometheus' XOR chunk: an append-only bit stream, read back
// with an Iterator.
//
// Encoding, most significant bit first in 64-bit words:
// - the first sample: its timestamp (64 bits) and the bits of its value (64 bits);
// - each further timestamp as the delta of deltas (the first delta is taken against 0), in a
//   bucket of variable length:
//     '0' dod == 0, '10' + 7 bits [-64, 63], '110' + 12 bits [-2048, 2047],
//     '1110' + 20 bits [-2^19, 2^19), '11110' + 32 bits [-2^31, 2^31), '11111' + 64 bits;
//   so a steady interval costs 1 bit, a few ms of jitter 9 bits, a gap of any length 69 bits;
// - each further value by whichever of these is shortest:
//     '0' the same bits as the previous value;
//     a decimal delta (below) in n bits, with the window (e, n) of the last one: '10' + n bits
//       when the last changed value was written so too, else '110' + n bits;
//     Gorilla's XOR with the previous value's bits, the meaningful bits inside the window of
//       leading and trailing zeros of the last XOR: '10' + the bits when the last changed value
//       was written so too, else '110' + the bits;
//     '1110' + a new XOR window: 5 bits of leading zeros (at most 31) + 6 bits of length (64 as
//       0) + the meaningful bits;
//     '1111' + a new decimal window: 4 bits e + 6 bits n-1 + the delta in n bits (at the same e
//       a new window is never narrower than the last, so noisy deltas do not reopen it).
//   A value is *decimal at e* (0 <= e <= 15) when it is m / 10^e for an integer |m| <= 2^53, bit
//   for bit (a collector's 123.456 or 4096.0, not 1/3 or -0.0); the decimal delta of two values
//   decimal at the same e is the zigzag of m - m_previous in n bits. It is how VictoriaMetrics
//   stores floats: counters of ticks, bytes and percents rounded at their source change in few
//   decimal digits but in many bits of XOR.
// Values round-trip bit for bit: NaN with its payload and sign, ±inf, -0.0, denormals.
// Timestamps round-trip exactly for any int64 (negative ones too) as long as they strictly
// increase: an append whose timestamp is not after the last one is refused (returns false) and
// changes nothing (so is one past 2^32 - 1 samples). The arithmetic is modulo 2^64, so even a jump
// from INT64_MIN to INT64_MAX decodes exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace day2::metrics {

class GorillaChunk {
public:
    // Appends a sample; false (and nothing stored) when timestampMs is not after the last one.
    bool append(int64_t timestampMs, double value);

    size_t size() const { return m_count; }
    bool empty() const { return m_count == 0; }
    // Of the first and last samples; only when not empty.
    int64_t firstMs() const { return m_firstMs; }
    int64_t lastMs() const { return m_lastMs; }

    // Bits of the stream so far.
    uint64_t bits() const { return m_bits; }
    // Memory held: the object and the capacity of its stream.
    size_t bytes() const { return sizeof(*this) + heapBytes(); }
    size_t heapBytes() const { return m_words.capacity() * sizeof(uint64_t); }
    // Capacity management: reserve room for `words` 64-bit words; give back unused capacity
    // (when the chunk is closed).
    void reserveWords(size_t words) { m_words.reserve(words); }
    void shrinkToFit() { m_words.shrink_to_fit(); }
    size_t words() const { return m_words.size(); }

    // Decodes the samples present when it was made, oldest first:
    //   for (auto it = chunk.iterator(); it.next();) use(it.timestampMs(), it.value());
    // Valid while the chunk is neither destroyed nor appended to.
    class Iterator {
    public:
        bool next();
        int64_t timestampMs() const { return static_cast<int64_t>(m_t); }
        double value() const;
        uint64_t valueBits() const { return m_valueBits; }

    private:
        friend class GorillaChunk;
        Iterator(const uint64_t* words, uint32_t count) : m_words(words), m_left(count) {}
        bool readBit();
        uint64_t readBits(unsigned n);
        void applyDecimal(uint64_t delta);

        const uint64_t* m_words;
        uint64_t m_pos = 0; // bit position
        uint32_t m_left;    // samples not yet decoded
        bool m_started = false;
        uint64_t m_t = 0;
        uint64_t m_delta = 0;
        uint64_t m_valueBits = 0;
        uint8_t m_leading = 0;
        uint8_t m_trailing = 0;
        uint8_t m_decimalExponent = 0;
        uint8_t m_decimalBits = 0;
        bool m_lastFormDecimal = false;
    };
    Iterator iterator() const { return Iterator{m_words.data(), m_count}; }

private:
    static constexpr uint8_t kNoWindow = 0xff;

    void writeBits(uint64_t value, unsigned n);
    void writeBit(bool bit) { writeBits(bit ? 1 : 0, 1); }

    std::vector<uint64_t> m_words;
    uint64_t m_bits = 0;
    int64_t m_firstMs = 0;
    int64_t m_lastMs = 0;
    uint64_t m_lastDelta = 0;
    uint64_t m_lastValueBits = 0;
    uint32_t m_count = 0;
    uint8_t m_leading = kNoWindow; // window of the last new XOR window, kNoWindow before the first
    uint8_t m_trailing = 0;
    uint8_t m_decimalExponent = kNoWindow; // the last decimal window, kNoWindow before the first
    uint8_t m_decimalBits = 0;
    uint8_t m_lastExponent = kNoWindow; // the smallest e at which the last value is decimal
    bool m_lastFormDecimal = false;     // the last changed value was written as a decimal delta
};

} // namespace day2::metrics
