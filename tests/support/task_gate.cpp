#include "task_gate.h"

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace day2::test {

bool waitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

std::string gatesDir() {
    return "/tmp/day2-tasks-gates-" + std::to_string(::getpid());
}

Gate::Gate(const std::string& name) : m_path(gatesDir() + "/" + name) {
    fs::create_directories(gatesDir());
    fs::permissions(gatesDir(), fs::perms(0755));
    fs::remove(m_path);
}

void Gate::open() const {
    std::ofstream(m_path).flush();
}

} // namespace day2::test
