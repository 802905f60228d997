// How a task's lines get their journald fields at the speed of journald's stdout streams.
//
// journald's native protocol (one datagram per entry) is the only way for a writer to attach
// fields to a line, and it costs journald several syscalls per line. Its stdout stream protocol
// (what systemd-cat and every systemd service use) reads thousands of lines per syscall but
// carries only an identifier and a priority. journald itself bridges the two for systemd units:
// it finds the sender's unit from the sender's cgroup and adds the fields listed in
// /run/systemd/units/log-extra-fields:<unit> (LogExtraFields=) to every entry that sender writes,
// on every transport.
//
// A log scope is that, for one stream of one container: a cgroup
// `<journald's tree>/<slice>/day2-<container id>-<stdout|stderr>.scope` that the forwarder
// of that stream joins, and the fields file of that unit holding the container's identity. The
// fields then come from journald, as trusted as _SYSTEMD_UNIT, not from the writer.
#pragma once

#include "base/result.h"

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace day2::tasks {

inline constexpr const char* kJournaldUnitsDir = "/run/systemd/units";

struct LogScope {
    std::string cgroupDir;  // the forwarder of this stream joins it
    std::string fieldsFile; // log-extra-fields:<unit>
    std::string unit;       // day2-<container id>-stdout.scope
};

// Empty (no scopes): the task's lines go to journald as native datagrams carrying the fields.
struct LogScopes {
    std::array<LogScope, 2> streams; // [0] stdout, [1] stderr
    bool empty() const { return streams[0].cgroupDir.empty(); }
};

using FieldList = std::vector<std::pair<std::string, std::string>>;

// The cgroup tree journald reads a sender's unit from, found the way systemd does: the unified
// tree when /sys/fs/cgroup is cgroup2, else the hybrid one at /sys/fs/cgroup/unified, else the
// v1 name=systemd hierarchy. `root` is /sys/fs/cgroup except in tests.
Result<std::string> journaldCgroupTree(const std::string& root = "/sys/fs/cgroup");

// The slice of an agent's log scopes, named after its tasks.cgroup_parent: "day2" gives
// "day2.slice" ('/' becomes '-', other characters a unit name cannot hold become '_'), and a
// name not starting with "day2" gets "day2-" before it ("web" gives "day2-web.slice").
std::string logSliceFor(const std::string& cgroupParent);

// Checks that log scopes can be made here: processes can be moved in the tree, and the units
// directory (created if missing) is writable. The error says what is missing.
Result<void> checkLogScopes(const std::string& tree, const std::string& unitsDir);

// Checks that journald's stdout stream socket answers and that journald sees cgroups as we do
// (the same cgroup namespace, found through the socket's peer): else it would look up other
// paths than the scopes we make, and lines would get no fields.
Result<void> checkJournaldSeesOurCgroups(const std::string& streamSocket);

// The scopes a container has (or would have): paths only, nothing is touched.
LogScopes logScopesFor(const std::string& tree, const std::string& unitsDir,
                       const std::string& slice, const std::string& containerId);

// Creates the slice if missing, both cgroups, and both fields files; `fields[s]` are stream
// s's fields. On failure nothing it made remains (but the slice).
Result<LogScopes> createLogScopes(const std::string& tree, const std::string& unitsDir,
                                  const std::string& slice, const std::string& containerId,
                                  const std::array<FieldList, 2>& fields);

// Removes the fields files and the cgroups, killing forwarders still in them. Missing ones are
// not an error.
Result<void> removeLogScopes(const LogScopes& scopes);

// Removes every day2-*.scope of the slice (as removeLogScopes), then the slice: for tests and tools
// that clean up after an agent.
Result<void> removeLogSlice(const std::string& tree, const std::string& unitsDir,
                            const std::string& slice);

// Moves the calling process into `scope`'s cgroup.
Result<void> joinLogScope(const LogScope& scope);

// The binary format of log-extra-fields files: for each field, its length as a little-endian
// 64-bit number, then NAME=value (exposed for tests).
std::string encodeExtraFields(const FieldList& fields);

} // namespace day2::tasks
