// grep=REGEX of the logs API: PCRE2 (Perl and ECMAScript share this syntax), JIT-compiled, with
// match limits so a pathological pattern cannot stall the agent.
#pragma once

#include "base/result.h"

#include <memory>
#include <string_view>

namespace day2::logs {

class Grep {
public:
    struct Options {
        bool caseless = false; // Unicode case folding
        bool literal = false;  // the pattern is plain text (a substring search)
    };
    static Result<std::shared_ptr<Grep>> compile(std::string_view pattern);
    static Result<std::shared_ptr<Grep>> compile(std::string_view pattern, Options options);
    ~Grep();
    Grep(const Grep&) = delete;
    Grep& operator=(const Grep&) = delete;

    // Not thread-safe: one Grep per request.
    bool matches(std::string_view subject);

private:
    Grep() = default;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace day2::logs
