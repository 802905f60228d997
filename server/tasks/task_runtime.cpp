#include "tasks/task_runtime.h"

#include "base/log.h"
#include "tasks/task_log_forwarder.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <map>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace day2::tasks {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSpecFile = "container.json";
constexpr const char* kStatusFile = "status.json";
constexpr const char* kSupervisorLog = "supervisor.log";
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

int pidfdOpen(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfdSignal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

struct UserInfo {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
    std::string home;
    std::string name;
};

Result<UserInfo> resolveUser(const std::string& name) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    int rc;
    if (name.empty())
        rc = ::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found);
    else
        rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (!found) {
        if (name.empty())
            return UserInfo{::geteuid(), ::getegid(), {}, "/", ""};
        return Error{"no user '" + name + "' on this node" +
                         (rc ? std::string(" (") + std::strerror(rc) + ")" : ""),
                     400};
    }
    UserInfo u{pw.pw_uid, pw.pw_gid, {}, pw.pw_dir ? pw.pw_dir : "/", pw.pw_name};
    if (!name.empty()) {
        int n = 64;
        std::vector<gid_t> groups(static_cast<size_t>(n));
        if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
            groups.resize(static_cast<size_t>(n));
            ::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
        }
        groups.resize(static_cast<size_t>(std::max(n, 0)));
        u.groups = std::move(groups);
    }
    return u;
}

// `name` resolved, when this node lets tasks (or exec sessions: `what`) run as it: the default
// user or one of tasks.allowed_users ("*": any). 400 no such user, 403 not allowed.
Result<UserInfo> allowedUser(const RuntimeOptions& options, const std::string& name,
                             std::string_view what) {
    auto user = resolveUser(name);
    if (!user)
        return user.error();
    const auto& allowed = options.allowedUsers;
    if (name != options.defaultUser &&
        std::find(allowed.begin(), allowed.end(), "*") == allowed.end() &&
        std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed)
            list += (list.empty() ? "" : ", ") + a;
        return Error{std::string(what) + " may not run as '" + name +
                         "' on this node (tasks.allowed_users: " + (list.empty() ? "none" : list) +
                         ")",
                     403};
    }
    return user;
}

// Forks twice so the supervisor is nobody's child here (no zombie for the agent to reap) and
// in its own session; it keeps running when the agent stops. Returns the supervisor's pid.
Result<pid_t> spawnSupervisor(const std::vector<std::string>& args, const std::string& logFile,
                              int readyFd) {
    std::vector<std::string> store = args;
    std::vector<char*> argv;
    for (auto& a : store)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int pidPipe[2];
    if (::pipe2(pidPipe, O_CLOEXEC) != 0)
        return Error{std::string("pipe: ") + std::strerror(errno)};
    const pid_t middle = ::fork();
    if (middle < 0) {
        const int e = errno;
        ::close(pidPipe[0]);
        ::close(pidPipe[1]);
        return Error{std::string("fork: ") + std::strerror(e)};
    }
    if (middle == 0) {
        // Only async-signal-safe calls until exec: the agent may have other threads.
        ::setsid();
        const pid_t child = ::fork();
        if (child == 0) {
            if (readyFd == 3)
                ::fcntl(3, F_SETFD, 0);
            else if (::dup2(readyFd, 3) < 0)
                ::_exit(127);
            int nul = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            int log = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
            if (nul < 0 || log < 0)
                ::_exit(127);
            ::dup2(nul, STDIN_FILENO);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            ::syscall(SYS_close_range, 4u, UINT_MAX, 0u);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            ::sigaction(SIGPIPE, &dfl, nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        (void)!::write(pidPipe[1], &child, sizeof child);
        ::_exit(child > 0 ? 0 : 1);
    }
    ::close(pidPipe[1]);
    int status = 0;
    while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
    pid_t supervisor = -1;
    ssize_t n;
    while ((n = ::read(pidPipe[0], &supervisor, sizeof supervisor)) < 0 && errno == EINTR) {
    }
    ::close(pidPipe[0]);
    if (n != sizeof supervisor || supervisor <= 0)
        return Error{"cannot start the supervisor (fork failed)"};
    return supervisor;
}

void removeTree(const std::string& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec)
        log::warning("cannot remove ", dir, ": ", ec.message());
}

// Kills what is left in a container's cgroups, removes them and its log scopes. Blocks: run
// on the reaper thread.
asio::awaitable<Result<void>> reapCgroups(CgroupSet set, LogScopes scopes, std::string id) {
    if (auto r = cgroupRemove(set); !r)
        co_return Error{r.error().message, 500};
    if (auto r = removeLogScopes(scopes); !r)
        log::warning(id, ": ", r.error().message);
    co_return Result<void>{};
}

} // namespace

