#!/usr/bin/env bash
# The Debian packages (packaging/CMakeLists.txt): built with CPack, checked by lintian (no error),
# then installed on this machine with dpkg -i and used as an operator would:
#   - the agent is configured (a JWT public key, an ACL) and started from its unit's ExecStart
#     line, in a network namespace of the test's own (its default port then takes nothing of the
#     machine's); /system/v1/health answers with the packages' version;
#   - Adminrouter renders an inventory naming that agent with its reload hook and runs from its
#     unit's ExecStart line; a token minted by the packaged `day2 token issue` reaches the
#     agent's whoami through it, over TLS;
#   - the packages are purged and leave nothing of theirs behind.
# Needs root and a machine without day2 installed (CI's); skips (77) otherwise, with the reason.
#   tests/integration/packages_test.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
say() { echo "packages: $*"; }
skip() { say "SKIP: $*"; exit 77; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (dpkg -i, a network namespace)"
for c in cpack lintian dpkg-deb openssl curl ip nginx; do
    command -v "$c" > /dev/null || skip "$c is missing (packaging/deps.sh installs it)"
done
for p in day2-agent day2-adminrouter day2-console day2-cli; do
    if dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "ok installed"; then
        skip "$p is installed on this machine: the test installs and purges its own"
    fi
done
for d in /etc/day2 /var/lib/day2 /var/lib/day2-adminrouter; do
    [ ! -e "$d" ] || skip "$d exists: this machine has a day2 installation the test would touch"
done

scratch=$(mktemp -d /tmp/day2-packages.XXXXXX)
ns=d2pkg$$
installed=()
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
        kill -9 "$p" 2> /dev/null || true
    done
    rm -f /etc/day2/acl.json /etc/day2/jwt.pub
    if [ ${#installed[@]} -gt 0 ]; then
        dpkg --purge "${installed[@]}" > "$scratch/purge.log" 2>&1 || cat "$scratch/purge.log"
    fi
    # What running them made (not the packages' files): the agent's id, Adminrouter's rendering.
    rm -rf /var/lib/day2 /var/lib/day2-adminrouter
    ip netns del "$ns" 2> /dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

say "building the packages (cpack)"
(cd "$build" && cpack -B "$scratch/debs" > "$scratch/cpack.log" 2>&1) ||
    fail "cpack failed: $(tail -20 "$scratch/cpack.log")"
debs=("$scratch"/debs/*.deb)
[ ${#debs[@]} -ge 3 ] || fail "cpack made ${#debs[@]} packages: ${debs[*]}"
for want in day2-agent day2-adminrouter day2-cli; do
    ls "$scratch"/debs/"${want}"_*.deb > /dev/null 2>&1 || fail "no $want package"
done
version=$(dpkg-deb -f "$(ls "$scratch"/debs/day2-agent_*.deb)" Version)

say "lintian"
lintian --fail-on error --tag-display-limit 0 "${debs[@]}" > "$scratch/lintian.log" 2>&1 ||
    fail "lintian found errors: $(grep '^E:' "$scratch/lintian.log" || cat "$scratch/lintian.log")"
grep '^[EW]:' "$scratch/lintian.log" | sed 's/^/  /' || true

say "dpkg -i ${debs[*]##*/}"
for f in "${debs[@]}"; do installed+=("$(dpkg-deb -f "$f" Package)"); done
dpkg -i "${debs[@]}" > "$scratch/dpkg.log" 2>&1 ||
    fail "dpkg -i failed (packaging/deps.sh installs what they depend on): $(cat "$scratch/dpkg.log")"
for f in /usr/sbin/day2-agent /usr/libexec/day2/day2-task-supervisor /etc/day2/agent.toml \
    /lib/systemd/system/day2-agent.service /lib/systemd/system/day2-adminrouter.service \
    /usr/sbin/day2-adminrouter-render /usr/sbin/day2-adminrouter-reload /usr/bin/day2; do
    [ -e "$f" ] || fail "$f is not installed"
done
dpkg-query -W -f='${Conffiles}\n' day2-agent | grep -q "/etc/day2/agent.toml" ||
    fail "/etc/day2/agent.toml is not a conffile"

say "configuring the agent as an operator would: a JWT public key and an ACL"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$scratch/jwt.key" 2> /dev/null
openssl pkey -in "$scratch/jwt.key" -pubout -out /etc/day2/jwt.pub
cp /usr/share/doc/day2-agent/examples/acl.json /etc/day2/acl.json
sed -i 's|^public_keys = \[\]|public_keys = ["/etc/day2/jwt.pub"]|' /etc/day2/agent.toml
grep -q '^public_keys = \["/etc/day2/jwt.pub"\]' /etc/day2/agent.toml ||
    fail "agent.toml has no 'public_keys = []' line to fill in"

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/day2-agent.service)
[ -n "$exec_start" ] || fail "day2-agent.service has no ExecStart"
say "starting the agent: $exec_start"
# (The unit's StateDirectory=day2, made as systemd would.)
mkdir -p /var/lib/day2
# (eval: the unit's command line, its words and quotes as systemd reads this one; exec: the
# pid recorded is the agent's own)
eval "exec ip netns exec $ns $exec_start" > "$scratch/agent.log" 2>&1 &
pids+=($!)
health=""
for _ in $(seq 100); do
    health=$(ip netns exec "$ns" curl -s -m 2 http://127.0.0.1:61001/system/v1/health || true)
    [ -n "$health" ] && break
    kill -0 "${pids[0]}" 2> /dev/null || fail "the agent exited: $(cat "$scratch/agent.log")"
    sleep 0.1
done
[ -n "$health" ] || fail "no answer from /system/v1/health: $(cat "$scratch/agent.log")"
python3 - "$health" "${version%-*}" << 'PY' || fail "health: $health"
import json, sys
h = json.loads(sys.argv[1])
assert h["version"] == sys.argv[2], (h["version"], sys.argv[2])
assert h["auth"] != "off", h["auth"]
assert h["agent_id"], h
PY
agent_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["agent_id"])' "$health")
say "health answers: version ${version%-*}, agent $agent_id"

say "Adminrouter: an inventory with that agent, rendered by the reload hook, nginx from its unit"
(
    cd "$scratch"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=day2 packages test CA" 2> /dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ar.key -out ar.csr \
        -subj "/CN=127.0.0.1" 2> /dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' > san.cnf
    openssl x509 -req -in ar.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ar.pem -days 2 \
        -extfile san.cnf 2> /dev/null
)
cat > "$scratch/inventory.json" << EOF
{"listen": "127.0.0.1:8443",
 "tls": {"certificate": "$scratch/ar.pem", "key": "$scratch/ar.key"},
 "agents": [{"agent_id": "$agent_id", "hostname": "node-1", "address": "127.0.0.1:61001",
             "scheme": "http"}]}
EOF
mkdir -p /var/lib/day2-adminrouter # (StateDirectory=day2-adminrouter)
/usr/sbin/day2-adminrouter-reload --render-only "$scratch/inventory.json" > "$scratch/reload.log" 2>&1 ||
    fail "day2-adminrouter-reload: $(cat "$scratch/reload.log")"
# A broken inventory is refused and the rendered configuration stays.
cp /var/lib/day2-adminrouter/nginx.conf "$scratch/nginx.conf.good"
echo '{"listen": "nowhere"}' > "$scratch/bad.json"
if /usr/sbin/day2-adminrouter-reload --render-only "$scratch/bad.json" > "$scratch/bad.log" 2>&1; then
    fail "a broken inventory was accepted"
fi
grep -q "configuration before it is kept" "$scratch/bad.log" || fail "no reason given: $(cat "$scratch/bad.log")"
cmp -s "$scratch/nginx.conf.good" /var/lib/day2-adminrouter/nginx.conf ||
    fail "the rendered configuration changed after a refused inventory"
ar_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/day2-adminrouter.service)
say "starting Adminrouter: $ar_start"
[ -n "$ar_start" ] || fail "day2-adminrouter.service has no ExecStart"
eval "exec ip netns exec $ns $ar_start" > "$scratch/nginx.log" 2>&1 &
pids+=($!)
token=$(/usr/bin/day2 token issue --key "$scratch/jwt.key" --uid admin --ttl 10m)
whoami=""
for _ in $(seq 100); do
    whoami=$(ip netns exec "$ns" curl -s -m 2 --cacert "$scratch/ca.pem" \
        -H "Authorization: token=$token" \
        "https://127.0.0.1:8443/system/v1/agent/$agent_id/auth/whoami" || true)
    [ -n "$whoami" ] && break
    kill -0 "${pids[1]}" 2> /dev/null || fail "nginx exited: $(cat "$scratch/nginx.log")"
    sleep 0.1
done
echo "$whoami" | grep -q '"admin"' || fail "whoami through Adminrouter: '$whoami'"
say "whoami through Adminrouter with a token from day2 token issue: $whoami"

say "purging the packages"
for p in "${pids[@]}"; do kill "$p"; done
for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
pids=()
rm -f /etc/day2/acl.json /etc/day2/jwt.pub
dpkg --purge "${installed[@]}" > "$scratch/purge.log" 2>&1 || fail "dpkg --purge: $(cat "$scratch/purge.log")"
installed=()
rm -rf /var/lib/day2 /var/lib/day2-adminrouter
for f in /usr/sbin/day2-agent /usr/libexec/day2 /etc/day2 /usr/bin/day2 \
    /lib/systemd/system/day2-agent.service /usr/sbin/day2-adminrouter-render; do
    [ ! -e "$f" ] || fail "$f is left after the purge"
done
! pgrep -f "/usr/sbin/day2-agent|nginx -p /var/lib/day2-adminrouter" > /dev/null ||
    fail "a process the test started is still running: $(pgrep -af "/usr/sbin/day2-agent|day2-adminrouter")"
say "PASS"
