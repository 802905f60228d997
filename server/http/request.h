// One HTTP request as the agent's handlers see it: no Beast types.
#pragma once

#include "base/text.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace day2::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;
    std::string target; // as sent: path and query
    std::string path;   // raw (still percent-encoded) path
    std::string query;  // raw query string without '?'
    Headers headers;
    std::string body;
    std::string remoteAddress;

    std::optional<std::string_view> header(std::string_view name) const {
        for (const auto& [k, v] : headers)
            if (text::iequals(k, name))
                return std::string_view(v);
        return std::nullopt;
    }
};

} // namespace day2::http
