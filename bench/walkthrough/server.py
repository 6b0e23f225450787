#!/usr/bin/env python3
"""The walkthrough job end to end through `sifr serve`: upload → success → metrics ready.

usage: server.py SIFR_BINARY INPUT.csv REFDIR OUT_DIR [--port P] [--keep] [--database-url URL]

Starts `sifr serve` on a fresh data folder (embedded SQLite, or PostgreSQL with --database-url:
a fresh schema prefix each run), builds the walkthrough through the
HTTP API (the group tree of the input, the five fuels' emission factors, the fuel-type and GWP
tables, the `co2e` metric, bench/walkthrough/pipeline.json), creates an execution, uploads
INPUT.csv to its URL and waits for status `success` (the server computes aggregates and metrics
before it sets the final status). Prints the wall time from the start of the upload to success,
rows/s, the server's CPU time over that span and its peak RSS (VmHWM). Then reads the metric values (every group, month
and year) and the pipeline aggregates back through the API and writes them to OUT_DIR in the
layout of `sifr run --out` (metrics.csv, aggregates.csv, summary.json), so compare.py checks
them against the yardstick. Standard library only.
"""
import argparse
import csv
import decimal
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "bench-walkthrough-pw-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None, group="/", data=None, headers=None):
        h = {"accept-version": "1.0.0", "x-groupcontextid": group}
        if self.token:
            h["authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body).encode()
            h["content-type"] = "application/json"
        h.update(headers or {})
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=3600) as r:
                text = r.read()
                return json.loads(text, parse_float=decimal.Decimal) if text else None
        except urllib.error.HTTPError as e:
            sys.exit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def upload(url, path, size):
    """PUTs the file to its signed URL in 1 MiB writes (urllib sends 8 KiB at a time, which
    makes the client, not the server, the slow end of a large upload)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=3600,
                                            blocksize=1 << 20)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    with open(path, "rb") as f:
        connection.request("PUT", target, body=f,
                           headers={"content-length": str(size), "content-type": "text/csv"})
        reply = connection.getresponse()
        text = reply.read()
    connection.close()
    if reply.status >= 300:
        sys.exit(f"PUT {url}: {reply.status} {text.decode(errors='replace')}")


def cpu_seconds(pid):
    """User and system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def groups_of(input_csv):
    """Every group the input names, with its ancestors, parents first."""
    seen = set()
    with open(input_csv, newline="") as f:
        for r in csv.DictReader(f):
            g = r["group"]
            if g in seen:
                continue
            parts = g.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                seen.add("/" + "/".join(parts[:i]))
            if len(seen) >= 211:  # 10 companies x 20 subs, their parents and /usa
                break
    return sorted(seen, key=lambda g: (g.count("/"), g))


def build(api, refdir, input_csv):
    for g in groups_of(input_csv):
        parent, name = g.rsplit("/", 1)
        api.call("POST", "/accessManagement/groups", {"name": name}, group=parent or "/")
    with open(os.path.join(refdir, "factors.csv"), newline="") as f:
        for r in csv.DictReader(f):
            components = {gas: {"key": gas, "value": float(r[gas]), "type": "pollutant"}
                          for gas in ("co2", "ch4", "n2o")}
            api.call("POST", "/impacts/activities", {
                "name": r["activity"],
                "attributes": {"unit": "mmBtu"},
                "impacts": {"ghg": {"name": "ghg", "components": components}},
            })
    ids = []
    for name, headers in (("fueltype", ["fuel", "activity"]), ("gwp", ["gas", "gwp"])):
        with open(os.path.join(refdir, f"{name}.csv")) as f:
            data = f.read()
        created = api.call("POST", "/referenceDatasets/referenceDatasets", {
            "name": name, "description": name, "datasetHeaders": headers, "data": data})
        ids.append(created["id"])
    for i in ids:
        while api.call("GET", f"/referenceDatasets/referenceDatasets/{i}")["status"] != "success":
            time.sleep(0.05)
    with open(os.path.join(HERE, "metrics.json")) as f:
        for metric in json.load(f):
            api.call("POST", "/pipelines/metrics", metric)
    with open(os.path.join(HERE, "pipeline.json")) as f:
        pipeline = json.load(f)
    pipeline.pop("id", None)
    return api.call("POST", "/pipelines/pipelines", pipeline)["id"]