struct Container {
    ContainerSpec spec;
    ContainerStatus status;
    std::string dir;
    bool stopping = false;
    bool removing = false; // its cgroups are being killed and removed (on the reaper)
    int pidfd = -1;
    std::unique_ptr<asio::posix::stream_descriptor> watch;
};

struct TaskRuntime::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io_, RuntimeOptions o)
        : io(io_), options(std::move(o)), gcTimer(io_), host(HostCapacity::probe()) {}

    asio::io_context& io;
    RuntimeOptions options;
    std::optional<Cgroups> cgroups;
    std::map<std::string, std::shared_ptr<Container>, std::less<>> containers;
    asio::steady_timer gcTimer;
    // Killing a cgroup's processes and removing it waits (for seconds, if a process will not
    // die): that happens on this thread, never on the io thread that serves every client.
    std::unique_ptr<asio::thread_pool> reaper = std::make_unique<asio::thread_pool>(1);
    HostCapacity host;
    LaunchHooks hooks;
    std::string logTree;  // journald's cgroup tree; empty: the native transport
    std::string logSlice; // below logTree
    std::string logTransportNote;
    unsigned launching = 0;
    bool stopped = false;

    std::string statusPath(const Container& c) const { return c.dir + "/" + kStatusFile; }

    void watchSupervisor(const std::shared_ptr<Container>& c) {
        if (c->pidfd < 0) {
            c->pidfd = pidfdOpen(c->status.supervisorPid);
            if (c->pidfd < 0) {
                supervisorGone(c);
                return;
            }
        }
        c->watch = std::make_unique<asio::posix::stream_descriptor>(io, c->pidfd);
        std::weak_ptr<Impl> weak = shared_from_this();
        c->watch->async_wait(asio::posix::stream_descriptor::wait_read,
                             [weak, c](const boost::system::error_code& ec) {
                                 auto self = weak.lock();
                                 if (!ec && self && !self->stopped)
                                     self->supervisorGone(c);
                             });
    }

    void closeWatch(Container& c) {
        if (c.watch) {
            boost::system::error_code ec;
            c.watch->cancel(ec);
            c.watch->close(ec); // closes the pidfd too
            c.watch.reset();
            c.pidfd = -1;
        } else if (c.pidfd >= 0) {
            ::close(c.pidfd);
            c.pidfd = -1;
        }
    }

    // The supervisor exited: its last status is the container's. Without one, the supervisor
    // died (kill -9, crash): the container is failed and whatever is left of it is killed.
    void supervisorGone(const std::shared_ptr<Container>& c) {
        closeWatch(*c);
        if (auto text = readWholeFile(statusPath(*c)))
            if (auto st = containerStatusFromJson(*text); st && st->finished())
                c->status = *st;
        if (!c->status.finished()) {
            // Whatever is left of it is killed on the reaper (a process that will not die must
            // not hold the io thread).
            asio::post(*reaper, [set = c->spec.cgroup, id = c->spec.containerId] {
                if (!cgroupKillAll(set))
                    log::warning("processes of container ", id, " survived SIGKILL for 5 s");
            });
            c->status.state = ContainerState::Failed;
            c->status.reason = "supervisor exited unexpectedly";
            c->status.endedAtUsec = nowMicros();
            c->status.pid = 0;
            c->status.oomKills = cgroupOomKills(c->spec.cgroup);
            if (auto r = writeFileAtomically(statusPath(*c), toJson(c->status)); !r)
                log::warning(r.error().message);
        }
        log::info("container ", c->spec.containerId, " (", c->spec.request.applicationName, ") ",
                  toString(c->status.state),
                  c->status.reason.empty() ? "" : ": " + c->status.reason);
        if (hooks.afterEnd)
            hooks.afterEnd(c->spec);
    }

    // Kills and removes its cgroups and log scopes on the reaper, then forgets it. While that
    // runs the container is listed as it was and a second removal is refused (409).
    asio::awaitable<Result<void>> removeContainer(std::string id) {
        auto it = containers.find(id);
        if (it == containers.end())
            co_return Result<void>{};
        auto c = it->second;
        if (c->removing)
            co_return Error{"container " + id + " is being removed", 409};
        c->removing = true;
        closeWatch(*c);
        // (Named first: GCC 12 destroys a lambda's captures twice when the lambda is a
        // temporary inside a co_await expression.)
        auto work = reapCgroups(c->spec.cgroup, c->spec.logScopes, id);
        auto removed = co_await asio::co_spawn(*reaper, std::move(work), asio::use_awaitable);
        c->removing = false;
        if (!removed)
            co_return removed.error();
        removeTree(c->dir);
        containers.erase(id);
        if (hooks.removed)
            hooks.removed(id);
        co_return Result<void>{};
    }

    void scheduleGc() {
        const unsigned keep = options.keepFinishedSeconds;
        const unsigned every = std::clamp(keep / 2, 1u, 60u);
        gcTimer.expires_after(std::chrono::seconds(every));
        std::weak_ptr<Impl> weak = shared_from_this();
        gcTimer.async_wait([weak](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped)
                return;
            self->collectGarbage();
            self->scheduleGc();
        });
    }

    void collectGarbage() {
        const uint64_t now = nowMicros();
        const uint64_t keep = uint64_t{options.keepFinishedSeconds} * 1000000u;
        std::vector<std::string> expired;
        for (const auto& [id, c] : containers)
            if (c->status.finished() && c->status.endedAtUsec + keep <= now)
                expired.push_back(id);
        for (const auto& id : expired)
            asio::co_spawn(
                io,
                [self = shared_from_this(), id]() -> asio::awaitable<void> {
                    auto r = co_await self->removeContainer(id);
                    if (!r)
                        log::warning("garbage collection of ", id, ": ", r.error().message);
                    else
                        log::debug("garbage-collected finished container ", id);
                },
                asio::detached);
    }

    void adopt(const std::string& id) {
        const std::string dir = options.stateDir + "/" + id;
        // Written by a newer agent (this one was downgraded): not this agent's to judge, run or
        // remove.
        for (const char* file : {kSpecFile, kStatusFile}) {
            const auto text = readWholeFile(dir + "/" + file);
            const auto format = text ? stateFormatOf(*text) : std::nullopt;
            if (format && *format > kStateFormat) {
                log::error("container ", id, " left as it is, not adopted: its ", file,
                           " is of state format ", *format,
                           ", written by a newer day2-agent (this one reads format ", kStateFormat,
                           "); the newer agent will adopt it again");
                return;
            }
        }
        auto specText = readWholeFile(dir + "/" + kSpecFile);
        auto spec = specText ? containerSpecFromJson(*specText)
                             : Result<ContainerSpec>(Error{"no " + std::string(kSpecFile)});
        if (!spec) {
            // Half-created by an agent that died while launching: nothing to keep.
            log::warning("removing incomplete container ", id, ": ", spec.error().message);
            if (cgroups)
                (void)cgroupRemove(cgroups->setFor(options.cgroupParent, id));
            if (!logTree.empty())
                (void)removeLogScopes(
                    logScopesFor(logTree, options.journaldUnitsDir, logSlice, id));
            removeTree(dir);
            return;
        }
        auto c = std::make_shared<Container>();
        c->spec = std::move(*spec);
        c->dir = dir;
        auto statusText = readWholeFile(dir + "/" + kStatusFile);
        auto status = statusText ? containerStatusFromJson(*statusText)
                                 : Result<ContainerStatus>(Error{"no status"});
        if (status)
            c->status = *status;
        containers.emplace(id, c);
        if (hooks.adopted)
            hooks.adopted(c->spec, status && status->finished());
        if (status && status->finished())
            return;
        const pid_t pid = status ? status->supervisorPid : 0;
        if (pid > 0 && processStartTicks(pid) == status->supervisorStartTicks) {
            c->pidfd = pidfdOpen(pid);
            // The pid could have been reused between the two looks: look again.
            if (c->pidfd >= 0 && processStartTicks(pid) == status->supervisorStartTicks) {
                log::info("re-adopted running container ", id, " (",
                          c->spec.request.applicationName, ", supervisor pid ", pid, ")");
                watchSupervisor(c);
                return;
            }
        }
        if (!status) {
            c->status.startedAtUsec = c->spec.createdAtUsec;
        }
        supervisorGone(c);
    }

    Result<void> chooseLogTransport() {
        const std::string& mode = options.logTransport;
        if (mode != "auto" && mode != "stream" && mode != "native")
            return Error{"tasks.log_transport must be auto, stream or native (got '" + mode + "')"};
        if (mode == "native") {
            logTransportNote = "native datagrams (tasks.log_transport = \"native\")";
            return {};
        }
        logSlice = logSliceFor(options.cgroupParent);
        auto tree = journaldCgroupTree(options.cgroupRoot);
        Result<void> usable =
            tree ? checkLogScopes(*tree, options.journaldUnitsDir) : Result<void>(tree.error());
        if (usable)
            usable = checkJournaldSeesOurCgroups(
                TaskLogForwarder::streamSocketFor(options.journalSocket));
        if (!usable) {
            if (mode == "stream")
                return Error{"tasks.log_transport = \"stream\" needs log scopes: " +
                             usable.error().message};
            logTransportNote = "native datagrams (no log scopes: " + usable.error().message + ")";
            return {};
        }
        logTree = *tree;
        logTransportNote =
            "journald stdout streams, fields from log scopes in " + logTree + "/" + logSlice;
        return {};
    }

    Result<ContainerSpec> buildSpec(const std::string& id, TaskRequest request) {
        auto user = resolveUser(request.user);
        if (!user)
            return user.error();
        ContainerSpec s;
        s.containerId = id;
        s.agentId = options.agentId;
        s.request = std::move(request);
        if (!s.request.command.empty())
            s.argv = s.request.command;
        else
            s.argv = {"/bin/sh", "-c", s.request.shell};
        s.uid = user->uid;
        s.gid = user->gid;
        s.groups = user->groups;
        s.hostname = options.hostname.empty() ? id.substr(0, 12) : options.hostname;
        s.workdir = options.stateDir + "/" + id + "/sandbox";
        s.killGraceSeconds = options.killGraceSeconds;
        s.journalSocket = options.journalSocket;
        s.createdAtUsec = nowMicros();
        return s;
    }

    void buildEnvironment(ContainerSpec& s, const std::string& home, const std::string& userName) {
        StringPairs env = {{"PATH", kDefaultPath}, {"HOSTNAME", s.hostname}, {"HOME", home}};
        if (!userName.empty()) {
            env.emplace_back("USER", userName);
            env.emplace_back("LOGNAME", userName);
        }
        for (const auto& [k, v] : s.request.env) {
            auto it = std::find_if(env.begin(), env.end(), [&](auto& p) { return p.first == k; });
            if (it != env.end())
                it->second = v;
            else
                env.emplace_back(k, v);
        }
        env.emplace_back("DAY2_AGENT_ID", s.agentId);
        env.emplace_back("DAY2_CONTAINER_ID", s.containerId);
        env.emplace_back("DAY2_FRAMEWORK_ID", s.request.frameworkId);
        env.emplace_back("DAY2_EXECUTOR_ID", s.executorId());
        env.emplace_back("DAY2_SANDBOX", s.workdir);
        if (!s.statsdHost.empty()) {
            env.emplace_back("STATSD_UDP_HOST", s.statsdHost);
            env.emplace_back("STATSD_UDP_PORT", std::to_string(s.statsdPort));
        }
        s.env.clear();
        for (const auto& [k, v] : env)
            s.env.push_back(k + "=" + v);
    }
};

