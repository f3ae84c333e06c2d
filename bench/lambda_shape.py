"""Lambda-shaped runs: every API function's release binary (x86-64; the same code as the arm64
package) started as Lambda starts it, under the CPU share and memory limit its memory size gives
on Lambda, through a Runtime API emulator, with its secrets from the Secrets Manager emulator and
TLS `verify-full` to a PostgreSQL server holding a certificate of an authority of its own. For
each memory size of the sweep, and the hello-world of the same dependencies beside them:

- init: from the spawn of the process until it asks for its first event (Lambda's "Init
  Duration"): tracing, both secrets read, configuration; run with a full vCPU, as Lambda runs
  an on-demand function's init (a burst to a whole vCPU, capped at 10 s), and, at the deployed
  size only, under the memory's own share too, for the case that it does not;
- first request: the first event's duration, the TLS connection to the database included (the
  pool is lazy), under the memory's share;
- warm requests, p50 and p99 of their durations; sign-in (`POST /auth/login` at the production
  bcrypt cost) for auth;
- cost per million requests at arm64 prices (duration billed per started millisecond), and the
  sizes a balanced choice picks (AWS Lambda Power Tuning's "balanced" strategy, weight 0.5:
  least cost and mean duration, each relative to the worst size): every size within 0.02 of
  the best score is as good (the band), and the smallest of them is the choice.

The CPU share: cgroup v1 `cpu.cfs_quota_us` of `memory / 1769` of a 100 ms period (Lambda gives a
whole vCPU at 1,769 MB); the memory limit: `memory.limit_in_bytes`. Both need root.

    python3 -m bench.lambda_shape BINARY_DIR JSON_OUT [--smoke]

Writes one JSON object per function and size to JSON_OUT and prints the table; fails when a
request does not answer as it should.
"""

import argparse
import json
import math
import os
import pathlib
import statistics
import sys
import time

from tests.support import postgres, runtime_api, secrets_emulator
from tests.support.processes import Children, free_port, wait_for_port
from tests.support.runtime_api import api_event, http_response, lambda_environment
from tests.support.tokens import mint_token

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / "target" / "bench" / "lambda-shape"
# Lambda gives one vCPU at 1,769 MB, and CPU in proportion to memory below and above it.
MB_PER_VCPU = 1769
PERIOD_US = 100_000
CGROUP = "cinema-lambda-shape"
# arm64, us-east-1 (aws.amazon.com/lambda/pricing): per GB-second of duration, per request.
GB_SECOND = 0.0000133334
PER_REQUEST = 0.20 / 1e6
SIZES = [128, 256, 512, 1024, 1769, 2048]
# Balanced scores this close to the best are as good as the best (a run's noise is about this).
BAND = 0.02
DEPLOYED = {f["name"]: f["memory"] for f in json.loads((ROOT / "functions.json").read_text())}
PASSWORD = "Sweep#Pass1"
TIMEOUT = 60

processes = Children(LOG_DIR)


def log(message):
    print(message, file=sys.stderr, flush=True)


class Unlimited:
    """No limits (the smoke run where cgroups cannot be written: not root, or no cgroup v1)."""

    def __init__(self, mb):
        self.mb = mb
        self.quota = None

    def limit(self, burst=False):
        pass

    def enter(self):
        pass

    def events(self):
        return "no cgroup limits in this run"

    def remove(self):
        pass


