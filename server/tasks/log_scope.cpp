#include "tasks/log_scope.h"

#include "base/unix_socket.h"

#include "tasks/cgroups.h"
#include "tasks/task_spec.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace day2::tasks {

namespace {

constexpr const char* kStreamNames[2] = {"stdout", "stderr"};

bool hasMagic(const std::string& path, long magic) {
    struct statfs fs {};
    return ::statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == magic;
}

std::string errnoText() {
    return std::strerror(errno);
}

} // namespace

Result<std::string> journaldCgroupTree(const std::string& root) {
    if (hasMagic(root, CGROUP2_SUPER_MAGIC))
        return root;
    if (hasMagic(root + "/unified", CGROUP2_SUPER_MAGIC))
        return root + "/unified";
    if (hasMagic(root + "/systemd", CGROUP_SUPER_MAGIC))
        return root + "/systemd";
    return Error{"no cgroup tree for journald's units here (neither " + root + " nor " + root +
                 "/unified is cgroup2, and " + root + "/systemd is no name=systemd hierarchy)"};
}

std::string logSliceFor(const std::string& cgroupParent) {
    std::string slice;
    for (char c : cgroupParent) {
        if (c == '/')
            slice += '-';
        else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':')
            slice += c;
        else
            slice += '_';
    }
    while (!slice.empty() && slice.back() == '-')
        slice.pop_back();
    // Always day2's own: never one of systemd's (system.slice, user.slice, machine.slice).
    if (slice.rfind("day2", 0) != 0)
        slice = slice.empty() ? "day2" : "day2-" + slice;
    return slice + ".slice";
}

Result<void> checkLogScopes(const std::string& tree, const std::string& unitsDir) {
    if (::access((tree + "/cgroup.procs").c_str(), W_OK) != 0)
        return Error{"cannot move processes in " + tree + ": " + errnoText()};
    if (::mkdir(unitsDir.c_str(), 0755) != 0 && errno != EEXIST)
        return Error{"cannot create " + unitsDir + ": " + errnoText()};
    if (::access(unitsDir.c_str(), W_OK) != 0)
        return Error{"cannot write to " + unitsDir + ": " + errnoText()};
    return {};
}

Result<void> checkJournaldSeesOurCgroups(const std::string& streamSocket) {
    // Connected and closed before the header: journald makes no entry of it.
    auto connected = connectUnixSocket(streamSocket, SOCK_STREAM);
    if (!connected)
        return Error{"journald's stdout stream " + streamSocket +
                     " does not answer: " + connected.error().message};
    const int fd = *connected;
    ucred peer{};
    socklen_t len = sizeof peer;
    const bool known = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && peer.pid > 0;
    ::close(fd);
    if (!known)
        return Error{"journald's process is not visible from here"};
    char ours[64] = {}, theirs[64] = {};
    const std::string peerNs = "/proc/" + std::to_string(peer.pid) + "/ns/cgroup";
    if (::readlink("/proc/self/ns/cgroup", ours, sizeof ours - 1) < 0 ||
        ::readlink(peerNs.c_str(), theirs, sizeof theirs - 1) < 0)
        return Error{"cannot compare cgroup namespaces with journald (pid " +
                     std::to_string(peer.pid) + "): " + errnoText()};
    if (std::string_view(ours) != std::string_view(theirs))
        return Error{"journald (pid " + std::to_string(peer.pid) +
                     ") is in another cgroup namespace"};
    return {};
}

LogScopes logScopesFor(const std::string& tree, const std::string& unitsDir,
                       const std::string& slice, const std::string& containerId) {
    LogScopes scopes;
    for (int s = 0; s < 2; ++s) {
        LogScope& scope = scopes.streams[static_cast<size_t>(s)];
        scope.unit = "day2-" + containerId + "-" + kStreamNames[s] + ".scope";
        scope.cgroupDir = tree + "/" + slice + "/" + scope.unit;
        scope.fieldsFile = unitsDir + "/log-extra-fields:" + scope.unit;
    }
    return scopes;
}

std::string encodeExtraFields(const FieldList& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        uint64_t n = name.size() + 1 + value.size();
        for (int i = 0; i < 8; ++i) {
            out.push_back(static_cast<char>(n & 0xff));
            n >>= 8;
        }
        out.append(name).append("=").append(value);
    }
    return out;
}

