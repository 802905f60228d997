// Ends an open stream from outside (the agent's ACL reload took its grant away): the stream
// sends the reason as an SSE comment and ends within a turn of the io thread. The logs and the
// metrics streams take one.
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace day2::http {

class StreamStop {
public:
    void stop(std::string why) {
        m_reason = std::move(why);
        if (m_wake)
            m_wake();
    }
    const std::string& reason() const { return m_reason; }
    // The reason as one SSE comment, whatever it holds (a uid comes from a token).
    std::string sseComment() const {
        std::string out = ": " + m_reason;
        for (char& c : out)
            if (c == '\n' || c == '\r')
                c = ' ';
        return out + "\n\n";
    }
    bool stopped() const { return !m_reason.empty(); }
    // Set by the stream while it waits.
    void onStop(std::function<void()> wake) { m_wake = std::move(wake); }

private:
    std::string m_reason;
    std::function<void()> m_wake;
};

} // namespace day2::http
