// Streaming gzip (RFC 1952) for log downloads, on zlib.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace day2::logs {

class GzipWriter {
public:
    GzipWriter();
    ~GzipWriter();
    GzipWriter(const GzipWriter&) = delete;
    GzipWriter& operator=(const GzipWriter&) = delete;

    // Compresses `in`, appending whatever output is ready to `out`.
    void write(std::string_view in, std::string& out);
    // Flushes the rest and the gzip trailer.
    void finish(std::string& out);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace day2::logs
