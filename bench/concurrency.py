"""Two concurrency runs against the functions' real Routers served over loopback
(`cinema-bench-serve`), each process with its own small pool, as Lambda instances are.

flash  300 customers at once for the 70 seats of one screening, 1-4 seats each, through 8
       reservations processes (pool 2 each). A customer whose seats are taken reads the seat map
       again and tries other free seats, until they have bought or the screening is sold out.
       Every seat must be sold exactly once and no answer may be a 5xx; prints p50/p99 of the
       bookings and the throughput next to the seats sold.
storm  60 screenings processes (pool 2 each: 120 connections wanted) against a private
       PostgreSQL cluster that admits 50, two clients per process reading seat maps. Every request must
       get an answer within the function's timeout: a 200, or a 503 with our error body and
       `Retry-After`. Then load drops to a third of the processes, and all of them must answer
       200 again; prints how long that took.

    python3 bench/concurrency.py <bin_dir> <pg_server> <out.json> [--smoke]

Needs the migrate and cinema-bench-serve binaries in bin_dir, and PostgreSQL's server binaries
(initdb, pg_ctl) for the private cluster.
"""
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

from tests.support.processes import Children, free_port, wait_for_port
from tests.support.postgres import Cluster, psql
from tests.support.tokens import mint_token

KEY = "benchmark-signing-key-0123456789-abcdef"
FUNCTION_TIMEOUT = 10.0  # seconds, as in template.yaml
LOG_DIR = os.path.join("target", "bench", "concurrency")


def fresh_database(bin_dir, server, name):
    psql(f"{server}/postgres", f'drop database if exists "{name}" with (force)')
    psql(f"{server}/postgres", f'create database "{name}"')
    url = f"{server}/{name}"
    env = dict(os.environ, DATABASE_URL=url, BCRYPT_COST="4")
    done = subprocess.run([os.path.join(bin_dir, "migrate")], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"migrate failed on {url}: {done.stderr[-2000:]}")
    return url


def screening_with_seats(url, starts_in):
    """A film and its screening in hall 1 (7 x 10 seats) starting `starts_in` from now; its id."""
    return psql(url, f"""
        insert into films (title, age_rating, duration_minutes, release_year) values ('Premiere', 'PG', 120, 2026);
        with s as (
            insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
            select 1, 1, now() + interval '{starts_in}', now() + interval '{starts_in}' + interval '2 hours', 12
            returning id
        ), t as (
            insert into tickets (screening_id, row_number, seat_number)
            select s.id, r, n from s, generate_series(1, 7) r, generate_series(1, 10) n
        )
        select id from s""").splitlines()[-1]


def serve(children, bin_dir, function, count, url, extra_env):
    """`count` processes serving `function`, each with its own pool; their ports."""
    env = dict(os.environ, DATABASE_URL=url, JWT_SECRET=KEY, RUST_LOG="warn",
               DB_POOL_MAX_CONNECTIONS="2", DB_ACQUIRE_TIMEOUT_SECONDS="3", **extra_env)
    started = []
    for i in range(count):
        port = free_port()
        process = children.spawn([os.path.join(bin_dir, "cinema-bench-serve"), function, f"127.0.0.1:{port}"],
                                 f"{function}-{i}.log", env=env)
        started.append((port, process))
    for port, process in started:
        wait_for_port(port, process, f"{function} process on {port}")
    return [port for port, _ in started]