TaskRuntime::TaskRuntime(asio::io_context& io, RuntimeOptions options)
    : m_impl(std::make_shared<Impl>(io, std::move(options))) {}

TaskRuntime::~TaskRuntime() {
    stop();
}

void TaskRuntime::setHooks(LaunchHooks hooks) {
    m_impl->hooks = std::move(hooks);
}

const HostCapacity& TaskRuntime::capacity() const {
    return m_impl->host;
}

Result<void> TaskRuntime::start() {
    auto& d = *m_impl;
    if (d.options.supervisorPath.empty() || ::access(d.options.supervisorPath.c_str(), X_OK) != 0)
        return Error{"the task supervisor '" + d.options.supervisorPath +
                     "' is not an executable file (set tasks.supervisor in agent.toml)"};
    auto cg = Cgroups::detect(d.options.cgroupMode, d.options.mountinfo);
    if (!cg)
        return Error{"tasks: " + cg.error().message};
    d.cgroups = std::move(*cg);
    if (auto r = d.chooseLogTransport(); !r)
        return r;
    std::error_code ec;
    fs::create_directories(d.options.stateDir, ec);
    if (ec)
        return Error{"cannot create " + d.options.stateDir + ": " + ec.message()};
    // Traversable, not listable: a task's user reaches its own sandbox below.
    ::chmod(d.options.stateDir.c_str(), 0711);
    std::vector<std::string> ids;
    for (const auto& entry : fs::directory_iterator(d.options.stateDir, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_directory() && isValidContainerId(name))
            ids.push_back(name);
    }
    for (const auto& id : ids)
        d.adopt(id);
    d.collectGarbage();
    d.scheduleGc();
    return {};
}

