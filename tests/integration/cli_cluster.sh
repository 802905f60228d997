#!/usr/bin/env bash
# The `day2` CLI against a local two-node cluster (packaging/demo/cluster) through Adminrouter:
# agents, task list/run/kill/log (with --follow), task metrics, task exec (-i, -t through a pty, exit codes), node log -o json against the agent's own range
# output, an ambiguous name, the config file, usage errors.
#   cli_cluster.sh BUILD_DIR      (exit 77 = skipped: not root)
set -euo pipefail
build=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "cli cluster: needs root (network namespaces)"; exit 77; }

. "$(dirname "$0")/demo_cluster_env.sh"
demo_cluster_env d2t 79
scratch=$(mktemp -d)
# Gates: a task (run as nobody, seeing the host's /tmp) waits for a file here.
gates=$(mktemp -d /tmp/day2-cli-gates.XXXXXX)
chmod 755 "$gates"
follower=
cleanup() {
    [ -n "$follower" ] && kill "$follower" 2> /dev/null || true
    "$cluster" down > /dev/null 2>&1 || true
    rm -rf "$scratch" "$gates"
}
trap cleanup EXIT
fail() { echo "cli cluster: $*"; exit 1; }
# until SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds; fails after SECONDS.
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done
}
day2() { "$build/app/day2" "$@"; }

demo_cluster_up "$scratch/up.log" --nodes 2 --build "$build" || fail "up failed: $(cat "$scratch/up.log")"
export DAY2_URL=https://127.0.0.1:$DAY2_DEMO_PORT DAY2_CA=$DAY2_DEMO_DIR/ca.pem
export DAY2_TOKEN=$(cat "$DAY2_DEMO_DIR/admin.token")
api() { curl -sS --max-time 10 --cacert "$DAY2_CA" -H "Authorization: Bearer $DAY2_TOKEN" -H "Accept: ${2:-application/json}" "$DAY2_URL$1"; }

# cluster agents: both, answering.
day2 cluster agents > "$scratch/agents" || fail "cluster agents failed"
[ "$(grep -c ' ok ' "$scratch/agents")" = 2 ] || fail "cluster agents: $(cat "$scratch/agents")"
id1=$(api /system/v1/agents | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["agent_id"])')

# task list: the sample tasks of both nodes.
day2 task list > "$scratch/list" || fail "task list failed"
[ "$(grep -c ' web ' "$scratch/list")" = 2 ] || fail "task list: $(cat "$scratch/list")"
# A name two nodes run is ambiguous: exit 1 and the candidates.
if day2 task log web > /dev/null 2> "$scratch/ambiguous"; then fail "task log web was not ambiguous"; fi
grep -q "ambiguous" "$scratch/ambiguous" && [ "$(grep -c ' web ' "$scratch/ambiguous")" = 2 ] ||
    fail "ambiguous: $(cat "$scratch/ambiguous")"

