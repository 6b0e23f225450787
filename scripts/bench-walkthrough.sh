#!/usr/bin/env bash
# The pipeline engine benchmark: the walkthrough job of the shared yardstick
# (../shared/bench/RESULTS.md) as a sifr pipeline, run by `sifr run` (release build) under
# /usr/bin/time and, with --server, end to end through `sifr serve` (upload → success → metrics
# ready; bench/walkthrough/server.py), then checked against the yardstick to the last digit.
#
# usage: scripts/bench-walkthrough.sh [--bench-dir DIR] [--work DIR] [--rows "1000000 10000000"]
#                                     [--threads N] [--audit] [--server] [--no-yardstick]
#
#   --bench-dir  the yardstick folder (gen_bills.py, factors.csv, fueltype.csv, gwp.csv,
#                walk_duckdb.py); default $SIFR_BENCH_DIR, else ../shared/bench next to the repo
#   --work       where inputs and results go (default target/bench-walkthrough); inputs are
#                generated once (seeded: the same bytes every time) and reused
#   --rows       input sizes (default "1000000 10000000")
#   --threads    evaluation threads for sifr (default: one per core)
#   --audit      also write audit records (sifr run --audit)
#   --server     also run the job through `sifr serve` on the embedded store (every row stored
#                with its history and audit record) and check the metrics it serves
#   --no-yardstick  skip running DuckDB; the totals are still checked against RESULTS.md
#
# Needs python3; the yardstick run and the table comparison need `pip install duckdb==2.0.1`.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bench_dir="${SIFR_BENCH_DIR:-$repo/../shared/bench}"
work="$repo/target/bench-walkthrough"
sizes="1000000 10000000"
threads=""
audit=""
server=0
yardstick=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bench-dir) bench_dir="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --rows) sizes="$2"; shift 2 ;;
        --threads) threads="--threads $2"; shift 2 ;;
        --audit) audit="--audit"; shift ;;
        --server) server=1; shift ;;
        --no-yardstick) yardstick=0; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
bench_dir="$(cd "$bench_dir" 2>/dev/null && pwd)" || {
    echo "the yardstick folder was not found; pass --bench-dir or set SIFR_BENCH_DIR" >&2
    exit 2
}
for f in gen_bills.py walk_duckdb.py; do
    [[ -f "$bench_dir/$f" ]] || { echo "$bench_dir has no $f" >&2; exit 2; }
done
if [[ $yardstick == 1 ]] && ! python3 -c 'import duckdb' 2>/dev/null; then
    echo "duckdb is not installed (pip install duckdb==2.0.1); use --no-yardstick to skip it" >&2
    exit 2
fi
mkdir -p "$work"

echo "== building sifr (release)"
(cd "$repo" && cargo build --release --locked -p sifr --quiet)
sifr="${CARGO_TARGET_DIR:-$repo/target}/release/sifr"

# Resources: the yardstick's reference files in the layout of docs/run.md.
resources="$work/resources"
mkdir -p "$resources/datasets" "$work/ref"
python3 "$bench_dir/gen_bills.py" 0 /dev/null --refdir "$work/ref"
cp "$work/ref/fueltype.csv" "$work/ref/gwp.csv" "$resources/datasets/"
awk -F, 'NR > 1 { printf "%s,ghg,co2,%s\n%s,ghg,ch4,%s\n%s,ghg,n2o,%s\n", $1, $2, $1, $3, $1, $4 }
         BEGIN { print "activity,impact,component,value" }' "$work/ref/factors.csv" > "$resources/impacts.csv"
cp "$repo/bench/walkthrough/metrics.json" "$resources/metrics.json"

# Runs a command under /usr/bin/time -v; sets $wall (s) and $rss (MiB).
measure() {
    local log="$1"; shift
    /usr/bin/time -v "$@" > "$log.out" 2> "$log.time" || {
        local code=$?
        cat "$log.out" "$log.time" >&2
        echo "failed (exit $code): $*" >&2
        exit 1
    }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log.time")
}

summary=()
status=0
for n in $sizes; do
    input="$work/bills_$n.csv"
    if [[ ! -s "$input" ]]; then
        echo "== generating $n rows"
        python3 "$bench_dir/gen_bills.py" "$n" "$input" --refdir "$work/ref"
    fi
    cat "$input" > /dev/null  # page cache warm, as in the yardstick's measurements

    echo "== sifr run, $n rows"
    out="$work/out_$n"
    rm -rf "$out"
    # shellcheck disable=SC2086
    measure "$work/sifr_$n" "$sifr" run --pipeline "$repo/bench/walkthrough/pipeline.json" \
        --input "$input" --resources "$resources" --out "$out" --group / $threads $audit
    cat "$work/sifr_$n.out"
    sifr_wall=$wall sifr_rss=$rss
    sifr_rate=$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
    echo "sifr: ${sifr_wall} s wall, ${sifr_rate} rows/s, peak RSS ${sifr_rss} MiB"
    line="sifr run        $n rows: ${sifr_wall} s, ${sifr_rate} rows/s, peak RSS ${sifr_rss} MiB"

    compare=(python3 "$repo/bench/walkthrough/compare.py" "$out" "$n")
    if [[ $yardstick == 1 ]]; then
        echo "== DuckDB yardstick (walk_duckdb.py, 2 threads), $n rows"
        db="$work/duck_$n.duckdb"
        measure "$work/duck_$n" python3 "$bench_dir/walk_duckdb.py" "$input" "$db" 2
        duck_rate=$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
        echo "duckdb: ${wall} s wall, ${duck_rate} rows/s, peak RSS ${rss} MiB"
        line="$line | DuckDB: ${wall} s, ${duck_rate} rows/s, ${rss} MiB"
        compare+=(--duckdb "$db")
    fi
    echo "== checking totals, $n rows"
    "${compare[@]}" || status=1
    summary+=("$line")

    if [[ $server == 1 ]]; then
        echo "== sifr serve, $n rows (upload → success → metrics ready)"
        served="$work/served_$n"
        rm -rf "$served"
        python3 "$repo/bench/walkthrough/server.py" "$sifr" "$input" "$work/ref" "$served" \
            | tee "$work/served_$n.out"
        summary+=("sifr serve      $n rows: $(grep '^upload' "$work/served_$n.out")")
        served_compare=(python3 "$repo/bench/walkthrough/compare.py" "$served" "$n")
        [[ $yardstick == 1 ]] && served_compare+=(--duckdb "$work/duck_$n.duckdb")
        echo "== checking the served totals, $n rows"
        "${served_compare[@]}" || status=1
    fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
