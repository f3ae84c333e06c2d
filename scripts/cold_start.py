"""Cold-start driver for scripts/cold-start.sh: do not run it alone, the shell script
prepares the database and the environment it expects.

What one sample is: a request to a function's route is already waiting at the Lambda
Runtime API emulator (`cargo lambda watch --only-lambda-apis`) when the function's release
binary is started; the cold start is the time from just before the binary is spawned to the
moment the response has been read. It covers everything a real cold start does besides the
download of the code: process start, tracing set-up, both secrets fetched from Secrets
Manager (moto here), the first database connection and the handler itself. A second request
to the same live process gives the warm latency of the same route. The process is then
stopped and the next sample starts a new one. With several functions in the plan the
samples take turns, one of each function per round.

Peak memory (with CS_LOAD_REQUESTS > 0): one more process of each function serves that
many requests back to back, as one Lambda instance does under load (an instance serves one
request at a time), and its VmHWM from /proc is read before it is stopped.

Everything it starts (moto, the emulator, the function) runs in its own process group and
is stopped on the way out, whatever happens.
"""

import http.client
import json
import os
import signal
import statistics
import sys
import threading
import time

from tests.support import processes as processes_lib
from tests.support import secrets_emulator
from tests.support.processes import Children, wait_for_port
from tests.support.tokens import mint_token

