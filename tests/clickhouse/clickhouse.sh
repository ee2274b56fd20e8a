# tests/clickhouse/clickhouse.sh — sourced by the ClickHouse tests: start a
# throwaway clickhouse-server on free loopback ports with its data in a
# temporary directory and a config written here, and stop it again.
# Installs nothing: scripts/setup.sh puts clickhouse-server on the machine.
#
#   ch_start NAME [EXTRA_XML]  -> sets CH_<NAME>_HTTP, CH_<NAME>_TCP, CH_<NAME>_PID;
#                                 CH_PORTS_<NAME>="HTTP TCP INTERSERVER" fixes the ports
#                                 (a cluster's remote_servers must know them first)
#   ch_stop NAME                        -> SIGTERM, then SIGKILL after 10 s
#   ch_restart NAME [SIGNAL]            -> stop (or kill -SIGNAL) and start again, same ports
#   ch_stop_all                         -> SIGKILL every server ch_start started, remove
#                                          their data (trap it on EXIT)
#
# Ports: picked by binding port 0 (python3) — a race with other programs is
# possible but unlikely on a test machine; the start is retried on a clash.

CH_ROOT=${CH_ROOT:-$(mktemp -d /tmp/stitch-ch-XXXXXX)}
CH_STARTED=""

ch_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

ch_server_bin() {
    for b in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
        if command -v "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
    done
    return 1
}

ch_start() {
    name=$1
    remote=${2:-}
    bin=$(ch_server_bin) || { echo "clickhouse-server is not installed (scripts/setup.sh installs it)" >&2; return 1; }
    dir=$CH_ROOT/$name
    mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/format_schemas"
    for attempt in 1 2 3; do
        eval "fixed=\${CH_PORTS_${name}:-}"
        if [ -n "$fixed" ]; then
            read -r http tcp inter <<<"$fixed"
        else
            http=$(ch_free_port); tcp=$(ch_free_port); inter=$(ch_free_port)
        fi
        cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><console>0</console></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    <interserver_http_port>$inter</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    $remote
</yandex>
XML
        cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
XML
        "$bin" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
        pid=$!
        i=0
        while [ $i -lt 300 ]; do
            if curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
                eval "CH_${name}_HTTP=$http CH_${name}_TCP=$tcp CH_${name}_PID=$pid"
                CH_STARTED="$CH_STARTED $name"
                return 0
            fi
            kill -0 $pid 2>/dev/null || break
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
        echo "clickhouse-server $name did not start (attempt $attempt); its log:" >&2
        tail -5 "$dir/log/error.log" "$dir/log/stdout.log" >&2 2>/dev/null
    done
    return 1
}

# ch_restart NAME [SIGNAL]: stop NAME (SIGTERM, or e.g. KILL for a crash)
# and start it again on the same ports and data.
ch_restart() {
    name=$1
    if [ -n "${2:-}" ]; then
        eval "pid=\${CH_${name}_PID:-}"
        kill -"$2" "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    else
        ch_stop "$name"
    fi
    dir=$CH_ROOT/$name
    eval "http=\$CH_${name}_HTTP"
    "$(ch_server_bin)" --config-file="$dir/config.xml" >>"$dir/log/stdout.log" 2>&1 &
    pid=$!
    eval "CH_${name}_PID=$pid"
    i=0
    while [ $i -lt 300 ]; do
        curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1 && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

ch_stop() {
    eval "pid=\${CH_${1}_PID:-}"
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    eval "CH_${1}_PID="
}

# The data is thrown away: no graceful shutdown (it can take 10 s).
ch_stop_all() {
    for n in $CH_STARTED; do
        eval "pid=\${CH_${n}_PID:-}"
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    CH_STARTED=""
    rm -rf "$CH_ROOT"
}

# ch_query NAME SQL: run SQL over HTTP, print the answer.
ch_query() {
    eval "http=\$CH_${1}_HTTP"
    curl -fsS "http://127.0.0.1:$http/" --data-binary "$2"
}