# task metrics: a web container's resource use and its StatsD metrics (the sample sends
# http.requests and http.latency), the same names as its agent's metrics API answers.
read -r web web_agent < <(day2 task list -o json | python3 -c '
import json, sys
c = next(c for c in json.load(sys.stdin) if c["application_name"] == "web")
print(c["container_id"], c["agent_id"])')
has_statsd() { day2 task metrics "${web:0:8}" > "$scratch/metrics" 2>&1 && grep -q "^http.requests" "$scratch/metrics"; }
until_ok 30 has_statsd || fail "task metrics: $(cat "$scratch/metrics")"
day2 task metrics "$web" -o json > "$scratch/metrics.json" || fail "task metrics -o json failed"
api "/system/v1/agent/$web_agent/metrics/v0/containers/$web" > "$scratch/metrics.api"
python3 - "$scratch/metrics.json" "$scratch/metrics.api" << 'PY' || fail "task metrics -o json: $(cat "$scratch/metrics.json")"
import json, sys
mine, api = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
names = lambda m: sorted({p["name"] for p in m["datapoints"]})
assert names(mine["resources"]) == names(api) and names(api), (names(mine["resources"]), names(api))
assert any(n.startswith("http.requests") for n in names(mine["statsd"])), names(mine["statsd"])
PY
rc=0; day2 task metrics "$web" -o xml 2> /dev/null || rc=$?; [ $rc = 2 ] || fail "task metrics -o xml exited $rc"

# task run, then its lines by id prefix, and node log -o json equal to the agent's range.
cid=$(day2 task run --agent "$id1" --app /echo --shell 'for i in 1 2 3; do echo line $i; done; echo oops >&2')
[ ${#cid} = 36 ] || fail "task run printed '$cid'"
# (Answers are read whole before grep looks at them: with pipefail, grep -q leaving early could
# fail the pipe.)
state_of() { api "/system/v1/agent/$id1/tasks/v1/$1" 2> /dev/null || true; }
exited() { [[ $(state_of "$cid") == *'"state":"exited"'* ]]; }
until_ok 30 exited || fail "task $cid did not exit: $(api "/system/v1/agent/$id1/tasks/v1/$cid")"
[ "$(day2 task log "${cid:0:8}" stdout)" = "$(printf 'line 1\nline 2\nline 3')" ] || fail "task log: $(day2 task log "${cid:0:8}")"
[ "$(day2 task log "${cid:0:8}" stderr)" = oops ] || fail "task log stderr"
day2 node log "$id1" -o json -n all --filter "CONTAINER_ID:$cid" > "$scratch/cli.json"
api "/system/v1/agent/$id1/logs/v1/range/?filter=CONTAINER_ID:$cid" > "$scratch/agent.json"
[ -s "$scratch/agent.json" ] && cmp -s "$scratch/cli.json" "$scratch/agent.json" ||
    fail "node log -o json differs from the agent's range output"
# -o short is the agent's text form, to the microsecond.
day2 node log "$id1" -o short -n all --filter "CONTAINER_ID:$cid" > "$scratch/cli.txt"
api "/system/v1/agent/$id1/logs/v1/range/?filter=CONTAINER_ID:$cid" text/plain > "$scratch/agent.txt"
grep -q '/echo\[[0-9]*\]: line 3$' "$scratch/cli.txt" && cmp -s "$scratch/cli.txt" "$scratch/agent.txt" ||
    fail "node log -o short differs from the agent's text: $(diff "$scratch/cli.txt" "$scratch/agent.txt")"
# -f -n all starts at the first line, not at the end: once the last line is there, it is
# stopped and what it printed compared.
# (the binary itself, not the shell function: $! must be its pid, for the kill below)
"$build/app/day2" task log "$cid" stdout -f -n all > "$scratch/all" 2> /dev/null &
follower=$!
until_ok 30 grep -q '^line 3$' "$scratch/all" || true
kill "$follower" 2> /dev/null || true
wait "$follower" 2> /dev/null || true
follower=
[ "$(cat "$scratch/all")" = "$(printf 'line 1\nline 2\nline 3')" ] || fail "task log -f -n all printed: $(cat "$scratch/all")"

# task log --follow -n 0 prints only lines written after it started. The task writes "before"
# (in the journal before the follower starts), then "waiting" every 0.2 s until the gate opens;
# once the follower has printed a "waiting" it follows, and the gate lets the ticks come.
tid=$(day2 task run --agent "$id1" --app /ticker --shell "echo before; while [ ! -e $gates/ticks ]; do echo waiting; sleep 0.2; done; for i in 1 2 3 4 5; do echo tick \$i; sleep 0.3; done; sleep 60")
[ ${#tid} = 36 ] || fail "task run printed '$tid'"
first_line() { [[ $(api "/system/v1/agent/$id1/logs/v1/range/?filter=CONTAINER_ID:$tid&limit=1" text/plain 2> /dev/null || true) == *': before' ]]; }
until_ok 30 first_line || fail "the ticker's first line did not come"
"$build/app/day2" task log /ticker --follow -n 0 > "$scratch/follow" 2> "$scratch/follow.err" &
follower=$!
until_ok 30 grep -q '^waiting$' "$scratch/follow" ||
    fail "task log --follow printed no live line: $(cat "$scratch/follow") / $(cat "$scratch/follow.err")"
touch "$gates/ticks"
until_ok 30 grep -q '^tick 5$' "$scratch/follow" || true
kill "$follower" 2> /dev/null || true
wait "$follower" 2> /dev/null || true
follower=
! grep -q '^before$' "$scratch/follow" && [ "$(grep -v '^waiting$' "$scratch/follow")" = "$(printf 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5')" ] ||
    fail "task log --follow printed: $(cat "$scratch/follow") / $(cat "$scratch/follow.err")"

# task kill by name; then it is no longer running.
day2 task kill /ticker 2> /dev/null || fail "task kill failed"
stopped() { [[ $(state_of "$tid") != *'"state":"running"'* ]]; }
until_ok 30 stopped || fail "task kill did not stop it"
day2 task list --all | grep -q '/ticker' || fail "task list --all does not show the killed task"

# task exec: a long-running task, its hostname from its own log.
sid=$(day2 task run --agent "$id1" --app /shell --shell 'hostname; exec sleep 600')
[ ${#sid} = 36 ] || fail "task run printed '$sid'"
own_hostname() { [ -n "$(day2 task log "$sid" stdout 2> /dev/null)" ]; }
until_ok 30 own_hostname || fail "the /shell task printed no hostname"
hn=$(day2 task log "$sid" stdout)
[ "$(day2 task exec /shell -- hostname)" = "$hn" ] || fail "task exec hostname: $(day2 task exec /shell -- hostname 2>&1)"
# The remote exit code; stdout and stderr on their own streams without -t.
rc=0; day2 task exec "${sid:0:8}" -- sh -c 'echo out; echo err >&2; exit 3' > "$scratch/eo" 2> "$scratch/ee" || rc=$?
[ $rc = 3 ] && [ "$(cat "$scratch/eo")" = out ] && [ "$(cat "$scratch/ee")" = err ] ||
    fail "task exec exit 3: rc $rc, stdout '$(cat "$scratch/eo")', stderr '$(cat "$scratch/ee")'"
# -i: stdin streamed, and its end ends the command's.
[ "$(echo hello | day2 task exec -i /shell -- cat)" = hello ] || fail "task exec -i cat"
# 20 MB of stdin, more than day2 buffers (it pauses reading until the network takes it): all of it.
n=$(head -c 20000000 /dev/zero | day2 task exec -i /shell -- wc -c) && [ "$n" = 20000000 ] ||
    fail "task exec -i of 20 MB: wc -c said '$n'"
# -i -t through a pty: the size, a resize, a shell's answer, its exit code.
rc=0; "$repo/tests/integration/exec_pty.py" "$build/app/day2" /shell > "$scratch/pty" 2>&1 || rc=$?
[ $rc = 5 ] && grep -q '42' "$scratch/pty" || fail "task exec -it (rc $rc): $(cat "$scratch/pty")"
# Ctrl-P Ctrl-Q leaves (exit 0); a SIGTERM ends day2 (143); the terminal is cooked again after both.
rc=0; "$repo/tests/integration/exec_pty.py" "$build/app/day2" /shell detach > "$scratch/pty" 2>&1 || rc=$?
[ $rc = 0 ] && grep -q 'day2: detached from /shell' "$scratch/pty" || fail "task exec -it, Ctrl-P Ctrl-Q (rc $rc): $(cat "$scratch/pty")"
rc=0; "$repo/tests/integration/exec_pty.py" "$build/app/day2" /shell sigterm > "$scratch/pty" 2>&1 || rc=$?
[ $rc = 143 ] || fail "task exec -it, SIGTERM (rc $rc): $(cat "$scratch/pty")"
# A refusal says so: a viewer (tasks read, no day2:exec:/shell create).
nobody_token=$(day2 token issue --key "$DAY2_DEMO_DIR/jwt.key" --uid bob --groups viewers --ttl 10m)
rc=0; DAY2_TOKEN=$nobody_token day2 task exec "$sid" -- true 2> "$scratch/403" || rc=$?
[ $rc = 1 ] && grep -q "^day2: you may not exec in $sid: .*403" "$scratch/403" ||
    fail "task exec without the grant (rc $rc): $(cat "$scratch/403")"
# Audited with the CLI's address, and Adminrouter's (the agents trust it: http.trusted_proxies).
bob_audit() {
    for i in 1 2; do
        journalctl --namespace="${DAY2_DEMO_NAME}node$i" -o json DAY2_AUDIT=1 _UID=0 \
            _COMM=day2-agent DAY2_AUDIT_UID=bob DAY2_AUDIT_RESULT=denied 2> /dev/null || true
    done
}
bob_audited() {
    bob_audit | grep '"DAY2_AUDIT_SOURCE":"127.0.0.1"' |
        grep -q "\"DAY2_AUDIT_VIA\":\"$DAY2_DEMO_SUBNET.1:"
}
until_ok 10 bob_audited || fail "the refusal's audit line (client 127.0.0.1 via $DAY2_DEMO_SUBNET.1): $(bob_audit)"
day2 task kill "$sid" 2> /dev/null || fail "task kill /shell failed"

# The config file, with no environment.
mkdir -p "$scratch/config/day2"
printf 'url = "%s"\ntoken_file = "%s"\nca = "%s"\n' "$DAY2_URL" "$DAY2_DEMO_DIR/admin.token" "$DAY2_CA" > "$scratch/config/day2/config.toml"
env -u DAY2_URL -u DAY2_TOKEN -u DAY2_CA XDG_CONFIG_HOME="$scratch/config" "$build/app/day2" cluster agents > /dev/null ||
    fail "the config file was not used"
echo 'url = ' > "$scratch/config/day2/config.toml"
rc=0; env -u DAY2_URL -u DAY2_TOKEN -u DAY2_CA XDG_CONFIG_HOME="$scratch/config" "$build/app/day2" cluster agents 2> /dev/null || rc=$?
[ $rc = 2 ] || fail "a broken config file exited $rc, not 2"

# Usage errors exit 2, errors 1.
rc=0; day2 node log "$id1" -o xml 2> /dev/null || rc=$?; [ $rc = 2 ] || fail "-o xml exited $rc"
rc=0; day2 task log 2> /dev/null || rc=$?; [ $rc = 2 ] || fail "a missing task exited $rc"
rc=0; day2 task log no-such-task 2> /dev/null || rc=$?; [ $rc = 1 ] || fail "an unknown task exited $rc"
rc=0; DAY2_TOKEN=not-a-jwt day2 task list 2> "$scratch/401" || rc=$?; [ $rc = 1 ] || fail "a bad token exited $rc"
grep -q 'HTTP 401' "$scratch/401" || fail "a bad token said: $(cat "$scratch/401")"
# Without the cluster's CA, TLS fails with its reason and the certificate's names; never ignored.
rc=0; DAY2_CA= day2 cluster agents > /dev/null 2> "$scratch/tls" || rc=$?
[ $rc = 1 ] && grep -q "^day2: TLS: .*cannot be trusted: .*issued by 'day2 demo CA'" "$scratch/tls" ||
    fail "without the CA ($rc): $(cat "$scratch/tls")"
echo "cli cluster: agents, task list/run/log/kill/metrics/exec (-i, -t, exit codes, 403), follow, node log json = agent range, config file, exit codes: ok"
