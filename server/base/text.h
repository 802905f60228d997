// Text encodings used on the wire: JSON string escaping, base64, UTF-8 checks, times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace day2::text {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

// Appends `s` as the body of a JSON string (without quotes). `s` must be valid UTF-8; control
// characters, NUL included, are escaped so the result stays on one line.
void appendJsonEscaped(std::string& out, std::string_view s);

void appendBase64(std::string& out, std::string_view bytes);
std::optional<std::string> decodeBase64(std::string_view text);

// "2026-11-24T18:49:57.123456Z" from microseconds since the epoch.
void appendRfc3339Micros(std::string& out, uint64_t usec);
std::string rfc3339Seconds(uint64_t sec);

// Accepts RFC 3339 ("2026-11-24T18:49:57Z", fractional seconds and offsets allowed) or an
// unsigned decimal number of microseconds since the epoch.
std::optional<uint64_t> parseTimestampMicros(std::string_view text);

// Strict unsigned decimal, no sign, no spaces, no overflow.
std::optional<uint64_t> parseUnsigned(std::string_view text);

bool iequals(std::string_view a, std::string_view b);

// `s` without the spaces and tabs around it (HTTP's optional white space).
std::string_view trim(std::string_view s);

} // namespace day2::text