class Client:
    """One keep-alive HTTP connection to one process."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def call(self, method, path, body=None, token=None):
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=FUNCTION_TIMEOUT + 5)
            start = time.monotonic()
            try:
                self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            elapsed = time.monotonic() - start
            payload = json.loads(raw) if raw else None
            return response.status, payload, response.getheader("retry-after"), elapsed
        raise AssertionError("unreachable")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


# ---------------------------------------------------------------- flash sale


def flash(bin_dir, server, customers, booking_processes, children):
    url = fresh_database(bin_dir, server, "cinema_bench_flash")
    screening = screening_with_seats(url, "2 days")
    ids = psql(url, f"""
        insert into users (username, password_hash, full_name)
        select 'fan_' || i, 'not a hash', 'Flash Customer' from generate_series(1, {customers}) i
        returning id""").split()
    tokens = [mint_token(KEY, int(i)) for i in ids]
    booking_ports = serve(children, bin_dir, "reservations", booking_processes, url, {})
    seat_ports = serve(children, bin_dir, "screenings", booking_processes, url, {})

    barrier = threading.Barrier(customers + 1)
    lock = threading.Lock()
    bookings, statuses, bought, failures = [], {}, [0], []

    def customer(n):
        rng = random.Random(n)
        booker, seats = Client(booking_ports[n % len(booking_ports)]), Client(seat_ports[n % len(seat_ports)])
        wanted = rng.randint(1, 4)
        barrier.wait()
        while True:
            status, free, _, _ = seats.call("GET", f"/screenings/{screening}/seats?status=free")
            if status != 200:
                with lock:
                    failures.append(f"seat map: {status} {free}")
                return
            if not free:
                return
            pick = [s["ticket_id"] for s in rng.sample(free, min(wanted, len(free)))]
            status, body, _, elapsed = booker.call("POST", "/reservations", {"ticket_ids": pick}, tokens[n])
            with lock:
                bookings.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    bought[0] += len(pick)
                elif status != 409 or body.get("code") not in ("seats_taken",):
                    failures.append(f"booking: {status} {body}")
            if status != 409:
                return

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(customers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.monotonic()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - start
    active, distinct, reservations = psql(url, f"""
        select count(*), count(distinct ri.ticket_id), count(distinct r.id)
        from reservation_items ri join reservations r on r.id = ri.reservation_id
        where r.screening_id = {screening} and ri.active""").split("|")
    result = {
        "customers": customers, "processes": booking_processes, "seats": 70,
        "seats_sold": int(active), "distinct_seats_sold": int(distinct), "reservations": int(reservations),
        "seats_in_201s": bought[0], "bookings": len(bookings), "statuses": {str(k): v for k, v in statuses.items()},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500), "failures": failures[:5],
        "p50_ms": round(percentile(bookings, 50) * 1000, 1), "p99_ms": round(percentile(bookings, 99) * 1000, 1),
        "max_ms": round(max(bookings, default=0) * 1000, 1), "wall_s": round(wall, 3),
        "bookings_per_s": round(len(bookings) / wall, 1), "seats_per_s": round(int(active) / wall, 1),
    }
    print(f"flash sale: {customers} customers, {booking_processes} processes (pool 2): "
          f"{result['seats_sold']} of 70 seats sold ({result['distinct_seats_sold']} distinct) in "
          f"{result['reservations']} reservations; {len(bookings)} bookings in {wall:.2f} s "
          f"({result['bookings_per_s']}/s, {result['seats_per_s']} seats/s); "
          f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms; statuses {statuses}")
    ok = (result["seats_sold"] == 70 == result["distinct_seats_sold"] == result["seats_in_201s"]
          and result["server_errors"] == 0 and not failures)
    return ok, result


# ---------------------------------------------------------------- connection storm


def storm(bin_dir, processes, clients, seconds, idle_timeout, children):
    cluster = Cluster(settings={"max_connections": 50})
    try:
        return storm_on(bin_dir, cluster.url, processes, clients, seconds, idle_timeout, children)
    finally:
        children.stop_all()
        cluster.stop()


def storm_on(bin_dir, server, processes, clients, seconds, idle_timeout, children):
    url = fresh_database(bin_dir, server, "cinema")
    screening = screening_with_seats(url, "1 day")
    ports = serve(children, bin_dir, "screenings", processes, url, {"DB_IDLE_TIMEOUT_SECONDS": str(idle_timeout)})
    path = f"/screenings/{screening}/seats"
    lock = threading.Lock()
    answers = {"200": 0, "503": 0}
    latencies, failures = [], []
    stop_at = time.monotonic() + seconds

    def client(n):
        # Two clients per process, each waiting for its answer before the next request: every
        # process wants both connections of its pool.
        port = ports[n % len(ports)]
        conn = Client(port)
        while time.monotonic() < stop_at:
            try:
                status, body, retry_after, elapsed = conn.call("GET", path)
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    failures.append(f"no answer from {port}: {error}")
                continue
            with lock:
                latencies.append(elapsed)
                if elapsed > FUNCTION_TIMEOUT:
                    failures.append(f"{port} answered after {elapsed:.1f} s")
                if status == 200:
                    answers["200"] += 1
                elif status == 503 and isinstance(body, dict) and body.get("code") == "service_unavailable" \
                        and retry_after:
                    answers["503"] += 1
                else:
                    failures.append(f"{port}: {status} {body} (Retry-After {retry_after})")

    peak = [0]
    # Opened before the storm: once it starts, no new session gets a slot.
    watcher = subprocess.Popen(["psql", "-XAtq", f"{server}/postgres"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    watcher.stdin.write("select 1;\n")
    watcher.stdin.flush()
    if watcher.stdout.readline().strip() != "1":
        sys.exit("the connection watcher could not connect")

    def watch_connections():
        while time.monotonic() < stop_at:
            watcher.stdin.write("select count(*) from pg_stat_activity where backend_type = 'client backend';\n")
            watcher.stdin.flush()
            peak[0] = max(peak[0], int(watcher.stdout.readline()))
            time.sleep(0.25)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=watch_connections))
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    storm_s = time.monotonic() - start
    watcher.stdin.close()
    watcher.wait()

    # Load drops: a third of the processes stay in use, one request each per round.
    survivors = ports[: max(1, processes // 3)]
    dropped = time.monotonic()
    recovered_s = None
    rounds = 0
    while time.monotonic() - dropped < idle_timeout + 30:
        rounds += 1
        statuses = []
        for port in survivors:
            status, _, _, _ = Client(port).call("GET", path)
            statuses.append(status)
        if all(status == 200 for status in statuses):
            recovered_s = time.monotonic() - dropped
            break
        if any(status not in (200, 503) for status in statuses):
            failures.append(f"after the storm: {statuses}")
            break
        time.sleep(0.5)
    total = answers["200"] + answers["503"]
    result = {
        "processes": processes, "pool": 2, "max_connections": 50, "clients": clients, "seconds": round(storm_s, 1),
        "answers": total, "ok_200": answers["200"], "unavailable_503": answers["503"],
        "peak_connections": peak[0], "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1), "max_ms": round(max(latencies, default=0) * 1000, 1),
        "failures": failures[:5], "failure_count": len(failures), "idle_timeout_s": idle_timeout,
        "recovered_s": None if recovered_s is None else round(recovered_s, 1), "recovery_processes": len(survivors),
    }
    print(f"connection storm: {processes} processes (pool 2) against max_connections 50, {clients} clients, "
          f"{storm_s:.1f} s: {total} answers, {answers['200']} x 200 and {answers['503']} x 503 with Retry-After, "
          f"{len(failures)} other; peak {peak[0]} connections; p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms (timeout {FUNCTION_TIMEOUT:.0f} s); "
          + (f"{len(survivors)} processes all answer 200 again {recovered_s:.1f} s after the load drops "
             f"(pool idle timeout {idle_timeout} s)" if recovered_s is not None else "no recovery"))
    ok = not failures and recovered_s is not None and answers["200"] > 0
    return ok, result


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    bin_dir, server, out = sys.argv[1:4]
    smoke = "--smoke" in sys.argv[4:]
    children = Children(LOG_DIR)
    try:
        flash_ok, flash_result = flash(bin_dir, server, 30 if smoke else 300, 2 if smoke else 8, children)
        children.stop_all()
        processes = 8 if smoke else 60
        storm_ok, storm_result = storm(bin_dir, processes, 2 * processes, 1 if smoke else 10,
                                       2 if smoke else 5, children)
    finally:
        children.stop_all()
    with open(out, "w", encoding="utf-8") as handle:
        for run, result in (("flash", flash_result), ("storm", storm_result)):
            handle.write(json.dumps({"run": run, **result}) + "\n")
    if not (flash_ok and storm_ok):
        sys.exit(f"FAIL concurrency: flash {'ok' if flash_ok else 'failed'}, storm {'ok' if storm_ok else 'failed'};"
                 f" logs in {LOG_DIR}")


if __name__ == "__main__":
    main()