def read_back(api, out, pipeline_id, execution):
    os.makedirs(out, exist_ok=True)
    groups = [g["id"] for g in list_groups(api)]
    with open(os.path.join(out, "metrics.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "groupId", "timeUnit", "date", "hierarchyValue"])
        for g in groups:
            for unit in ("month", "year"):
                q = f"/pipelineProcessor/metrics?name=co2e&timeUnit={unit}&dateFrom=2020-01-01&dateTo=2024-12-31"
                for m in api.call("GET", q, group=g)["metrics"]:
                    w.writerow(["co2e", g, unit, m["date"][:10], m["hierarchyValue"]])
    with open(os.path.join(out, "aggregates.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["groupId", "date", "co2e_kg"])
        for g in groups:
            token = 0
            while True:
                q = (f"/pipelineProcessor/activities?pipelineId={pipeline_id}&showAggregate=true"
                     f"&dateFrom=2020-01-01&dateTo=2024-12-31&count=1000&fromToken={token}")
                page = api.call("GET", q, group=g)
                for a in page["activities"]:
                    w.writerow([g, a["date"][:10], a["co2e_kg"]])
                if "pagination" not in page:
                    break
                token = page["pagination"]["lastEvaluatedToken"]
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"rowsStored": execution["rows"]["rowsStored"], "status": execution["status"]}, f)


def list_groups(api):
    groups, token = [], None
    while True:
        q = "/accessManagement/groups?includeChildGroups=true&count=100"
        if token:
            q += f"&fromToken={token}"
        page = api.call("GET", q)
        groups += page["groups"]
        token = (page.get("pagination") or {}).get("lastEvaluatedToken")
        if not token:
            return [{"id": "/"}] + groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sifr")
    ap.add_argument("input")
    ap.add_argument("refdir")
    ap.add_argument("out")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the server's data folder")
    ap.add_argument("--database-url", help="run on PostgreSQL instead of the embedded store")
    a = ap.parse_args()

    data = tempfile.mkdtemp(prefix="sifr-bench-")
    port = a.port or free_port()
    env = dict(os.environ, SIFR_ADMIN_PASSWORD=PASSWORD)
    env.pop("SIFR_DATABASE_URL", None)
    log = open(os.path.join(data, "serve.log"), "w")
    command = [a.sifr, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data]
    if a.database_url:
        command += ["--database-url", a.database_url,
                    "--schema-prefix", f"bench{os.getpid()}"]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        api = Api(f"http://127.0.0.1:{port}")
        for _ in range(300):
            try:
                api.token = api.call("POST", "/auth/token", {
                    "username": "admin@sifr.example.com", "password": PASSWORD})["idToken"]
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        pipeline_id = build(api, a.refdir, a.input)
        execution = api.call("POST", f"/pipelineProcessor/pipelines/{pipeline_id}/executions", {})
        size = os.path.getsize(a.input)
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        upload(execution["inputUploadUrl"], a.input, size)
        uploaded = time.monotonic()
        path = f"/pipelineProcessor/pipelines/{pipeline_id}/executions/{execution['id']}"
        while True:
            execution = api.call("GET", path)
            if execution["status"] in ("success", "failed"):
                break
            time.sleep(0.05)
        wall = time.monotonic() - started
        cpu = cpu_seconds(server.pid) - cpu_before
        rss = peak_rss_mib(server.pid)
        if "rows" not in execution:
            sys.exit(f"the execution failed: {execution.get('statusMessage')} (see {data}/serve.log)")
        rows = execution["rows"]["rowsRead"]
        print(f"upload {uploaded - started:.2f} s; upload to {execution['status']}: {wall:.2f} s, "
              f"{rows / wall:,.0f} rows/s; server CPU {cpu:.2f} s; server peak RSS {rss:.0f} MiB")
        print(json.dumps({"wall": round(wall, 3), "rows": rows, "rss_mib": round(rss),
                          "cpu": round(cpu, 2),
                          "status": execution["status"]}))
        read_back(api, a.out, pipeline_id, execution)
    except SystemExit:
        a.keep = True
        raise
    finally:
        server.terminate()
        server.wait()
        log.close()
        if not a.keep:
            subprocess.run(["rm", "-rf", data])
        else:
            print(f"server data kept in {data}")


if __name__ == "__main__":
    main()
