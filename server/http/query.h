// Pure parsers for request targets: percent-decoding, query strings, path segments.
#pragma once

#include "base/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace day2::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes; with `plusIsSpace`, '+' becomes ' ' (form encoding, query strings only).
Result<std::string> percentDecode(std::string_view text, bool plusIsSpace);

// "a=1&b=%20x&c" -> {{"a","1"},{"b"," x"},{"c",""}}; empty pieces ("a=1&&b=2") are skipped.
Result<QueryParams> parseQueryString(std::string_view query);

// "/system/v1/logs/v1/range/" -> {"system","v1","logs","v1","range"}; each segment decoded.
// An encoded '/' inside a segment or a "." / ".." segment is refused.
Result<std::vector<std::string>> splitPath(std::string_view path);

} // namespace day2::http
