#define PCRE2_CODE_UNIT_WIDTH 8
#include "logs/grep.h"

#include <pcre2.h>

namespace day2::logs {

struct Grep::Impl {
    pcre2_code* code = nullptr;
    pcre2_match_data* data = nullptr;
    pcre2_match_context* context = nullptr;
    ~Impl() {
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
        pcre2_code_free(code);
    }
};

Result<std::shared_ptr<Grep>> Grep::compile(std::string_view pattern) {
    return compile(pattern, Options{});
}

Result<std::shared_ptr<Grep>> Grep::compile(std::string_view pattern, Options options) {
    if (pattern.size() > 1024)
        return Error{"the pattern is longer than 1024 bytes"};
    int err = 0;
    PCRE2_SIZE offset = 0;
    const uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
                           (options.caseless ? PCRE2_CASELESS : 0u) |
                           (options.literal ? PCRE2_LITERAL : 0u);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     flags, &err, &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof buf);
        return Error{"invalid regular expression at offset " + std::to_string(offset) + ": " +
                     reinterpret_cast<const char*>(buf)};
    }
    std::shared_ptr<Grep> g(new Grep);
    g->m_impl = std::make_unique<Impl>();
    g->m_impl->code = code;
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); // falls back to the interpreter if refused
    g->m_impl->data = pcre2_match_data_create_from_pattern(code, nullptr);
    g->m_impl->context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(g->m_impl->context, 1000000);
    pcre2_set_depth_limit(g->m_impl->context, 10000);
    return g;
}

Grep::~Grep() = default;

bool Grep::matches(std::string_view subject) {
    int rc = pcre2_match(m_impl->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                         0, 0, m_impl->data, m_impl->context);
    return rc >= 0; // over the match limit counts as no match
}

} // namespace day2::logs