void TaskRuntime::stop() {
    auto& d = *m_impl;
    if (d.stopped)
        return;
    d.stopped = true;
    d.gcTimer.cancel();
    for (auto& [id, c] : d.containers)
        d.closeWatch(*c);
    d.reaper->join(); // what it was doing is done (at most a few seconds)
}

std::string TaskRuntime::describeLogTransport() const {
    return m_impl->logTransportNote;
}

std::string TaskRuntime::describeCgroups() const {
    return m_impl->cgroups ? m_impl->cgroups->describe() : "cgroups not detected";
}

size_t TaskRuntime::containerCount() const {
    return m_impl->containers.size();
}

asio::awaitable<Result<std::string>> TaskRuntime::launch(TaskRequest request) {
    auto self = m_impl; // the coroutine keeps the runtime's state alive
    auto& d = *self;
    if (d.stopped || !d.cgroups)
        co_return Error{"the task runtime is not running", 503};
    if (d.containers.size() + d.launching >= d.options.maxContainers)
        co_return Error{"this node holds " + std::to_string(d.containers.size()) +
                            " containers, the most it takes (tasks.max_containers); delete "
                            "finished ones or wait for their garbage collection",
                        503};
    CgroupLimits limits{request.cpus, request.memMb * 1024 * 1024,
                        request.pids ? request.pids + 1 : 0};
    if (auto r = d.cgroups->checkLimits(limits); !r)
        co_return r.error();
    // Tasks run unprivileged unless this node allows otherwise: a grant to create tasks must
    // not be a grant to be root on the node.
    if (request.user.empty())
        request.user = d.options.defaultUser;
    auto user = allowedUser(d.options, request.user, "tasks");
    if (!user)
        co_return user.error();
    const std::string id = newContainerId();
    auto spec = d.buildSpec(id, std::move(request));
    if (!spec)
        co_return spec.error();
    if (d.hooks.beforeStart)
        if (auto r = d.hooks.beforeStart(*spec); !r)
            co_return Error{r.error().message, r.error().status ? r.error().status : 503};
    d.buildEnvironment(*spec, user->home, user->name);

    ++d.launching;
    struct Done {
        unsigned& n;
        ~Done() { --n; }
    } done{d.launching};

    const std::string dir = d.options.stateDir + "/" + id;
    auto undo = [&](Error e, pid_t supervisor = 0) -> Result<std::string> {
        if (supervisor > 0)
            ::kill(supervisor, SIGKILL);
        // What it made goes on the reaper: killing what the supervisor left may take seconds.
        asio::post(*d.reaper, [set = spec->cgroup, scopes = spec->logScopes, dir] {
            if (!set.dirs.empty())
                (void)cgroupRemove(set);
            (void)removeLogScopes(scopes);
            removeTree(dir);
        });
        if (!e.status)
            e.status = 500;
        if (d.hooks.removed)
            d.hooks.removed(id);
        log::warning("launch of ", spec->request.applicationName, " failed: ", e.message);
        return e;
    };
    if (::mkdir(dir.c_str(), 0711) != 0)
        co_return undo(Error{"cannot create " + dir + ": " + std::strerror(errno)});
    if (::mkdir(spec->workdir.c_str(), 0750) != 0 ||
        ::chown(spec->workdir.c_str(), spec->uid, spec->gid) != 0)
        co_return undo(Error{"cannot create " + spec->workdir + ": " + std::strerror(errno)});
    auto cg = d.cgroups->create(d.options.cgroupParent, id, limits);
    if (!cg)
        co_return undo(cg.error());
    spec->cgroup = *cg;
    if (!d.logTree.empty()) {
        auto scopes = createLogScopes(d.logTree, d.options.journaldUnitsDir, d.logSlice, id,
                                      scopeFields(taskIdentity(*spec)));
        if (!scopes)
            co_return undo(scopes.error());
        spec->logScopes = *scopes;
    }
    // 0600: the environment may hold secrets.
    if (auto r = writeFileAtomically(dir + "/" + kSpecFile, toJson(*spec), 0600); !r)
        co_return undo(r.error());

    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
        co_return undo(Error{std::string("pipe: ") + std::strerror(errno)});
    auto supervisor = spawnSupervisor({d.options.supervisorPath, "--spec", dir + "/" + kSpecFile,
                                       "--status-file", dir + "/" + kStatusFile, "--ready-fd", "3"},
                                      dir + "/" + kSupervisorLog, ready[1]);
    ::close(ready[1]);
    if (!supervisor) {
        ::close(ready[0]);
        co_return undo(supervisor.error());
    }
    // Wait, without blocking the agent, for "running" or "failed to start".
    {
        // Shared with the timer's handler, which may already be queued when the read completes
        // and so run after this block: it must find live objects and see that it is too late.
        struct Wait {
            Wait(asio::io_context& io, int fd) : pipe(io, fd), timer(io) {}
            asio::posix::stream_descriptor pipe;
            asio::steady_timer timer;
            bool done = false;
            bool timedOut = false;
        };
        auto wait = std::make_shared<Wait>(d.io, ready[0]);
        wait->timer.expires_after(std::chrono::seconds(d.options.startTimeoutSeconds));
        wait->timer.async_wait([wait](const boost::system::error_code& ec) {
            if (!ec && !wait->done) {
                wait->timedOut = true;
                boost::system::error_code ignored;
                wait->pipe.cancel(ignored);
            }
        });
        char byte = 0;
        boost::system::error_code ec;
        co_await wait->pipe.async_read_some(asio::buffer(&byte, 1),
                                            asio::redirect_error(asio::use_awaitable, ec));
        wait->done = true;
        wait->timer.cancel();
        const bool timedOut = wait->timedOut;
        {
            boost::system::error_code ignored;
            wait->pipe.close(ignored);
        }
        if (timedOut)
            co_return undo(Error{"the supervisor did not start the task within " +
                                 std::to_string(d.options.startTimeoutSeconds) + " s (see " + dir +
                                 "/" + kSupervisorLog + ")"},
                           *supervisor);
    }
    auto statusText = readWholeFile(dir + "/" + kStatusFile);
    auto status = statusText ? containerStatusFromJson(*statusText)
                             : Result<ContainerStatus>(Error{"no status file"});
    if (!status) {
        std::string why;
        if (auto logText = readWholeFile(dir + "/" + kSupervisorLog))
            why = logText->substr(0, 500);
        co_return undo(Error{"the supervisor failed before the task started" +
                             (why.empty() ? std::string() : ": " + why)},
                       *supervisor);
    }
    auto c = std::make_shared<Container>();
    c->spec = std::move(*spec);
    c->status = *status;
    c->dir = dir;
    d.containers.emplace(id, c);
    log::info("container ", id, " (", c->spec.request.applicationName, ") ",
              c->status.finished()
                  ? std::string(toString(c->status.state)) + ": " + c->status.reason
                  : "running, pid " + std::to_string(c->status.pid));
    if (!c->status.finished()) {
        c->status.supervisorPid = c->status.supervisorPid ? c->status.supervisorPid : *supervisor;
        d.watchSupervisor(c);
    } else if (d.hooks.afterEnd) {
        d.hooks.afterEnd(c->spec);
    }
    co_return tasks::containerJson(c->spec, c->status, c->stopping);
}

