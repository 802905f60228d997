// The argv or envp of an exec: a null-terminated array of C strings, built before fork so that
// the child, between fork and exec, only reads it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace day2 {

class CStringArray {
public:
    explicit CStringArray(std::vector<std::string> strings) : m_strings(std::move(strings)) {
        m_pointers.reserve(m_strings.size() + 1);
        for (auto& s : m_strings)
            m_pointers.push_back(s.data());
        m_pointers.push_back(nullptr);
    }
    // Moving keeps the vectors' buffers, so the pointers stay valid; a copy would not.
    CStringArray(CStringArray&&) = default;
    CStringArray& operator=(CStringArray&&) = default;
    CStringArray(const CStringArray&) = delete;
    CStringArray& operator=(const CStringArray&) = delete;

    char** data() { return m_pointers.data(); }

private:
    std::vector<std::string> m_strings;
    std::vector<char*> m_pointers;
};

} // namespace day2
