#!/usr/bin/env bash
# Throwaway services for the test suite, on loopback only. Idempotent: run it as often as you like.
#
#   scripts/start-test-services.sh redis   Redis on a free 127.0.0.1 port (no persistence), prints its
#                                          URL (export it as MCP_INVOICES_TEST_REDIS_URL)
#   scripts/start-test-services.sh postgres
#                                          PostgreSQL on a free 127.0.0.1 port (throwaway cluster, trust
#                                          auth on loopback), prints its URL (export it as
#                                          MCP_INVOICES_TEST_DATABASE_URL)
#   scripts/start-test-services.sh stop    stops this checkout's Redis and PostgreSQL, if running
#                                          (.ci/run does it on exit, failed or not)
#
# Each checkout has its own servers: their data, logs and chosen port live in
# <checkout>/.test-services/{redis,postgres}, so two checkouts (two CI runs on one machine) never
# share a port or a directory, and running the script again in one checkout reuses its servers.
# MCP_INVOICES_REDIS_PORT / MCP_INVOICES_PG_PORT pin a port; MCP_INVOICES_REDIS_DIR /
# MCP_INVOICES_PG_DIR choose the directory.
#
# Installs Debian's package if the server is missing (apt-get; as root, or through sudo).
set -euo pipefail

CHECKOUT="$(cd "$(dirname "$0")/.." && pwd)"

log() { echo "start-test-services: $*" >&2; }

