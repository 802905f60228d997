#include "http/query.h"

namespace day2::http {

namespace {
int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
} // namespace

Result<std::string> percentDecode(std::string_view text, bool plusIsSpace) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size())
                return Error{"truncated percent-escape at offset " + std::to_string(i)};
            int hi = hexValue(text[i + 1]);
            int lo = hexValue(text[i + 2]);
            if (hi < 0 || lo < 0)
                return Error{"malformed percent-escape at offset " + std::to_string(i)};
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plusIsSpace) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

Result<QueryParams> parseQueryString(std::string_view query) {
    QueryParams params;
    size_t pos = 0;
    while (pos <= query.size()) {
        size_t amp = query.find('&', pos);
        if (amp == std::string_view::npos)
            amp = query.size();
        std::string_view piece = query.substr(pos, amp - pos);
        pos = amp + 1;
        if (piece.empty())
            continue;
        size_t eq = piece.find('=');
        std::string_view rawKey = piece.substr(0, eq);
        std::string_view rawValue =
            eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
        auto key = percentDecode(rawKey, true);
        if (!key)
            return Error{"query parameter '" + std::string(rawKey) + "': " + key.error().message};
        auto value = percentDecode(rawValue, true);
        if (!value)
            return Error{"query parameter '" + *key + "': " + value.error().message};
        if (key->empty())
            return Error{"query parameter with an empty name"};
        params.emplace_back(std::move(*key), std::move(*value));
    }
    return params;
}

Result<std::vector<std::string>> splitPath(std::string_view path) {
    std::vector<std::string> segments;
    if (path.empty() || path.front() != '/')
        return Error{"path must start with '/'"};
    size_t pos = 1;
    while (pos <= path.size()) {
        size_t slash = path.find('/', pos);
        if (slash == std::string_view::npos)
            slash = path.size();
        std::string_view raw = path.substr(pos, slash - pos);
        pos = slash + 1;
        if (raw.empty())
            continue;
        auto seg = percentDecode(raw, false);
        if (!seg)
            return Error{"path: " + seg.error().message};
        if (seg->find('/') != std::string::npos || seg->find('\0') != std::string::npos)
            return Error{"path segment '" + std::string(raw) + "' encodes '/' or NUL"};
        if (*seg == "." || *seg == "..")
            return Error{"path segment '" + std::string(raw) + "' is not allowed"};
        segments.push_back(std::move(*seg));
    }
    return segments;
}

} // namespace day2::http
