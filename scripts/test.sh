#!/usr/bin/env bash
# Runs the whole test suite. When PostgreSQL server binaries are installed and no test database
# is configured, a private PostgreSQL cluster is started for the run (and stopped after it), so
# that the storage and server suites run against SQLite and PostgreSQL alike.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SIFR_TEST_DATABASE_URL:-}" && -x scripts/pg-test-cluster.sh ]] \
    && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    eval "$(scripts/pg-test-cluster.sh start)"
    trap 'scripts/pg-test-cluster.sh stop >/dev/null 2>&1 || true' EXIT
    echo "PostgreSQL test cluster: ${SIFR_TEST_DATABASE_URL}" >&2
fi

cargo test --workspace --locked "$@"
