// Finding cgroup hierarchies in mountinfo, and what create() writes. The limit files are checked
// on FakeTree directories (a plain directory standing in for a cgroup mount, since this host's
// cgroup v2 tree has no memory, cpu or pids controller to write to); the integration test
// tasks_api checks the real v1 files and the real v2 tree.
#include "tasks/cgroups.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace day2::tasks;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    return s;
}

struct FakeTree {
    fs::path root;
    FakeTree() {
        char tmpl[] = "/tmp/day2-cgroup-faketree-XXXXXX";
        root = ::mkdtemp(tmpl);
    }
    ~FakeTree() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
};

} // namespace

TEST(Cgroups, FindsV1HierarchiesAndTheV2MountInMountinfo) {
    const std::string mountinfo =
        "25 30 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
        "27 25 0:25 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "29 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "30 25 0:28 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
        "31 25 0:29 / /mnt/with\\040space rw - cgroup cgroup rw,pids\n"
        "garbage line\n";
    auto m = parseCgroupMounts(mountinfo);
    EXPECT_EQ(m.v2MountPoint, "/sys/fs/cgroup/unified");
    ASSERT_EQ(m.v1.size(), 3u); // systemd's named tree and cpuset are not ours
    EXPECT_EQ(m.v1[0].mountPoint, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(m.v1[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
    EXPECT_EQ(m.v1[1].mountPoint, "/sys/fs/cgroup/memory");
    EXPECT_EQ(m.v1[2].mountPoint, "/mnt/with space");

    auto pure = parseCgroupMounts("35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    EXPECT_TRUE(pure.v1.empty());
    EXPECT_EQ(pure.v2MountPoint, "/sys/fs/cgroup");
}

TEST(Cgroups, V1LimitsAreWrittenToTheirControllersFiles_FakeTree) {
    FakeTree t;
    for (auto c : {"cpu,cpuacct", "memory", "pids", "freezer"})
        fs::create_directories(t.root / c);
    Cgroups cg(CgroupVersion::V1, {{(t.root / "cpu,cpuacct").string(), {"cpu", "cpuacct"}},
                                   {(t.root / "memory").string(), {"memory"}},
                                   {(t.root / "pids").string(), {"pids"}},
                                   {(t.root / "freezer").string(), {"freezer"}}});
    auto set = cg.create("day2/nested", "c1", {1.5, 64ull << 20, 11});
    ASSERT_TRUE(set) << set.error().message;
    ASSERT_EQ(set->dirs.size(), 4u);
    const fs::path cpu = t.root / "cpu,cpuacct/day2/nested/c1";
    EXPECT_EQ(set->dirFor("cpu"), cpu.string());
    EXPECT_EQ(set->dirFor("cpuacct"), cpu.string());
    EXPECT_EQ(read(cpu / "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(read(cpu / "cpu.cfs_quota_us"), "150000");
    EXPECT_EQ(read(cpu / "cpu.shares"), "1536");
    EXPECT_EQ(read(t.root / "memory/day2/nested/c1/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(read(t.root / "pids/day2/nested/c1/pids.max"), "11");
}

TEST(Cgroups, V2LimitsAndControllerDelegation_FakeTree) {
    FakeTree t;
    Cgroups cg(CgroupVersion::V2, {{t.root.string(), {"cpu", "memory", "pids", "io"}}});
    auto set = cg.create("day2", "c2", {0.5, 32ull << 20, 5});
    ASSERT_TRUE(set) << set.error().message;
    const fs::path dir = t.root / "day2/c2";
    EXPECT_EQ(set->dirs, std::vector<std::string>{dir.string()});
    EXPECT_EQ(read(t.root / "cgroup.subtree_control"), "+cpu +memory +pids +io");
    EXPECT_EQ(read(t.root / "day2/cgroup.subtree_control"), "+cpu +memory +pids +io");
    EXPECT_EQ(read(dir / "cpu.max"), "50000 100000");
    EXPECT_EQ(read(dir / "cpu.weight"), "50");
    EXPECT_EQ(read(dir / "memory.max"), "33554432");
    EXPECT_EQ(read(dir / "pids.max"), "5");
}

TEST(Cgroups, LimitsWithoutTheirControllerAreRefusedBeforeAnythingIsCreated_FakeTree) {
    FakeTree t;
    Cgroups cg(CgroupVersion::V2, {{t.root.string(), {"hugetlb"}}});
    auto set = cg.create("day2", "c3", {0, 64ull << 20, 0});
    ASSERT_FALSE(set);
    EXPECT_EQ(set.error().status, 422u);
    EXPECT_NE(set.error().message.find("resources.mem_mb needs the memory controller"),
              std::string::npos)
        << set.error().message;
    EXPECT_FALSE(fs::exists(t.root / "day2"));
    EXPECT_TRUE(cg.checkLimits({}));
}

TEST(Cgroups, AFailedCreateLeavesNothingBehind_FakeTree) {
    FakeTree t;
    fs::create_directories(t.root / "memory/day2/taken"); // already exists: not ours to remove
    fs::create_directories(t.root / "pids");
    Cgroups cg(CgroupVersion::V1, {{(t.root / "pids").string(), {"pids"}},
                                   {(t.root / "memory").string(), {"memory"}}});
    auto set = cg.create("day2", "taken", {});
    ASSERT_FALSE(set);
    EXPECT_FALSE(fs::exists(t.root / "pids/day2/taken"));
    EXPECT_TRUE(fs::exists(t.root / "memory/day2/taken"));
}
