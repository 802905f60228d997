#include "agent/agent_identity.h"

#include <systemd/sd-id128.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

namespace day2::agent {

namespace fs = std::filesystem;

namespace {
bool looksLikeUuid(const std::string& s) {
    static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    return std::regex_match(s, re);
}
} // namespace

Result<std::string> loadOrCreateAgentId(const std::string& stateDir) {
    std::error_code ec;
    fs::create_directories(stateDir, ec);
    if (ec)
        return Error{"cannot create the state directory " + stateDir + ": " + ec.message()};
    const fs::path file = fs::path(stateDir) / "agent_id";
    if (fs::exists(file, ec)) {
        std::ifstream in(file);
        std::string id;
        std::getline(in, id);
        if (looksLikeUuid(id))
            return id;
        return Error{file.string() + " does not hold an agent id (a lowercase UUID); remove it to "
                                     "have a new one generated"};
    }
    sd_id128_t raw;
    if (int r = sd_id128_randomize(&raw); r < 0)
        return Error{std::string("cannot generate an agent id: ") + std::strerror(-r)};
    char buf[SD_ID128_UUID_STRING_MAX];
    std::string id = sd_id128_to_uuid_string(raw, buf);
    const fs::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << id << '\n';
        out.flush();
        if (!out)
            return Error{"cannot write " + tmp.string()};
    }
    fs::rename(tmp, file, ec);
    if (ec)
        return Error{"cannot write " + file.string() + ": " + ec.message()};
    return id;
}

} // namespace day2::agent