std::optional<std::string> TaskRuntime::applicationName(std::string_view containerId) const {
    auto it = m_impl->containers.find(containerId);
    if (it == m_impl->containers.end())
        return std::nullopt;
    return it->second->spec.request.applicationName;
}

Result<ExecContext> TaskRuntime::execContext(std::string_view containerId,
                                             const std::optional<std::string>& user) const {
    auto it = m_impl->containers.find(containerId);
    if (it == m_impl->containers.end())
        return Error{"no container '" + std::string(containerId.substr(0, 64)) + "' on this node",
                     404};
    const Container& c = *it->second;
    if (c.status.finished() || c.status.pid <= 0)
        return Error{"container '" + c.spec.containerId + "' is not running (" +
                         std::string(toString(c.status.state)) + ")",
                     409};
    ExecContext out{c.spec, c.status, c.spec.uid, c.spec.gid, c.spec.groups};
    if (user) {
        auto u = allowedUser(m_impl->options, *user, "exec sessions");
        if (!u)
            return u.error();
        out.uid = u->uid;
        out.gid = u->gid;
        out.groups = u->groups;
    }
    return out;
}

void TaskRuntime::forEachContainer(
    const std::function<void(const ContainerSpec&, const ContainerStatus&)>& f) const {
    for (const auto& [id, c] : m_impl->containers)
        f(c->spec, c->status);
}

