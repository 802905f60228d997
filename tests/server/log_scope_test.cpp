// Log scopes (server/tasks/log_scope.h): names, the log-extra-fields format journald reads, and
// creation and removal in a scratch directory standing in for the cgroup tree.
#include "tasks/log_scope.h"
#include "tasks/task_log_forwarder.h"
#include "tasks/task_spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace day2::tasks;
namespace fs = std::filesystem;

TEST(LogScope, SliceNamesFollowTheCgroupParent) {
    EXPECT_EQ(logSliceFor("day2"), "day2.slice");
    EXPECT_EQ(logSliceFor("day2/node1"), "day2-node1.slice");
    EXPECT_EQ(logSliceFor("a b.c"), "day2-a_b_c.slice");
    // Never one of systemd's own slices.
    EXPECT_EQ(logSliceFor("system"), "day2-system.slice");
    EXPECT_EQ(logSliceFor("day2-test-1"), "day2-test-1.slice");
    EXPECT_EQ(logSliceFor(""), "day2.slice");
}

TEST(LogScope, ScopesAreNamedPerContainerAndStream) {
    const auto s = logScopesFor("/sys/fs/cgroup/unified", "/run/systemd/units", "day2.slice",
                                "0f1e2d3c-0000-4000-8000-000000000001");
    EXPECT_EQ(s.streams[0].unit, "day2-0f1e2d3c-0000-4000-8000-000000000001-stdout.scope");
    EXPECT_EQ(s.streams[1].cgroupDir, "/sys/fs/cgroup/unified/day2.slice/"
                                      "day2-0f1e2d3c-0000-4000-8000-000000000001-stderr.scope");
    EXPECT_EQ(s.streams[1].fieldsFile, "/run/systemd/units/log-extra-fields:"
                                       "day2-0f1e2d3c-0000-4000-8000-000000000001-stderr.scope");
    EXPECT_FALSE(s.empty());
    EXPECT_TRUE(LogScopes{}.empty());
}

TEST(LogScope, ExtraFieldsAreLengthPrefixedLittleEndian) {
    const std::string e = encodeExtraFields({{"A", "b"}, {"NAME", std::string(300, 'x')}});
    const std::string first = std::string("\x03\0\0\0\0\0\0\0", 8) + "A=b";
    ASSERT_EQ(e.substr(0, 11), first);
    // 305 = 0x131
    EXPECT_EQ(e.substr(11, 8), std::string("\x31\x01\0\0\0\0\0\0", 8));
    EXPECT_EQ(e.substr(19), "NAME=" + std::string(300, 'x'));
    EXPECT_EQ(encodeExtraFields({}), "");
}

TEST(LogScope, TheScopeFieldsAreTheIdentityAndTheStream) {
    const TaskIdentity id{"agent-1", "fw-1", "marathon", "ex-1", "cid-1", "web"};
    const FieldList want = {{"STREAM", "STDERR"},       {"AGENT_ID", "agent-1"},
                            {"FRAMEWORK_ID", "fw-1"},   {"FRAMEWORK_NAME", "marathon"},
                            {"EXECUTOR_ID", "ex-1"},    {"CONTAINER_ID", "cid-1"},
                            {"APPLICATION_NAME", "web"}};
    EXPECT_EQ(scopeFields(id, Stream::Stderr), want);
    // Empty members are left out, not sent as empty fields.
    const auto noApp = scopeFields({"agent-1", "fw-1", "m", "ex-1", "cid-1", ""}, Stream::Stdout);
    EXPECT_EQ(noApp.size(), 6u);
    EXPECT_EQ(noApp.front(), (std::pair<std::string, std::string>{"STREAM", "STDOUT"}));
}

TEST(LogScope, TheStreamSocketIsBesideTheNativeOne) {
    EXPECT_EQ(TaskLogForwarder::streamSocketFor("/run/systemd/journal.ns/socket"),
              "/run/systemd/journal.ns/stdout");
    EXPECT_EQ(TaskLogForwarder::streamSocketFor("/run/systemd/journal/socket"),
              "/run/systemd/journal/stdout");
}

// A scratch directory is not a cgroup tree, but creating and removing the scopes' directories
// and files works the same on it (cgroup.procs is absent, so nothing is killed).
TEST(LogScope, CreateWritesTheFieldsFilesAndRemoveTakesEverythingAway) {
    const fs::path dir =
        fs::temp_directory_path() / ("day2-log-scope-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "tree");
    const std::string tree = (dir / "tree").string(), units = (dir / "units").string();
    // checkLogScopes wants a writable cgroup.procs in the tree, as a real one has.
    std::ofstream(dir / "tree" / "cgroup.procs").put('\n');
    auto made = createLogScopes(tree, units, "t.slice", "cid-9",
                                {FieldList{{"STREAM", "STDOUT"}}, FieldList{{"STREAM", "STDERR"}}});
    ASSERT_TRUE(made) << made.error().message;
    for (size_t s = 0; s < 2; ++s) {
        EXPECT_TRUE(fs::is_directory(made->streams[s].cgroupDir));
        std::ifstream in(made->streams[s].fieldsFile, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_EQ(text.str(), encodeExtraFields({{"STREAM", s ? "STDERR" : "STDOUT"}}));
    }
    // A second container of the same id cannot be made over the first, and its failure
    // removes nothing of the first.
    EXPECT_FALSE(createLogScopes(tree, units, "t.slice", "cid-9", {}));
    EXPECT_TRUE(fs::exists(made->streams[0].fieldsFile));
    EXPECT_TRUE(fs::exists(made->streams[0].cgroupDir));
    // A stale fields file (a crash after it was written) is not overwritten either, and the
    // cgroups made before the refusal are undone.
    std::ofstream(units + "/log-extra-fields:day2-cid-10-stdout.scope").put('x');
    auto refused = createLogScopes(tree, units, "t.slice", "cid-10", {});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("exists already"), std::string::npos);
    EXPECT_FALSE(fs::exists(tree + "/t.slice/day2-cid-10-stdout.scope"));

    ASSERT_TRUE(removeLogScopes(*made));
    EXPECT_FALSE(fs::exists(made->streams[0].cgroupDir));
    EXPECT_FALSE(fs::exists(made->streams[1].fieldsFile));
    EXPECT_TRUE(removeLogScopes(*made)) << "removing twice is not an error";
    fs::remove_all(dir);
}

TEST(LogScope, JournaldsTreeIsFoundOrTheErrorSaysWhy) {
    auto tree = journaldCgroupTree();
    if (tree) {
        EXPECT_TRUE(fs::exists(*tree + "/cgroup.procs")) << *tree;
    } else {
        EXPECT_NE(tree.error().message.find("no cgroup tree"), std::string::npos);
    }
    auto none = journaldCgroupTree(fs::temp_directory_path().string());
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("no cgroup tree"), std::string::npos);
}