class Share:
    """The CPU share and memory limit of a memory size: a cgroup in the cpu and memory
    hierarchies of cgroup v1."""

    def __init__(self, mb):
        self.mb = mb
        self.cpu = pathlib.Path(f"/sys/fs/cgroup/cpu/{CGROUP}/{mb}")
        self.memory = pathlib.Path(f"/sys/fs/cgroup/memory/{CGROUP}/{mb}")
        for folder in (self.cpu, self.memory):
            folder.mkdir(parents=True, exist_ok=True)
        (self.cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (self.memory / "memory.limit_in_bytes").write_text(str(mb << 20))
        self.quota = round(PERIOD_US * mb / MB_PER_VCPU)

    def limit(self, burst=False):
        """The memory's share, or (`burst`) at least a whole vCPU."""
        quota = max(self.quota, PERIOD_US) if burst else self.quota
        (self.cpu / "cpu.cfs_quota_us").write_text(str(quota))

    def enter(self):
        """Moves the calling process into both groups (run in the child before it executes)."""
        pid = str(os.getpid())
        (self.cpu / "cgroup.procs").write_text(pid)
        (self.memory / "cgroup.procs").write_text(pid)

    def events(self):
        """What the limits did so far: CPU periods throttled, times the memory limit was hit."""
        throttled = dict(line.split() for line in (self.cpu / "cpu.stat").read_text().splitlines())
        failures = (self.memory / "memory.failcnt").read_text().strip()
        return f"throttled in {throttled.get('nr_throttled')} periods, memory limit hit {failures} times"

    def remove(self):
        for folder in (self.cpu, self.memory):
            try:
                folder.rmdir()
            except OSError:
                pass


class Target:
    """A function and the request it is measured with."""

    def __init__(self, name, binary, method, path, query="", token=False):
        self.name, self.binary = name, binary
        self.method, self.path, self.query, self.token = method, path, query, token


class Bench:
    def __init__(self, bin_dir, smoke):
        self.bin_dir = pathlib.Path(bin_dir)
        self.smoke = smoke
        self.sizes = [256] if smoke else [int(mb) for mb in os.environ.get("LAMBDA_SIZES", "").split()] or SIZES
        self.rounds = 1 if smoke else int(os.environ.get("LAMBDA_ROUNDS", "5"))
        self.warm = 3 if smoke else int(os.environ.get("LAMBDA_WARM", "20"))
        self.targets = [
            Target("auth", "auth", "GET", "/users/me", token=True),
            Target("films", "films", "GET", "/films", query="limit=50"),
            Target("screenings", "screenings", "GET", "/screenings/1/seats"),
            Target("reservations", "reservations", "GET", "/reservations", token=True),
            Target("hello", "hello", "GET", "/"),
        ]

    # ------------------------------------------------------------ set-up

    def start(self):
        for target in self.targets + [Target("migrate", "migrate", "", "")]:
            if not (self.bin_dir / target.binary).exists():
                sys.exit(f"{self.bin_dir / target.binary} is missing: build the workspace's binaries first")
        self.cluster = postgres.Cluster(tls=True)
        database = f"{self.cluster.url}/cinema"
        postgres.psql(f"{self.cluster.url}/postgres", "create database cinema")
        migrate = processes.spawn([str(self.bin_dir / "migrate")], "migrate.log",
                                  {**os.environ, "DATABASE_URL": database})
        if migrate.wait(120) != 0:
            sys.exit(f"migrate failed: see {migrate.logfile}")
        processes.running.remove(migrate)
        postgres.psql(database, (ROOT / "bench" / "seed.sql").read_text())
        self.user_id = postgres.psql(database, "insert into users (username, password_hash, full_name) "
                                               "values ('lambda-shape', 'not-a-usable-hash', 'Lambda Shape') returning id")

        moto_port = free_port()
        moto = processes.spawn([str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1",
                                "-p", str(moto_port)], "moto.log")
        wait_for_port(moto_port, moto, "moto_server")
        self.moto = f"http://127.0.0.1:{moto_port}"
        secret = secrets_emulator.database_secret("cinema", port=self.cluster.port)
        self.app_arn, self.db_arn, key = secrets_emulator.app_and_database(self.moto, "lambda-shape", secret)
        self.token = mint_token(key, self.user_id)
        self.emulator = runtime_api.start({t.name: {"timeout": TIMEOUT} for t in self.targets})
        try:
            self.shares = {mb: Share(mb) for mb in self.sizes}
        except OSError as error:
            if not self.smoke:
                sys.exit(f"the Lambda-shaped runs set cgroup v1 limits, which needs root: {error}")
            log(f"smoke run without CPU and memory limits ({error})")
            self.shares = {mb: Unlimited(mb) for mb in self.sizes}

    def stop(self):
        processes.stop_all()
        if getattr(self, "emulator", None):
            self.emulator.stop()
        for share in getattr(self, "shares", {}).values():
            share.remove()
        if getattr(self, "cluster", None):
            self.cluster.stop()

    # ------------------------------------------------------------ one process

    def environment(self, target, mb):
        env = lambda_environment(self.emulator, target.name, mb, self.moto)
        env.update({
            "APP_SECRET_ARN": self.app_arn,
            "DB_SECRET_ARN": self.db_arn,
            # The functions verify the server against this authority (verify-full is their
            # default); the hello-world is told to do the same.
            "DB_SSL_ROOT_CERT": str(self.cluster.ca_file),
            "DB_SSL_MODE": "verify-full",
        })
        for name in ("BCRYPT_COST", "DB_CONNECT_AT_INIT"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        return env

    def event(self, target, method=None, path=None, body=None):
        headers = {"authorization": f"Bearer {self.token}"} if target.token else {}
        return api_event(method or target.method, path or target.path, "$default", body=body,
                         headers=headers, query=target.query if path is None else "")

    def call(self, target, event, expect, what):
        """One invocation of a live process: its duration in ms."""
        invocation = self.emulator.submit(target.name, event)
        if not invocation.done.wait(TIMEOUT):
            sys.exit(f"{what}: no answer within {TIMEOUT} s; see {LOG_DIR}")
        status, body = http_response(runtime_api._parse(invocation.payload))
        if status != expect:
            sys.exit(f"{what}: status {status}, expected {expect}: {str(body)[:300]}")
        return (invocation.done_at - invocation.taken_at) / 1e6

    def run(self, target, mb, burst, sign_in=False):
        """A new process at `mb`: (init ms, first request ms, warm ms list, sign-in ms or None)."""
        share = self.shares[mb]
        share.limit(burst=burst)
        function = self.emulator.functions[target.name]
        # Init over: the rest runs on the memory's own share.
        function.before_event = (lambda _: share.limit()) if burst else None
        first = self.emulator.submit(target.name, self.event(target))
        started = time.perf_counter_ns()
        process = processes.spawn([str(self.bin_dir / target.binary)], f"{target.name}.log",
                                  self.environment(target, mb), append=True, preexec_fn=share.enter)
        try:
            if not first.done.wait(TIMEOUT):
                state = (f"it exited with {process.returncode}" if process.poll() is not None
                         else "it is still running")
                sys.exit(f"{target.name} at {mb} MB: no first answer within {TIMEOUT} s ({state}, "
                         f"{share.events()}); see {LOG_DIR}")
            function.before_event = None
            status, body = http_response(runtime_api._parse(first.payload))
            if status != 200:
                sys.exit(f"{target.name} at {mb} MB: first request {status}: {str(body)[:300]}")
            init = (first.taken_at - started) / 1e6
            duration = (first.done_at - first.taken_at) / 1e6
            warm = [self.call(target, self.event(target), 200, f"{target.name} at {mb} MB")
                    for _ in range(self.warm)]
            signed_in = None
            if sign_in:
                signed_in = self.call(target, self.event(
                    target, "POST", "/auth/login", {"username": "sweeper", "password": PASSWORD}),
                    200, f"sign-in at {mb} MB")
            return init, duration, warm, signed_in
        finally:
            function.before_event = None
            processes.stop(process)

    # ------------------------------------------------------------ the sweep

    def register(self):
        auth = self.targets[0]
        share = self.shares[self.sizes[-1]]
        share.limit(burst=True)
        process = processes.spawn([str(self.bin_dir / "auth")], "auth.log",
                                  self.environment(auth, share.mb), append=True, preexec_fn=share.enter)
        try:
            self.call(auth, self.event(auth, "POST", "/auth/register", {
                "username": "sweeper", "password": PASSWORD, "confirm_password": PASSWORD,
                "full_name": "Memory Sweep"}), 201, "registration")
        finally:
            processes.stop(process)

    def sweep(self):
        self.register()
        # One unmeasured process of each first (page cache, the emulators' first paths).
        for target in self.targets:
            self.run(target, self.sizes[-1], burst=True)
        samples = {}
        for mb in self.sizes:
            for index in range(self.rounds):
                for target in self.targets:
                    init, first, warm, signed_in = self.run(target, mb, True, sign_in=target.name == "auth")
                    entry = samples.setdefault((target.name, mb), {"init": [], "first": [], "warm": [],
                                                                    "sign_in": [], "init_share": []})
                    entry["init"].append(init)
                    entry["first"].append(first)
                    entry["warm"].extend(warm)
                    if signed_in is not None:
                        entry["sign_in"].append(signed_in)
                    log(f"  {target.name:12} {mb:5} MB run {index + 1}: init {init:7.1f} ms, "
                        f"first {first:7.1f} ms, warm p50 {statistics.median(warm):6.2f} ms"
                        + (f", sign-in {signed_in:7.1f} ms" if signed_in is not None else ""))
        # Init under the memory's own share, at each function's deployed size.
        for index in range(self.rounds):
            for target in self.targets:
                mb = DEPLOYED.get(target.name, 256)
                if mb not in self.shares:
                    continue
                init, _, _, _ = self.run(target, mb, False)
                samples[(target.name, mb)]["init_share"].append(init)
        return samples


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)]


