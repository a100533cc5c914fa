#!/usr/bin/env bash
# Throwaway services for the test suite, on loopback only. Idempotent: run it as often as you like.
#
#   scripts/start-test-services.sh redis   Redis on 127.0.0.1:56379 (no persistence), prints its URL
#                                          (export it as MCP_INVOICES_TEST_REDIS_URL)
#   scripts/start-test-services.sh postgres
#                                          PostgreSQL on 127.0.0.1:55432 (throwaway cluster, trust auth
#                                          on loopback), prints its URL (export it as
#                                          MCP_INVOICES_TEST_DATABASE_URL)
#
# Installs Debian's package if the server is missing (apt-get; as root, or through sudo).
set -euo pipefail

log() { echo "start-test-services: $*" >&2; }

apt_install() {
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq >&2
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

start_redis() {
    local port="${MCP_INVOICES_REDIS_PORT:-56379}"
    local dir="${MCP_INVOICES_REDIS_DIR:-${TMPDIR:-/tmp}/mcp-invoices-redis}"
    local url="redis://127.0.0.1:${port}/0"
    if ! command -v redis-server >/dev/null 2>&1; then
        log "installing redis-server with apt-get"
        apt_install redis-server
    fi
    mkdir -p "$dir"
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
        log "Redis already answers on 127.0.0.1:$port"
    else
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
    log "ready; export MCP_INVOICES_TEST_REDIS_URL=$url"
    echo "$url"
}

start_postgres() {
    # PostgreSQL on 127.0.0.1:55432 in a throwaway cluster (no fsync: the data is disposable), with a
    # role that may create databases (the tests make one per test). Prints the URL to export as
    # MCP_INVOICES_TEST_DATABASE_URL.
    local port="${MCP_INVOICES_PG_PORT:-55432}"
    local dir="${MCP_INVOICES_PG_DIR:-${TMPDIR:-/tmp}/mcp-invoices-pg}"
    local role=mcp_invoices password=test-only-secret database=mcp_invoices_test
    local url="postgresql://${role}:${password}@127.0.0.1:${port}/${database}"
    local bin owner
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
    mkdir -p "$dir"
    chown "$owner" "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        log "initialising a PostgreSQL cluster in $dir"
        as_owner "$bin/initdb" --pgdata="$dir" --username=postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$dir/postgresql.conf" <<CONF

# mcp-invoices test cluster: loopback only, disposable data, fast.
listen_addresses = '127.0.0.1'
port = $port
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
        log "starting PostgreSQL on 127.0.0.1:$port"
        as_owner "$bin/pg_ctl" --pgdata="$dir" --log="$dir/server.log" --wait --timeout=60 start >/dev/null
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
    psql_admin --command="GRANT pg_signal_backend TO $role" >/dev/null
    if [ "$(psql_admin --command="SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
        psql_admin --command="CREATE DATABASE $database OWNER $role"
    fi
    log "ready; export MCP_INVOICES_TEST_DATABASE_URL=$url"
    echo "$url"
}

case "${1:-redis}" in
    redis) start_redis ;;
    postgres) start_postgres ;;
    *)
        log "unknown service ${1}; known: redis, postgres"
        exit 2
        ;;
esac