PLAN = json.loads(os.environ["CS_PLAN"])
LOAD_REQUESTS = int(os.environ.get("CS_LOAD_REQUESTS") or 0)
JSON_OUT = os.environ.get("CS_JSON")
EXPECT = int(os.environ["CS_EXPECT_STATUS"])
RUNS = int(os.environ["CS_RUNS"])
USER_ID = os.environ["CS_USER_ID"]
DB = json.loads(os.environ["CS_DB_SECRET"])
MOTO_PORT = int(os.environ["CS_MOTO_PORT"])
RUNTIME_PORT = int(os.environ["CS_RUNTIME_PORT"])
LOG_DIR = os.environ["CS_LOG_DIR"]
# How long one request may take before the sample counts as failed.
TIMEOUT = 30
# Variables of the caller's environment handed on to the function when they are set.
PASS_THROUGH = ("BCRYPT_COST", "RUST_LOG", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_LOG_FORMAT")

ENDPOINT = f"http://127.0.0.1:{MOTO_PORT}"
AWS_ENV = {
    "AWS_ENDPOINT_URL": ENDPOINT,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
}

processes = Children(LOG_DIR)


def log(message):
    print(message, file=sys.stderr, flush=True)


def spawn(argv, logfile, env=None):
    return processes.spawn(argv, logfile, env, append=True)


stop = processes.stop


def create_secrets():
    """The app secret and the database secret in moto: (app ARN, database ARN, signing key)."""
    return secrets_emulator.app_and_database(ENDPOINT, "cold-start", DB)


class Request(threading.Thread):
    """One request through the emulator, on its own connection, in the background;
    `finished` is the perf_counter_ns() at which the whole response had been read."""

    def __init__(self, target, headers):
        super().__init__(daemon=True)
        self.target = target
        self.headers = dict(headers)
        if target["body"]:
            self.headers["content-type"] = "application/json"
        self.status = None
        self.body = b""
        self.error = None
        self.sent = threading.Event()
        self.finished = None

    def run(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", RUNTIME_PORT, timeout=TIMEOUT)
            conn.request(self.target["method"], f"/lambda-url/_{self.target['route']}",
                         body=self.target["body"].encode() or None, headers=self.headers)
            self.sent.set()
            response = conn.getresponse()
            self.body = response.read()
            self.finished = time.perf_counter_ns()
            self.status = response.status
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            self.error = e
        finally:
            self.sent.set()


def check(request, what):
    request.join(TIMEOUT + 5)
    if request.is_alive() or request.error is not None:
        sys.exit(f"{what}: no response ({request.error or 'timed out'}); see {LOG_DIR}")
    if request.status != EXPECT:
        sys.exit(f"{what}: status {request.status}, expected {EXPECT}: "
                 f"{request.body[:300].decode(errors='replace')}")


def sample(target, env, headers, index):
    """One cold and one warm request against a new process; returns both in ns."""
    name = target["function"]
    cold = Request(target, headers)
    cold.start()
    cold.sent.wait(TIMEOUT)
    # The request has been written; give the emulator a moment to queue the invocation so
    # that it is truly waiting when the function asks for its first event.
    time.sleep(0.2)
    t0 = time.perf_counter_ns()
    function = spawn([target["binary"]], f"{name}.log", env)
    check(cold, f"{name} run {index}: cold request")
    cold_ns = cold.finished - t0

    warm = Request(target, headers)
    t0 = time.perf_counter_ns()
    warm.start()
    check(warm, f"{name} run {index}: warm request")
    warm_ns = warm.finished - t0

    if function.poll() is not None:
        sys.exit(f"{name} run {index}: the function exited (status {function.returncode})")
    stop(function)
    return cold_ns, warm_ns


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def load(target, env, headers):
    """Serves LOAD_REQUESTS requests back to back from one process; returns its peak RSS
    in KiB and the requests per second it served."""
    name = target["function"]
    function = spawn([target["binary"]], f"{name}.log", env)
    t0 = time.perf_counter()
    for index in range(LOAD_REQUESTS):
        request = Request(target, headers)
        request.start()
        check(request, f"{name} load request {index}")
    seconds = time.perf_counter() - t0
    if function.poll() is not None:
        sys.exit(f"{name} under load: the function exited (status {function.returncode})")
    peak = peak_rss_kib(function.pid)
    stop(function)
    return peak, LOAD_REQUESTS / seconds


def main():
    for port in (MOTO_PORT, RUNTIME_PORT):
        if processes_lib.listening(port):
            sys.exit(f"port {port} is already in use: stop what listens there or pick "
                     "another with COLD_START_MOTO_PORT / COLD_START_RUNTIME_PORT")

    moto = spawn(["moto_server", "-H", "127.0.0.1", "-p", str(MOTO_PORT)], "moto.log")
    wait_for_port(MOTO_PORT, moto, "moto_server")
    app_arn, db_arn, key = create_secrets()

    # --only-lambda-apis: the emulator serves the Runtime API and the function URLs but
    # starts no function itself; each sample starts the release binary by hand.
    watch = spawn(["cargo", "lambda", "watch", "--only-lambda-apis",
                   "-A", "127.0.0.1", "-P", str(RUNTIME_PORT)], "watch.log")
    wait_for_port(RUNTIME_PORT, watch, "cargo lambda watch")

    # The function gets a Lambda-like environment and nothing else from this shell.
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{RUNTIME_PORT}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "APP_SECRET_ARN": app_arn,
        "DB_SECRET_ARN": db_arn,
        "DB_SSL_MODE": "disable",
        **AWS_ENV,
        **{name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)},
    }
    headers = {"authorization": f"Bearer {mint_token(key, USER_ID)}"}

    # One unmeasured sample of each first: it warms the page cache, moto, PostgreSQL and
    # the emulator's own first-request paths, which a deployed function does not pay for.
    for target in PLAN:
        sample(target, env, headers, 0)
    colds = {target["function"]: [] for target in PLAN}
    warms = {target["function"]: [] for target in PLAN}
    for index in range(1, RUNS + 1):
        for target in PLAN:
            name = target["function"]
            cold_ns, warm_ns = sample(target, env, headers, index)
            colds[name].append(cold_ns / 1e6)
            warms[name].append(warm_ns / 1e6)
            log(f"  {name} run {index:2}: cold {colds[name][-1]:7.1f} ms, "
                f"warm {warms[name][-1]:6.1f} ms")

    results = []
    for target in PLAN:
        name = target["function"]
        cold, warm = colds[name], warms[name]
        cold_median, warm_median = statistics.median(cold), statistics.median(warm)
        result = {"function": name, "route": f"{target['method']} {target['route']}",
                  "runs": RUNS, "cold_median_ms": cold_median, "cold_min_ms": min(cold),
                  "cold_max_ms": max(cold), "warm_median_ms": warm_median}
        line = (f"cold start {name}: median {cold_median:.1f} ms "
                f"(min {min(cold):.1f}, max {max(cold):.1f}, n={RUNS}); "
                f"warm: median {warm_median:.1f} ms")
        if LOAD_REQUESTS:
            peak, rate = load(target, env, headers)
            result.update(peak_rss_kib=peak, load_requests=LOAD_REQUESTS, load_rps=rate)
            line += f"; peak RSS after {LOAD_REQUESTS} requests {peak / 1024:.1f} MiB"
        results.append(result)
        print(line, flush=True)
    if JSON_OUT:
        with open(JSON_OUT, "w") as out:
            out.writelines(json.dumps(result) + "\n" for result in results)


if __name__ == "__main__":
    # A SIGTERM unwinds like Ctrl-C does, so the cleanup below still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        main()
    finally:
        processes.stop_all()