def cost_per_million(durations, mb):
    """Dollars per million requests of these durations at `mb` (billed per started ms)."""
    billed_ms = statistics.mean(math.ceil(d) for d in durations)
    return 1e6 * (PER_REQUEST + billed_ms / 1000 * mb / 1024 * GB_SECOND)


def summarise(samples):
    rows = []
    for (name, mb), s in samples.items():
        priced = s["sign_in"] if s["sign_in"] else s["warm"]
        rows.append({
            "function": name, "memory_mb": mb, "vcpu": round(mb / MB_PER_VCPU, 3),
            "deployed": DEPLOYED.get(name) == mb,
            "init_ms": statistics.median(s["init"]),
            "init_share_ms": statistics.median(s["init_share"]) if s["init_share"] else None,
            "first_ms": statistics.median(s["first"]),
            "warm_p50_ms": statistics.median(s["warm"]), "warm_p99_ms": percentile(s["warm"], 0.99),
            "sign_in_ms": statistics.median(s["sign_in"]) if s["sign_in"] else None,
            "priced_on": "sign-in" if s["sign_in"] else "warm request",
            "mean_ms": statistics.mean(priced),
            "cost_per_million": cost_per_million(priced, mb),
            "samples": len(s["init"]), "warm_samples": len(s["warm"]),
        })
    # Power Tuning's balanced choice: least (cost / worst cost + mean / worst mean) / 2; a size
    # within BAND of the best score is as good, and the smallest of those is chosen.
    for name in {row["function"] for row in rows}:
        mine = [row for row in rows if row["function"] == name]
        worst_cost = max(row["cost_per_million"] for row in mine)
        worst_time = max(row["mean_ms"] for row in mine)
        for row in mine:
            row["balanced_score"] = (row["cost_per_million"] / worst_cost + row["mean_ms"] / worst_time) / 2
        best_score = min(row["balanced_score"] for row in mine)
        for row in mine:
            row["in_band"] = row["balanced_score"] <= best_score + BAND
        best = min((row for row in mine if row["in_band"]), key=lambda row: row["memory_mb"])
        for row in mine:
            row["chosen"] = row is best
    hello = {row["memory_mb"]: row for row in rows if row["function"] == "hello"}
    for row in rows:
        base = hello.get(row["memory_mb"])
        row["init_vs_hello"] = row["init_ms"] / base["init_ms"] if base else None
        row["cold_vs_hello"] = ((row["init_ms"] + row["first_ms"]) / (base["init_ms"] + base["first_ms"])
                                if base else None)
    rows.sort(key=lambda row: (row["function"] == "hello", row["function"], row["memory_mb"]))
    return rows


