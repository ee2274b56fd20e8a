# demo/lib.sh — shell helpers shared by demo/run.sh and the integration
# tests that need real servers: free loopback ports, a throw-away
# nats-server and a throw-away PostgreSQL, each in a directory of its own.
# Sourced, not run. Every start_* function records what it started in
# LIB_PIDS / LIB_PGDATA so that lib_stop_all can stop it; callers install
#   trap lib_stop_all EXIT
# Functions print errors on stderr and return non-zero; they never exit.

LIB_PIDS=""
LIB_PGDATA=""
LIB_PGDIR=""
LIB_PGUSER=""

# port_in_use PORT — true when something listens on PORT (IPv4 or IPv6).
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port [PREFERRED] — PREFERRED when free, else a free port below the
# kernel's ephemeral range (ip_local_port_range), where the outgoing
# connections of other programs cannot take it. (Another program may still
# take it before we bind: the servers started here retry with another.)
free_port() {
    local p=${1:-}
    if [ -n "$p" ] && ! port_in_use "$p"; then echo "$p"; return 0; fi
    local i lo=32768
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 12000 ] 2>/dev/null || lo=32768
    for i in $(seq 1 200); do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000) ))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    echo "lib.sh: no free port found" >&2
    return 1
}

# wait_for_file FILE PATTERN SECONDS [PID] — until FILE has a line matching
# PATTERN; fails early when PID (if given) has exited.
wait_for_file() {
    local f=$1 pat=$2 t=$3 pid=${4:-} i
    for i in $(seq 1 $(( t * 20 ))); do
        [ -s "$f" ] && grep -q "$pat" "$f" && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.05
    done
    return 1
}

lib_track() { LIB_PIDS="$1 $LIB_PIDS"; }

# start_nats DIR [PREFERRED_PORT] — nats-server on 127.0.0.1, log in DIR.
# Sets NATS_URL and NATS_PID. A port taken between the check and the bind
# (another program was quicker) is retried with another free port.
start_nats() {
    local dir=$1 pref=${2:-} port try i
    mkdir -p "$dir"
    command -v nats-server >/dev/null || { echo "lib.sh: nats-server is not installed (scripts/setup.sh)" >&2; return 1; }
    for try in 1 2 3; do
        port=$(free_port "$pref") || return 1
        pref=""
        : >"$dir/nats.log"
        nats-server -a 127.0.0.1 -p "$port" --http_port 0 -l "$dir/nats.log" --pid "$dir/nats.pid" \
            >/dev/null 2>&1 &
        NATS_PID=$!
        lib_track "$NATS_PID"
        for i in $(seq 1 100); do
            if grep -q "Server is ready" "$dir/nats.log" 2>/dev/null; then
                NATS_URL="nats://127.0.0.1:$port"
                return 0
            fi
            kill -0 "$NATS_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill "$NATS_PID" 2>/dev/null
        wait "$NATS_PID" 2>/dev/null
    done
    echo "lib.sh: nats-server did not start:" >&2
    cat "$dir/nats.log" >&2 2>/dev/null
    return 1
}

# pg_bindir — the newest installed PostgreSQL's bin directory.
pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$d" ] && command -v pg_ctl >/dev/null; then d=$(dirname "$(command -v pg_ctl)"); fi
    [ -n "$d" ] && [ -x "$d/initdb" ] || { echo "lib.sh: PostgreSQL is not installed (scripts/setup.sh)" >&2; return 1; }
    echo "$d"
}

# as_pg_user CMD... — run CMD as the user owning the cluster. PostgreSQL
# refuses to run as root, so root runs it as the unprivileged `postgres`
# account (created by Debian's postgresql package) or `nobody`.
as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$LIB_PGUSER" -- "$@"
    else
        "$@"
    fi
}

# start_pg [PREFERRED_PORT] — a new cluster in a temporary directory of its
# own (initdb, trust auth, loopback only), a database `shop` owned by role
# `shop`, listening on 127.0.0.1 and a socket in that directory; stop_pg
# stops it and removes the directory. Sets PG_PORT and PG_CONNINFO.
# As root the directory is made in /tmp (not under the caller's private
# temporary directory) and given to the cluster's unprivileged owner.
start_pg() {
    local bin port dir
    bin=$(pg_bindir) || return 1
    port=$(free_port "${1:-}") || return 1
    dir=$(mktemp -d /tmp/stitch-pg.XXXXXX) || return 1
    LIB_PGDIR=$dir
    if [ "$(id -u)" -eq 0 ]; then
        if id postgres >/dev/null 2>&1; then LIB_PGUSER=postgres; else LIB_PGUSER=nobody; fi
        chown "$LIB_PGUSER" "$dir"
    fi
    as_pg_user "$bin/initdb" -D "$dir/pgdata" -U shop --auth=trust --no-sync -E UTF8 \
        >"$dir/initdb.log" 2>&1 || { echo "lib.sh: initdb failed:" >&2; cat "$dir/initdb.log" >&2; return 1; }
    LIB_PGDATA="$dir/pgdata"
    local try
    for try in 1 2 3; do
        # a port taken between the check and the bind: try another
        as_pg_user "$bin/pg_ctl" -D "$dir/pgdata" -l "$dir/pg.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start \
            >"$dir/pg_ctl.log" 2>&1 && break
        if [ "$try" = 3 ] || ! grep -q 'Address already in use' "$dir/pg.log" 2>/dev/null; then
            echo "lib.sh: PostgreSQL did not start:" >&2; cat "$dir/pg.log" >&2; return 1
        fi
        port=$(free_port) || return 1
    done
    as_pg_user "$bin/createdb" -h 127.0.0.1 -p "$port" -U shop shop >>"$dir/pg_ctl.log" 2>&1 ||
        { echo "lib.sh: createdb failed" >&2; return 1; }
    PG_PORT=$port
    PG_CONNINFO="host=127.0.0.1 port=$port dbname=shop user=shop"
}

stop_pg() {
    local bin
    if [ -n "$LIB_PGDATA" ] && bin=$(pg_bindir 2>/dev/null); then
        as_pg_user "$bin/pg_ctl" -D "$LIB_PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_pg_user "$bin/pg_ctl" -D "$LIB_PGDATA" -m immediate -w stop >/dev/null 2>&1
    fi
    LIB_PGDATA=""
    [ -n "$LIB_PGDIR" ] && rm -rf "$LIB_PGDIR"
    LIB_PGDIR=""
}

# lib_stop_all — SIGTERM every tracked process, wait up to 5 s, SIGKILL
# what is left; then PostgreSQL.
lib_stop_all() {
    local p i alive
    for p in $LIB_PIDS; do kill -TERM "$p" 2>/dev/null; done
    for i in $(seq 1 100); do
        alive=""
        for p in $LIB_PIDS; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
        [ -z "$alive" ] && break
        sleep 0.05
    done
    for p in $LIB_PIDS; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    LIB_PIDS=""
    stop_pg
}
