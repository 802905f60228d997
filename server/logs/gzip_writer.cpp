#include "logs/gzip_writer.h"

#include <zlib.h>

#include <stdexcept>

namespace day2::logs {

struct GzipWriter::Impl {
    z_stream z{};
};

GzipWriter::GzipWriter() : m_impl(std::make_unique<Impl>()) {
    // 15 + 16: a gzip wrapper instead of zlib's. Level 6 is zlib's default balance.
    if (deflateInit2(&m_impl->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
}

GzipWriter::~GzipWriter() {
    deflateEnd(&m_impl->z);
}

namespace {
void pump(z_stream& z, std::string& out, int flush) {
    char buf[64 * 1024];
    do {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        int r = deflate(&z, flush);
        if (r == Z_STREAM_ERROR)
            throw std::runtime_error("deflate failed");
        out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
}
} // namespace

void GzipWriter::write(std::string_view in, std::string& out) {
    auto& z = m_impl->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    pump(z, out, Z_NO_FLUSH);
}

void GzipWriter::finish(std::string& out) {
    auto& z = m_impl->z;
    z.next_in = nullptr;
    z.avail_in = 0;
    pump(z, out, Z_FINISH);
}

} // namespace day2::logs
