#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for sifr's tests and benchmarks.
#
#   eval "$(scripts/pg-test-cluster.sh start)"   # prints: export SIFR_TEST_DATABASE_URL=...
#   cargo test --workspace                        # stories and HTTP tests run on PostgreSQL too
#   scripts/pg-test-cluster.sh stop               # stops the cluster and removes its files
#
# The cluster lives in $SIFR_PG_DIR (default: $TMPDIR/sifr-pg-test), listens on 127.0.0.1 at the
# first free port from $SIFR_PG_PORT (default 55432) and on a unix socket in that folder, and
# trusts local connections. It runs as the `postgres` user when started by root (PostgreSQL
# refuses to run as root), else as the calling user. Unless --durable is given it trades
# crash safety for speed (fsync off), which is right for tests and wrong for anything else.
# Only the export line goes to stdout; progress goes to stderr.
set -euo pipefail

state_dir=${SIFR_PG_DIR:-${TMPDIR:-/tmp}/sifr-pg-test}
first_port=${SIFR_PG_PORT:-55432}
database=sifr_test
role=sifr

say() { echo "pg-test-cluster: $*" >&2; }

find_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z $bin && $(id -u) -eq 0 ]]; then
        say "no PostgreSQL server found; installing Debian's postgresql package"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    if [[ -z $bin ]]; then
        say "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install the postgresql package)"
        exit 1
    fi
    echo "$bin"
}

# Runs a command as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url() { echo "postgres://$role@127.0.0.1:$(cat "$state_dir/port")/$database"; }

start() {
    local durable=$1 bin port
    bin=$(find_bin)
    if [[ -f $state_dir/port ]] && as_owner "$bin/pg_ctl" -D "$state_dir/data" status >/dev/null 2>&1; then
        say "already running in $state_dir"
        echo "export SIFR_TEST_DATABASE_URL=$(url)"
        return
    fi
    rm -rf "$state_dir"
    mkdir -p "$state_dir/socket"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres: "$state_dir"
        if ! runuser -u postgres -- test -x "$state_dir"; then
            say "the postgres user cannot reach $state_dir; choose another SIFR_PG_DIR"
            exit 1
        fi
    fi
    port=$first_port
    while port_in_use "$port"; do
        port=$((port + 1))
    done
    echo "$port" >"$state_dir/port"
    say "initialising a cluster in $state_dir/data"
    as_owner "$bin/initdb" -D "$state_dir/data" -U "$role" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$state_dir/initdb.log" 2>&1 ||
        { cat "$state_dir/initdb.log" >&2; exit 1; }
    local settings="-c listen_addresses=127.0.0.1 -p $port -k $state_dir/socket -c max_connections=400"
    if [[ $durable == no ]]; then
        settings+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    say "starting on 127.0.0.1:$port"
    as_owner "$bin/pg_ctl" -D "$state_dir/data" -l "$state_dir/server.log" -o "$settings" -w -t 60 start >&2 ||
        { cat "$state_dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$role" "$database"
    echo "export SIFR_TEST_DATABASE_URL=$(url)"
}

stop() {
    local bin
    if [[ ! -d $state_dir/data ]]; then
        say "no cluster in $state_dir"
        return
    fi
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$state_dir/data" -m fast -w stop >&2 || true
    rm -rf "$state_dir"
    say "stopped and removed $state_dir"
}

case ${1:-} in
    start)
        durable=no
        [[ ${2:-} == --durable ]] && durable=yes
        start "$durable"
        ;;
    stop) stop ;;
    url) url ;;
    *)
        echo "usage: $0 start [--durable] | stop | url" >&2
        exit 2
        ;;
esac