std::string TaskRuntime::listJson(const std::function<bool(const std::string&)>& visible) const {
    std::vector<std::shared_ptr<Container>> list;
    for (const auto& [id, c] : m_impl->containers)
        if (!visible || visible(c->spec.request.applicationName))
            list.push_back(c);
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
        return a->spec.createdAtUsec < b->spec.createdAtUsec;
    });
    std::string out = "{\"containers\":[";
    for (size_t i = 0; i < list.size(); ++i) {
        if (i)
            out += ",";
        out += tasks::containerJson(list[i]->spec, list[i]->status, list[i]->stopping);
    }
    out += "]}\n";
    return out;
}

Result<std::string> TaskRuntime::containerJson(std::string_view containerId) const {
    auto it = m_impl->containers.find(containerId);
    if (it == m_impl->containers.end())
        return Error{"no container " + std::string(containerId.substr(0, 64)) + " on this node",
                     404};
    return tasks::containerJson(it->second->spec, it->second->status, it->second->stopping) + "\n";
}

asio::awaitable<Result<std::pair<unsigned, std::string>>>
TaskRuntime::remove(std::string containerId) {
    auto impl = m_impl; // alive across the wait
    auto& d = *impl;
    auto it = d.containers.find(containerId);
    if (it == d.containers.end())
        co_return Error{"no container " + containerId.substr(0, 64) + " on this node", 404};
    auto c = it->second;
    if (c->status.finished()) {
        std::string body = tasks::containerJson(c->spec, c->status, false) + "\n";
        auto removed = co_await d.removeContainer(c->spec.containerId);
        if (!removed)
            co_return removed.error();
        log::info("removed finished container ", c->spec.containerId);
        co_return std::make_pair(200u, std::move(body));
    }
    if (!c->stopping) {
        if (c->pidfd < 0 || pidfdSignal(c->pidfd, SIGTERM) != 0) {
            if (errno == ESRCH) {
                // The supervisor has just exited: the container is finishing, not failing.
                d.supervisorGone(c);
                co_return std::make_pair(200u,
                                         tasks::containerJson(c->spec, c->status, false) + "\n");
            }
            co_return Error{"cannot signal the supervisor of " + c->spec.containerId + ": " +
                                std::strerror(errno),
                            500};
        }
        c->stopping = true;
        log::info("stopping container ", c->spec.containerId, " (", c->spec.request.applicationName,
                  "): SIGTERM, SIGKILL after ", c->spec.killGraceSeconds, " s");
    }
    co_return std::make_pair(202u, tasks::containerJson(c->spec, c->status, c->stopping) + "\n");
}

std::optional<std::vector<std::string>>
TaskRuntime::trustedUnits(std::string_view frameworkId, std::string_view executorId,
                          std::string_view containerId) const {
    auto it = m_impl->containers.find(containerId);
    if (it == m_impl->containers.end() || it->second->spec.request.frameworkId != frameworkId ||
        it->second->spec.executorId() != executorId)
        return std::nullopt;
    std::vector<std::string> units;
    for (const auto& scope : it->second->spec.logScopes.streams)
        if (!scope.unit.empty())
            units.push_back(scope.unit);
    return units;
}

} // namespace day2::tasks
