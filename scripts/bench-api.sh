#!/usr/bin/env bash
# Load benchmark of the server's access-management API, on SQLite and on PostgreSQL.
#
#   scripts/bench-api.sh [--clients N] [--seconds S] [--backend sqlite|postgres|both]
#
# Builds sifr and the load generator (crates/api/examples/load.rs) in release mode, starts
# `sifr serve` on a free loopback port for each backend, drives GET and POST on groups and users
# with many concurrent clients, prints requests/s and p50/p99 latency, and stops the server.
# PostgreSQL: uses $SIFR_BENCH_DATABASE_URL if set, else starts a private durable cluster with
# scripts/pg-test-cluster.sh (in its own folder and port) and stops it afterwards; it is measured
# with synchronous_commit on and off.
# The server and the load generator share the machine, so the figures are for both together.
set -euo pipefail

clients=64
seconds=10
backend=both
while [[ $# -gt 0 ]]; do
    case $1 in
        --clients) clients=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --backend) backend=$2; shift 2 ;;
        *) echo "usage: $0 [--clients N] [--seconds S] [--backend sqlite|postgres|both]" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d "${TMPDIR:-/tmp}/sifr-bench.XXXXXX")
# The PostgreSQL cluster below runs as another user and must reach its folder in here.
chmod 0755 "$work"
server_pid=
started_cluster=

cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n $started_cluster ]]; then
        SIFR_PG_DIR=$work/pg "$root/scripts/pg-test-cluster.sh" stop || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "building (release)..." >&2
(cd "$root" && cargo build --release -q -p sifr --bin sifr && cargo build --release -q -p sifr-api --example load)
sifr=$target/release/sifr
load=$target/release/examples/load

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

bench() {
    local name=$1; shift
    local port password=bench-pass1
    port=$(free_port)
    SIFR_ADMIN_PASSWORD=$password RUST_LOG=warn "$sifr" serve --listen "127.0.0.1:$port" \
        --admin-email bench@example.com "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo
    echo "== $name"
    "$load" --url "http://127.0.0.1:$port" --username bench@example.com --password "$password" \
        --clients "$clients" --seconds "$seconds"
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

echo "machine: $(nproc) cores, $(uname -sr)"

if [[ $backend == sqlite || $backend == both ]]; then
    bench sqlite --data-dir "$work/data"
fi

if [[ $backend == postgres || $backend == both ]]; then
    url=${SIFR_BENCH_DATABASE_URL:-}
    if [[ -z $url ]]; then
        export SIFR_PG_DIR=$work/pg SIFR_PG_PORT=56432
        started_cluster=yes
        exports=$("$root/scripts/pg-test-cluster.sh" start --durable)
        eval "$exports"
        url=${SIFR_TEST_DATABASE_URL:?the PostgreSQL cluster did not start}
    fi
    # Durable commits (an fsync per transaction), then commits acknowledged before they reach
    # the disk, which matches the embedded store's WAL mode with synchronous=NORMAL.
    bench "postgres, synchronous_commit=on" --database-url "$url" --schema-prefix "bench$$"
    separator='?'
    [[ $url == *\?* ]] && separator='&'
    bench "postgres, synchronous_commit=off" --database-url "${url}${separator}options=-c%20synchronous_commit%3Doff" \
        --schema-prefix "benchasync$$"
fi
