// Order between a test and the tasks it launches, made to happen rather than hoped for.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace day2::test {

// Polls `done` every 50 ms until it holds or `limit` passes; returns whether it held.
bool waitUntil(const std::function<bool()>& done, std::chrono::seconds limit);

// A gate puts an order between a task and the test: the task waits where it must (waitFor() in
// its shell, or a loop on path()), the test opens the gate when what has to come first has
// happened. Tasks run as nobody in their own mount namespace but see the host's /tmp, so the
// gate is a file in a 0755 directory there (gatesDir(), which the suite removes). A gate left
// closed is opened when it goes, so that no task waits forever.
std::string gatesDir();
class Gate {
public:
    explicit Gate(const std::string& name);
    ~Gate() { open(); }
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;
    const std::string& path() const { return m_path; }
    std::string waitFor() const { return "while [ ! -e " + m_path + " ]; do sleep 0.02; done"; }
    void open() const;

private:
    std::string m_path;
};

} // namespace day2::test
