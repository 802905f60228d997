# Sourced by the cluster tests (cluster_smoke.sh, cli_cluster.sh, console_snapshot.sh): the
# settings of a private packaging/demo/cluster that runs beside any other one.
#   demo_cluster_env NAME OCTET     exports DAY2_DEMO_DIR, DAY2_DEMO_NAME (NAME),
#                                   DAY2_DEMO_SUBNET (10.OCTET.x) and DAY2_DEMO_PORT (a free
#                                   port); sets $cluster. Needs $repo.
#   demo_cluster_up LOG ARGS...     `$cluster up ARGS...`, its output in LOG. A port found free
#                                   by demo_cluster_env can be taken before nginx binds it: then
#                                   `up` (which removed what it made) runs once more with a new
#                                   DAY2_DEMO_PORT.
demo_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
demo_cluster_env() {
    export DAY2_DEMO_DIR=/tmp/day2-$1-test-$$ DAY2_DEMO_NAME=$1 DAY2_DEMO_SUBNET=10.$2.$(($$ % 200 + 20))
    DAY2_DEMO_PORT=$(demo_free_port)
    export DAY2_DEMO_PORT
    cluster=$repo/packaging/demo/cluster
}
demo_cluster_up() {
    local log=$1
    shift
    "$cluster" up "$@" > "$log" 2>&1 && return 0
    grep -q 'Address already in use' "$log" || return 1
    DAY2_DEMO_PORT=$(demo_free_port)
    "$cluster" up "$@" > "$log" 2>&1
}