Result<LogScopes> createLogScopes(const std::string& tree, const std::string& unitsDir,
                                  const std::string& slice, const std::string& containerId,
                                  const std::array<FieldList, 2>& fields) {
    if (auto r = checkLogScopes(tree, unitsDir); !r)
        return r.error();
    const std::string sliceDir = tree + "/" + slice;
    if (::mkdir(sliceDir.c_str(), 0755) != 0 && errno != EEXIST)
        return Error{"cannot create cgroup " + sliceDir + ": " + errnoText()};
    LogScopes scopes = logScopesFor(tree, unitsDir, slice, containerId);
    // Undone on failure: only what this call made.
    std::vector<std::string> dirs, files;
    auto undo = [&](Error e) -> Result<LogScopes> {
        for (const auto& f : files)
            ::unlink(f.c_str());
        for (const auto& d : dirs)
            ::rmdir(d.c_str());
        return e;
    };
    for (size_t s = 0; s < 2; ++s) {
        const LogScope& scope = scopes.streams[s];
        if (::mkdir(scope.cgroupDir.c_str(), 0755) != 0)
            return undo(Error{"cannot create cgroup " + scope.cgroupDir + ": " + errnoText()});
        dirs.push_back(scope.cgroupDir);
        if (::access(scope.fieldsFile.c_str(), F_OK) == 0)
            return undo(Error{scope.fieldsFile + " exists already"});
        if (auto r = writeFileAtomically(scope.fieldsFile, encodeExtraFields(fields[s]), 0644); !r)
            return undo(r.error());
        files.push_back(scope.fieldsFile);
    }
    return scopes;
}

namespace {

// One scope: its fields file, and its cgroup with whatever of our forwarders is left in it.
Result<void> removeLogScope(const LogScope& scope) {
    std::string failed;
    if (::unlink(scope.fieldsFile.c_str()) != 0 && errno != ENOENT)
        failed = scope.fieldsFile + ": " + errnoText();
    CgroupSet set;
    set.version = CgroupVersion::V1;
    set.dirs = {scope.cgroupDir};
    set.controllers = {""};
    if (auto r = cgroupRemove(set); !r)
        failed += (failed.empty() ? "" : "; ") + r.error().message;
    if (!failed.empty())
        return Error{failed};
    return {};
}

} // namespace

Result<void> removeLogScopes(const LogScopes& scopes) {
    if (scopes.empty())
        return {};
    std::string failed;
    for (const auto& scope : scopes.streams)
        if (auto r = removeLogScope(scope); !r)
            failed += (failed.empty() ? "" : "; ") + r.error().message;
    if (!failed.empty())
        return Error{"cannot remove the log scopes: " + failed};
    return {};
}

Result<void> removeLogSlice(const std::string& tree, const std::string& unitsDir,
                            const std::string& slice) {
    const std::string dir = tree + "/" + slice;
    std::string failed;
    if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> units;
        while (const dirent* e = ::readdir(d)) {
            const std::string name = e->d_name;
            // Only day2's scopes: whatever else is there is not ours to kill.
            if (e->d_type == DT_DIR && name.rfind("day2-", 0) == 0 &&
                name.compare(name.size() - 6, 6, ".scope") == 0)
                units.push_back(name);
        }
        ::closedir(d);
        for (const auto& unit : units)
            if (auto r = removeLogScope(
                    {dir + "/" + unit, unitsDir + "/log-extra-fields:" + unit, unit});
                !r)
                failed += (failed.empty() ? "" : "; ") + r.error().message;
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT)
        failed += (failed.empty() ? "" : "; ") + dir + ": " + errnoText();
    if (!failed.empty())
        return Error{failed};
    return {};
}

Result<void> joinLogScope(const LogScope& scope) {
    const std::string procs = scope.cgroupDir + "/cgroup.procs";
    int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return Error{"cannot open " + procs + ": " + errnoText()};
    const bool ok = ::write(fd, "0\n", 2) == 2;
    const std::string why = errnoText();
    ::close(fd);
    if (!ok)
        return Error{"cannot join " + scope.cgroupDir + ": " + why};
    return {};
}

} // namespace day2::tasks