def table(rows):
    lines = ["| function | memory | vCPU | init (burst) | init (share) | first request | cold total "
             "| vs hello | warm p50 / p99 | sign-in | $ per million | balanced |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mark = " (deployed)" if r["deployed"] else ""
        lines.append(
            f"| {r['function']} | {r['memory_mb']} MB{mark} | {r['vcpu']:.3f} | {r['init_ms']:.1f} ms | "
            + (f"{r['init_share_ms']:.1f} ms" if r["init_share_ms"] is not None else "") + " | "
            + f"{r['first_ms']:.1f} ms | {r['init_ms'] + r['first_ms']:.1f} ms | "
            + (f"{r['cold_vs_hello']:.2f} ×" if r["cold_vs_hello"] else "") + " | "
            + f"{r['warm_p50_ms']:.2f} / {r['warm_p99_ms']:.2f} ms | "
            + (f"{r['sign_in_ms']:.0f} ms" if r["sign_in_ms"] is not None else "") + " | "
            + f"{r['cost_per_million']:.4f} | " + f"{r['balanced_score']:.3f}"
            + (" **chosen**" if r["chosen"] else " (in the band)" if r["in_band"] else "")
            + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bin_dir")
    parser.add_argument("json_out")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    bench = Bench(args.bin_dir, args.smoke)
    try:
        bench.start()
        rows = summarise(bench.sweep())
    finally:
        bench.stop()
    with open(args.json_out, "w") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)
    print(table(rows))


if __name__ == "__main__":
    main()
