"""The table of `make bench`: every figure next to its limit, measured in the same run.

    python3 bench/report.py RESULTS_DIR [--smoke]

Reads the JSON the benchmark scripts wrote into RESULTS_DIR and prints Markdown: the
machine, then one row per figure with its limit, the ratio and whether the target is met,
then the statement count of every endpoint. With --smoke the figures come from a run too
short to mean anything; the table is printed all the same, to show that nothing is missing.
"""

import json
import os
import pathlib
import platform
import subprocess
import sys

from bench import lambda_shape

# The API functions, from the table of functions.
API_FUNCTIONS = [f["name"] for f in json.loads((pathlib.Path(__file__).resolve().parents[1] / "functions.json").read_text())
                 if f["kind"] == "api"]

MIB = 1024 * 1024


def load(directory, name):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: that benchmark did not run")
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        memory_kib = int(info.readline().split()[1])
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    cores = os.cpu_count()
    load1, load5, _ = os.getloadavg()
    return (f"{cores} cores ({cpu}), {memory_kib / MIB:.0f} GiB, Linux {platform.release()}, "
            f"{rustc}; load average at the end {load1:.1f} (1 min), {load5:.1f} (5 min)")


class Table:
    def __init__(self):
        self.rows = []
        self.misses = []

    def add(self, figure, value, limit, ratio, target, ok):
        self.rows.append((figure, value, limit, ratio, target, "pass" if ok else "**MISS**"))
        if not ok:
            self.misses.append(figure)

    def markdown(self):
        lines = ["| figure | measured | limit (same run) | ratio | target | result |",
                 "|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def cold_starts(table, directory):
    rows = {row["function"]: row for row in load(directory, "coldstart.json")}
    hello = rows["hello"]
    for function in API_FUNCTIONS:
        row = rows[function]
        ratio = row["cold_median_ms"] / hello["cold_median_ms"]
        table.add(f"cold start `{function}` ({row['route']}), median of {row['runs']}",
                  f"{row['cold_median_ms']:.1f} ms",
                  f"hello {hello['cold_median_ms']:.1f} ms",
                  f"{ratio:.2f} ×", "≤ 1.3 ×", ratio <= 1.3)
    return rows


def per_request(table, directory):
    for row in load(directory, "requests.json"):
        ratio = row["router_us"] / row["bare_us"]
        how = "mean latency" if row["connections"] == 1 else "1 / throughput"
        how += f", median of {row.get('runs_each', 2)} runs each"
        failures = f"; {row['failures']} failed requests" if row["failures"] else ""
        table.add(f"server time per request, {row['name']}, c={row['connections']} ({how})",
                  f"{row['router_us']:.0f} µs ({row['router_rps']:.0f}/s){failures}",
                  f"bare axum + sqlx {row['bare_us']:.0f} µs ({row['bare_rps']:.0f}/s)",
                  f"{ratio:.2f} ×", "≤ 1.25 ×", ratio <= 1.25 and not row["failures"])


def statements(table, directory):
    rows = load(directory, "statements.json")
    reads = [row for row in rows if row["method"] == "GET"]
    bookings = [row for row in rows if row["method"] == "POST" and row["route"] == "/reservations"]
    worst_read = max(reads, key=lambda row: row["data_statements"])
    table.add(f"SQL statements per request, every read ({len(reads)} endpoints): the most",
              f"{worst_read['data_statements']} ({worst_read['method']} {worst_read['route']})",
              "1", f"{worst_read['data_statements']:.0f} ×", "≤ 2",
              worst_read["data_statements"] <= 2)
    for row in bookings:
        control = (f" + {row['transaction_control']} transaction control"
                   if row["transaction_control"] else "")
        table.add(f"SQL statements per request, POST /reservations, {row['case']}",
                  f"{row['data_statements']}{control}", "1",
                  f"{row['data_statements']:.0f} ×", "≤ 4", row["data_statements"] <= 4)
    return rows


def booking(table, directory):
    row = load(directory, "booking.json")[0]
    ok = row["rps"] >= 500 and row["booked_twice"] == 0 and not row["errors"]
    table.add(f"booking throughput, distinct seats, c={row['connections']}",
              f"{row['rps']:.0f}/s ({row['non2xx']} non-2xx, {row['booked_twice']} seats booked twice)",
              "Python reference 50/s", f"{row['rps'] / 50:.1f} ×", "≥ 500/s", ok)


def logins(table, directory):
    for row in load(directory, "logins.json"):
        kept = row["reads_with_logins_rps"] / row["reads_alone_rps"]
        where = ("auth and films on separate cores (separate Lambda instances)"
                 if row["placement"] == "pinned" else "both servers sharing both cores")
        table.add(f"reads (GET /films/{{id}}) kept while 4 logins run, bcrypt cost "
                  f"{row['bcrypt_cost']}, {where}",
                  f"{row['reads_with_logins_rps']:.0f}/s (logins {row['logins_rps']:.1f}/s)",
                  f"reads alone {row['reads_alone_rps']:.0f}/s",
                  f"{100 * kept:.0f} %", "≥ 80 %", kept >= 0.8)


def concurrency(table, directory):
    runs = {row["run"]: row for row in load(directory, "concurrency.json")}
    sale = runs["flash"]
    once = sale["seats_sold"] == sale["distinct_seats_sold"] == sale["seats"]
    table.add(f"flash sale: {sale['customers']} customers for {sale['seats']} seats, 1-4 each, "
              f"{sale['processes']} processes (pool 2)",
              f"{sale['distinct_seats_sold']} seats sold once, {sale['server_errors']} × 5xx; "
              f"p99 {sale['p99_ms']:.0f} ms; {sale['bookings_per_s']:.0f} bookings/s, "
              f"{sale['seats_per_s']:.0f} seats/s",
              "every seat once", "-", "70 once, 0 × 5xx", once and sale["server_errors"] == 0)
    storm = runs["storm"]
    ok = storm["failure_count"] == 0 and storm["recovered_s"] is not None and storm["max_ms"] < 10_000
    table.add(f"connection storm: {storm['processes']} processes (pool 2) against max_connections "
              f"{storm['max_connections']}",
              f"{storm['ok_200']} × 200, {storm['unavailable_503']} × 503 + Retry-After, "
              f"{storm['failure_count']} other; max {storm['max_ms'] / 1000:.1f} s; recovered in "
              f"{storm['recovered_s']} s",
              "function timeout 10 s", "-", "2xx or 503, none hung", ok)


def memory(table, cold):
    hello = cold["hello"]["peak_rss_kib"]
    for function in API_FUNCTIONS:
        row = cold[function]
        peak = row["peak_rss_kib"]
        ratio = peak / hello
        table.add(f"peak RSS `{function}` after {row['load_requests']} requests "
                  f"({row['route']}, {row['load_rps']:.0f}/s)",
                  f"{peak / 1024:.1f} MiB", f"hello {hello / 1024:.1f} MiB",
                  f"{ratio:.2f} ×", "≤ 1.5 ×, ≤ 32 MiB",
                  ratio <= 1.5 and peak <= 32 * 1024)


def sizes(table, directory, smoke):
    if smoke:
        table.add("release arm64 binary and zip size", "not measured (smoke run: no arm64 build)",
                  "hello", "-", "≤ 1.3 ×", True)
        return
    rows = {row["function"]: row for row in load(directory, "sizes.json")}
    hello = rows["hello"]
    for function in API_FUNCTIONS:
        row = rows[function]
        binary = row["binary_bytes"] / hello["binary_bytes"]
        zipped = row["zip_bytes"] / hello["zip_bytes"]
        table.add(f"release arm64 binary / zip `{function}`",
                  f"{row['binary_bytes'] / MIB:.2f} / {row['zip_bytes'] / MIB:.2f} MiB",
                  f"hello {hello['binary_bytes'] / MIB:.2f} / {hello['zip_bytes'] / MIB:.2f} MiB",
                  f"{binary:.2f} / {zipped:.2f} ×", "≤ 1.3 ×", max(binary, zipped) <= 1.3)


def endpoint_table(rows):
    lines = ["| function | endpoint | case | status | data statements | transaction control | limit "
             "| database CPU |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        limit = f"≤ {row['limit']}" if row["limit"] is not None else "-"
        lines.append(f"| {row['function']} | {row['method']} {row['route']} | {row['case']} | "
                     f"{row['status']} | {row['data_statements']} | {row['transaction_control']} | {limit} "
                     f"| {row['db_cpu_ms']:.3f} ms |")
    return "\n".join(lines)


# The database's bill: CPU per request on five years of data (bench/scale.sh, large set), against
# limits taken from the Python reference measured side by side (issue figures: its film list
# cost 1.328 ms of database CPU for 200 films, its sign-in 0.54 ms).
DATABASE_TARGETS = [
    ("GET /films?limit=100", 0.5 * 1.328 / 200 * 100,
     "≤ 0.5 × the reference's per film (1.328 ms / 200 films)"),
    ("GET /screenings (not ended)", 1.0, "≤ 1 ms per page"),
    ("GET /screenings?from=&to= (one day)", 1.0, "≤ 1 ms per page"),
    ("GET /screenings?film_id=", 1.0, "≤ 1 ms per page"),
    ("GET /screenings/{id}", 1.0, "≤ 1 ms"),
    ("POST /auth/login (a customer signs in)", 1.0, "≤ 1 ms"),
    ("POST /reservations (1 seat)", 1.25, "≤ 1.25 ms"),
]


def database_bill(table, directory):
    path = os.path.join(directory, "scale.json")
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: that benchmark did not run")
    with open(path) as scale:
        rows = {row["request"]: row for row in json.load(scale)}
    for request, limit, target in DATABASE_TARGETS:
        row = rows[request]
        cpu = row["large_db_cpu_ms"]
        table.add(f"database CPU per request, `{request}`, five years of data",
                  f"{cpu:.3f} ms", f"{limit:.3f} ms", f"{cpu / limit:.2f} ×", target, cpu <= limit)


def lambda_shaped(table, directory):
    """Cold starts as deployed (memory size, CPU share, TLS) against the hello-world at the same
    size, sign-in at auth's size, and whether each deployed size is the sweep's choice."""
    rows = load(directory, "lambda_shape.json")
    by = {(row["function"], row["memory_mb"]): row for row in rows}
    for function in API_FUNCTIONS:
        deployed = [row for row in rows if row["function"] == function and row["deployed"]]
        if not deployed:
            continue
        row = deployed[0]
        hello = by[("hello", row["memory_mb"])]
        cold, base = row["init_ms"] + row["first_ms"], hello["init_ms"] + hello["first_ms"]
        table.add(f"cold start as deployed `{function}` at {row['memory_mb']} MB "
                  f"(init + first request, TLS to the database), median of {row['samples']}",
                  f"{row['init_ms']:.1f} + {row['first_ms']:.1f} ms",
                  f"hello {hello['init_ms']:.1f} + {hello['first_ms']:.1f} ms",
                  f"{cold / base:.2f} ×", "≤ 1.3 ×", cold / base <= 1.3)
        chosen = next(r for r in rows if r["function"] == function and r["chosen"])
        band = ", ".join(f"{r['memory_mb']}" for r in rows if r["function"] == function and r["in_band"])
        table.add(f"memory size of `{function}` (balanced score of the sweep, priced on {chosen['priced_on']})",
                  f"{row['memory_mb']} MB (score {row['balanced_score']:.3f})",
                  f"sweep's choice {chosen['memory_mb']} MB; within {lambda_shape.BAND} of the best: {band} MB",
                  "-", "in the band", row["in_band"])
        if row["sign_in_ms"] is not None:
            table.add(f"sign-in at `{function}`'s {row['memory_mb']} MB, bcrypt cost 12",
                      f"{row['sign_in_ms']:.0f} ms", "-", "-", "(reported)", True)
    return rows


def main():
    directory = sys.argv[1]
    smoke = "--smoke" in sys.argv[2:]
    table = Table()
    cold = cold_starts(table, directory)
    per_request(table, directory)
    endpoint_rows = statements(table, directory)
    booking(table, directory)
    logins(table, directory)
    concurrency(table, directory)
    memory(table, cold)
    sizes(table, directory, smoke)
    database_bill(table, directory)
    shaped = lambda_shaped(table, directory)

    if smoke:
        print("SMOKE RUN: debug binaries and tiny durations; these figures measure nothing.\n")
    print(f"Machine: {machine()}\n")
    print(table.markdown())
    print()
    print("SQL statements of every endpoint (data statements; BEGIN/COMMIT/savepoints apart):\n")
    print(endpoint_table(endpoint_rows))
    print()
    print("Lambda-shaped runs, every function at every memory size of the sweep:\n")
    print(lambda_shape.table(shaped))
    print()
    if table.misses:
        print(f"{len(table.misses)} of {len(table.rows)} figures miss their target.")
    else:
        print(f"All {len(table.rows)} figures meet their target.")


if __name__ == "__main__":
    main()
