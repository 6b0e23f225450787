#!/usr/bin/env bash
# Benchmark of reference datasets: a 1 million row dataset created through the API, indexed,
# then read by LOOKUP.
#
#   scripts/bench-datasets.sh [--rows N]
#
# Builds sifr in release mode, starts `sifr serve` (SQLite) on a free loopback port, writes a
# CSV of N rows (default 1,000,000; columns code,name,category,factor), creates a dataset with
# `datasetSource: s3` and PUTs the file to its upload URL, polls until the dataset is
# `success`, then dry-runs a calculation whose formula is a LOOKUP in the dataset (the first
# LOOKUP builds the word index of the key column; the second probes it). Prints the CSV size,
# the upload and indexing times, both LOOKUP times (each a whole HTTP dry run), and the server's
# resident memory: before the upload, after indexing, and its peak (VmHWM).
set -euo pipefail

rows=1000000
while [[ $# -gt 0 ]]; do
    case $1 in
        --rows) rows=$2; shift 2 ;;
        *) echo "usage: $0 [--rows N]" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d "${TMPDIR:-/tmp}/sifr-datasets.XXXXXX")
server_pid=

cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "building (release)..." >&2
(cd "$root" && cargo build --release -q -p sifr --bin sifr)
sifr=$target/release/sifr

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
password=bench-pass1
SIFR_ADMIN_PASSWORD=$password RUST_LOG=warn "$sifr" serve --listen "127.0.0.1:$port" \
    --admin-email bench@example.com --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "machine: $(nproc) cores, $(uname -sr)"
python3 - "$port" "$password" "$server_pid" "$rows" "$work/data.csv" <<'EOF'
import json, sys, time, urllib.request

port, password, pid, rows, path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
base = f"http://127.0.0.1:{port}"

def memory(field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0

def call(method, path, body=None, token=None, query=""):
    headers = {"accept-version": "1.0.0", "content-type": "application/json", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path + query, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None

with open(path, "w") as out:
    out.write("code,name,category,factor\n")
    for i in range(rows):
        out.write(f"C{i:07d},Product {i} of line {i % 977},category {i % 131},{(i % 1000) / 7:.4f}\n")
size = __import__("os").path.getsize(path)

token = call("POST", "/auth/token", {"username": "bench@example.com", "password": password})["idToken"]
created = call("POST", "/referenceDatasets/referenceDatasets",
               {"name": "products", "datasetSource": "s3",
                "datasetHeaders": ["code", "name", "category", "factor"]}, token)
before = memory("VmRSS")

start = time.perf_counter()
with open(path, "rb") as body:
    upload = urllib.request.Request(created["uploadUrl"], data=body, method="PUT",
                                    headers={"content-type": "text/csv", "content-length": str(size)})
    urllib.request.urlopen(upload).read()
uploaded = time.perf_counter()
while True:
    dataset = call("GET", f"/referenceDatasets/referenceDatasets/{created['id']}", token=token)
    if dataset["status"] != "inProgress":
        break
    time.sleep(0.01)
indexed = time.perf_counter()
assert dataset["status"] == "success", dataset
after_indexing = memory("VmRSS")

def lookup(key):
    body = {"name": "factor_of", "summary": "s", "formula": "LOOKUP(:code,'products','code','factor')",
            "parameters": [{"index": 0, "key": "code", "description": "d", "type": "string"}],
            "outputs": [{"name": "factor", "description": "d", "type": "number"}],
            "dryRunOptions": {"data": [{"code": key}]}}
    start = time.perf_counter()
    result = call("POST", "/calculations/calculations", body, token, "?dryRun=true")
    return time.perf_counter() - start, result["data"]

last = rows - 1
first_time, first = lookup(f"C{last:07d}")
second_time, second = lookup(f"C{rows // 2:07d}")
expected = [round((last % 1000) / 7, 4), round(((rows // 2) % 1000) / 7, 4)]
assert abs(float(first[0]) - expected[0]) < 1e-9 and abs(float(second[0]) - expected[1]) < 1e-9, (first, second)

print(f"rows:                      {rows:,}")
print(f"CSV size:                  {size / 1048576:.1f} MiB")
print(f"upload (PUT, loopback):    {uploaded - start:.2f} s")
print(f"upload -> success:         {indexed - uploaded:.2f} s")
print(f"first LOOKUP (dry run):    {first_time * 1000:.0f} ms  -> {first[0]} (expected {expected[0]})")
print(f"second LOOKUP (dry run):   {second_time * 1000:.0f} ms  -> {second[0]} (expected {expected[1]})")
print(f"server RSS before upload:  {before:.0f} MiB")
print(f"server RSS after indexing: {after_indexing:.0f} MiB")
print(f"server RSS after LOOKUPs:  {memory('VmRSS'):.0f} MiB")
print(f"server peak RSS (VmHWM):   {memory('VmHWM'):.0f} MiB = {memory('VmHWM') * 1048576 / size:.1f} x the CSV")
EOF
