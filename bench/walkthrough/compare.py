#!/usr/bin/env python3
"""Checks the walkthrough results of `sifr run` against the yardstick, to the last digit.

usage: compare.py SIFR_OUT_DIR ROWS [--duckdb DB]

SIFR_OUT_DIR is the --out folder of `sifr run` (metrics.csv, aggregates.csv, summary.json).
With --duckdb, DB is the database written by the yardstick's walk_duckdb.py for the same
input: its rollup_month and rollup_year tables (every group and ancestor, per month and per
year), its group_month table (per leaf group and month) and its activity count must equal
sifr's metric hierarchy values, pipeline aggregates and stored row count, exactly (Decimal
equality). The grand totals published in the yardstick's RESULTS.md for 1M and 10M rows are
asserted too. Exit status 1 on any mismatch.
"""
import argparse
import csv
import datetime
import json
import os
import sys
from decimal import Decimal

# RESULTS.md: grand totals and sample cells (kg CO2e) of the seeded inputs.
PUBLISHED = {
    1_000_000: {"grand": Decimal("3157008333926.074025")},
    10_000_000: {
        "grand": Decimal("31531578092645.04854"),
        "month": {("/", "2022-07-01"): Decimal("534023258754.730705"),
                  ("/usa/company3", "2021-02-01"): Decimal("48097979266.17368"),
                  ("/usa/company7/sub13", "2024-12-01"): Decimal("2593889081.7739")},
        "year": {("/usa/company1", 2020): Decimal("630163801313.90128")},
    },
}


def load_sifr(out):
    month, year = {}, {}
    with open(os.path.join(out, "metrics.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["metric"] != "co2e":
                continue
            if r["timeUnit"] == "month":
                month[(r["groupId"], r["date"])] = Decimal(r["hierarchyValue"])
            elif r["timeUnit"] == "year":
                year[(r["groupId"], int(r["date"][:4]))] = Decimal(r["hierarchyValue"])
    aggregates = {}
    with open(os.path.join(out, "aggregates.csv"), newline="") as f:
        for r in csv.DictReader(f):
            aggregates[(r["groupId"], r["date"])] = Decimal(r["co2e_kg"])
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    return summary, month, year, aggregates


def load_duckdb(path):
    import duckdb  # the yardstick's own dependency: pip install duckdb==2.0.1

    def day(d):
        return d.isoformat() if isinstance(d, (datetime.date, datetime.datetime)) else str(d)

    c = duckdb.connect(path, read_only=True)
    rows = c.execute("SELECT count(*) FROM activities").fetchone()[0]
    month = {(g, day(m)): Decimal(v) for g, m, v in
             c.execute('SELECT "group", month, co2e_kg FROM rollup_month').fetchall()}
    year = {(g, int(y)): Decimal(v) for g, y, v in
            c.execute('SELECT "group", year, co2e_kg FROM rollup_year').fetchall()}
    leaf = {(g, day(m)): Decimal(v) for g, m, v in
            c.execute('SELECT "group", month, co2e_kg FROM group_month').fetchall()}
    c.close()
    return rows, month, year, leaf


def differences(name, mine, theirs, shown=5):
    bad = [k for k in sorted(set(mine) | set(theirs), key=str) if mine.get(k) != theirs.get(k)]
    for k in bad[:shown]:
        print(f"  {name} {k}: sifr={mine.get(k)} yardstick={theirs.get(k)}")
    return len(bad)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("rows", type=int)
    ap.add_argument("--duckdb")
    a = ap.parse_args()

    summary, month, year, aggregates = load_sifr(a.out)
    grand = sum(v for (g, _), v in year.items() if g == "/")
    print(f"sifr: rows stored={summary['rowsStored']} groups={len({g for g, _ in month})} "
          f"month cells={len(month)} year cells={len(year)} grand total co2e kg={grand}")
    failures = 0
    if summary["rowsStored"] != a.rows or summary["status"] != "success":
        print(f"  expected {a.rows} rows stored and status success, got {summary['rowsStored']} "
              f"and {summary['status']}")
        failures += 1

    published = PUBLISHED.get(a.rows)
    if published:
        checks = [("grand total", grand, published["grand"])]
        checks += [(f"month {k}", month.get(k), v) for k, v in published.get("month", {}).items()]
        checks += [(f"year {k}", year.get(k), v) for k, v in published.get("year", {}).items()]
        for label, mine, theirs in checks:
            same = mine == theirs
            failures += not same
            print(f"  RESULTS.md {label}: {theirs} {'== sifr' if same else f'!= sifr {mine}'}")

    if a.duckdb:
        rows, d_month, d_year, d_leaf = load_duckdb(a.duckdb)
        bad = (rows != summary["rowsStored"]) + differences("month", month, d_month) \
            + differences("year", year, d_year) + differences("aggregate", aggregates, d_leaf)
        print(f"  DuckDB yardstick: rows={rows}, {len(d_month)} month cells, {len(d_year)} year "
              f"cells, {len(d_leaf)} leaf group-months: "
              f"{'IDENTICAL' if bad == 0 else f'{bad} DIFFERENCES'}")
        failures += bad

    print("CHECK", "OK: sifr equals the yardstick exactly" if failures == 0 else "FAILED")
    sys.exit(0 if failures == 0 else 1)


if __name__ == "__main__":
    main()