apt_install() {
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq >&2
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

free_port() {
    # A loopback port nothing listens on now (the kernel's choice for port 0).
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_for() {
    # The port for the service whose directory is $1: the pinned one ($2) if set, else the one this
    # checkout used before (kept in $1/port) while the server still runs or the port is still free,
    # else a fresh free port. Written back to $1/port.
    local dir="$1" pinned="$2" port=""
    if [ -n "$pinned" ]; then
        port="$pinned"
    elif [ -f "$dir/port" ]; then
        port="$(cat "$dir/port")"
    fi
    [ -n "$port" ] || port="$(free_port)"
    echo "$port" >"$dir/port"
    echo "$port"
}

port_is_free() {
    python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

start_redis() {
    local dir="${MCP_INVOICES_REDIS_DIR:-$CHECKOUT/.test-services/redis}"
    local port url
    if ! command -v redis-server >/dev/null 2>&1; then
        log "installing redis-server with apt-get"
        apt_install redis-server
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    port="$(port_for "$dir" "${MCP_INVOICES_REDIS_PORT:-}")"
    # Ours only if its pid file names a live process and it answers: another program (or another
    # checkout's Redis) on that port is never taken for ours.
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null \
        && redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
        log "Redis already answers on 127.0.0.1:$port"
    else
        if [ -z "${MCP_INVOICES_REDIS_PORT:-}" ] && ! port_is_free "$port"; then
            port="$(free_port)"
            echo "$port" >"$dir/port"
        fi
        log "starting Redis on 127.0.0.1:$port"
        # Disposable: no RDB snapshots, no AOF. noeviction: the server bounds its own cache, and a
        # generation lock must never be evicted to make room.
        redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
            --save '' --appendonly no --maxmemory-policy noeviction \
            --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
        local tries=0
        until redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; do
            tries=$((tries + 1))
            if [ "$tries" -ge 100 ]; then
                log "Redis did not answer within 10 s; see $dir/redis.log"
                exit 1
            fi
            sleep 0.1
        done
    fi
    url="redis://127.0.0.1:${port}/0"
    log "ready; export MCP_INVOICES_TEST_REDIS_URL=$url"
    echo "$url"
}

start_postgres() {
    # PostgreSQL on a free loopback port in a throwaway cluster (no fsync: the data is disposable),
    # with a role that may create databases (the tests make one per test). Prints the URL to export
    # as MCP_INVOICES_TEST_DATABASE_URL.
    local state="${MCP_INVOICES_PG_DIR:-$CHECKOUT/.test-services/postgres}"
    local role=mcp_invoices password=test-only-secret database=mcp_invoices_test
    local bin owner port url dir
    pg_bindir() {
        local version
        version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
        [ -n "$version" ] && [ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ] && echo "/usr/lib/postgresql/$version/bin"
    }
    if ! bin="$(pg_bindir)"; then
        log "installing postgresql with apt-get"
        apt_install postgresql
        bin="$(pg_bindir)"
    fi
    # PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
    if [ "$(id -u)" -eq 0 ]; then owner=postgres; else owner="$(id -un)"; fi
    as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }
    # $state keeps the port; the cluster lives in $state/data (initdb wants its own directory).
    mkdir -p "$state/data"
    state="$(cd "$state" && pwd)"
    dir="$state/data"
    port="$(port_for "$state" "${MCP_INVOICES_PG_PORT:-}")"
    chown "$owner" "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        log "initialising a PostgreSQL cluster in $dir"
        as_owner "$bin/initdb" --pgdata="$dir" --username=postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$dir/postgresql.conf" <<CONF

# mcp-invoices test cluster: loopback only, disposable data, fast.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
# Tests create and drop a database each; an autovacuum worker in one would make DROP ... WITH (FORCE) race.
autovacuum = off
CONF
    fi
    if ! as_owner "$bin/pg_ctl" --pgdata="$dir" status >/dev/null 2>&1; then
        if [ -z "${MCP_INVOICES_PG_PORT:-}" ] && ! port_is_free "$port"; then
            port="$(free_port)"
            echo "$port" >"$state/port"
        fi
        log "starting PostgreSQL on 127.0.0.1:$port"
        if ! as_owner "$bin/pg_ctl" --pgdata="$dir" --log="$dir/server.log" --options="-p $port" \
            --wait --timeout=60 start >/dev/null; then
            log "PostgreSQL did not start; its log ($dir/server.log) ends:"
            tail -n 20 "$dir/server.log" >&2 || true
            exit 1
        fi
    fi
    psql_admin() {
        as_owner "$bin/psql" --host="$dir" --port="$port" --username=postgres --dbname=postgres \
            --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 "$@"
    }
    if [ "$(psql_admin --command="SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
        psql_admin --command="CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'"
    fi
    # DROP DATABASE ... WITH (FORCE) must be allowed to end any backend in a test's database, an
    # autovacuum worker included (in a cluster initialised before autovacuum was turned off).
    psql_admin --command="SET client_min_messages = warning; GRANT pg_signal_backend TO $role" >/dev/null
    if [ "$(psql_admin --command="SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
        psql_admin --command="CREATE DATABASE $database OWNER $role"
    fi
    url="postgresql://${role}:${password}@127.0.0.1:${port}/${database}"
    log "ready; export MCP_INVOICES_TEST_DATABASE_URL=$url"
    echo "$url"
}

stop_services() {
    # This checkout's servers only: the Redis whose pid file is in its directory, the cluster in its own.
    local redis_dir="${MCP_INVOICES_REDIS_DIR:-$CHECKOUT/.test-services/redis}"
    local pg_dir="${MCP_INVOICES_PG_DIR:-$CHECKOUT/.test-services/postgres}/data"
    local pid version
    if [ -f "$redis_dir/redis.pid" ] && pid="$(cat "$redis_dir/redis.pid")" && kill -0 "$pid" 2>/dev/null; then
        log "stopping Redis (pid $pid)"
        # SHUTDOWN answers once the server stops serving, so the port is closed when this returns.
        redis-cli -h 127.0.0.1 -p "$(cat "$redis_dir/port")" shutdown nosave >/dev/null 2>&1 || kill "$pid"
    fi
    if [ -f "$pg_dir/postmaster.pid" ]; then
        version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
        log "stopping PostgreSQL in $pg_dir"
        if [ "$(id -u)" -eq 0 ]; then
            runuser -u postgres -- "/usr/lib/postgresql/$version/bin/pg_ctl" --pgdata="$pg_dir" --mode=fast stop >/dev/null || true
        else
            "/usr/lib/postgresql/$version/bin/pg_ctl" --pgdata="$pg_dir" --mode=fast stop >/dev/null || true
        fi
    fi
}

case "${1:-redis}" in
    redis) start_redis ;;
    postgres) start_postgres ;;
    stop) stop_services ;;
    *)
        log "unknown service ${1}; known: redis, postgres, stop"
        exit 2
        ;;
esac
