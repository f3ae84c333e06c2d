"""Property-based testing of the running API with Schemathesis, driven by the OpenAPI
document the docs function serves: every operation, signed in as a customer and as an admin,
with generated valid and invalid requests (and stateful sequences along the document's links).
A run fails on any 5xx; on any status, content type, header or body the document does not
describe; on invalid data accepted, a resource still there after its DELETE, a secured route
answering without a token, a method answered that the document does not list; and on fewer
than MIN_REQUESTS generated requests for any function.

Left out: Schemathesis's `positive_data_acceptance`, which expects every schema-valid request
to succeed. Rules that live in the database or the clock (ids that exist, start times in the
future, unique titles, seats not yet taken) cannot be written in JSON Schema, so a schema-valid
request may rightly get a documented 404, 409 or 422.

A run whose failures include a 500 answered by the local emulator itself (`cargo lambda watch`
answers its own `{"type": "https://httpstatuses.com/500", ...}` when it loses an invocation, a
body our functions never send: theirs is `{detail, code}`) is run again, at most twice, with
the same seed, so the same requests: a failure of the API reproduces and fails the run, the
emulator's rare lost invocation does not.

Called by tests/e2e.py while the functions run under `cargo lambda watch`.
Environment: FUZZ_MAX_EXAMPLES (test cases per operation and phase), FUZZ_SEED.
"""
import json
import os
import subprocess
import sys

# Which function serves a path: the API functions of the table of functions, by path prefix.
TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "functions.json")
with open(TABLE) as table:
    FUNCTIONS = {f["name"]: tuple(f["prefixes"]) for f in json.load(table) if f["kind"] == "api"}
EXCLUDED_CHECKS = "positive_data_acceptance"
MIN_REQUESTS = 1000


def function_of(path):
    for function, prefixes in FUNCTIONS.items():
        if any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes):
            return function
    return None


def requests_per_function(har_path):
    with open(har_path, encoding="utf-8") as handle:
        entries = json.load(handle)["log"]["entries"]
    counts = dict.fromkeys(FUNCTIONS, 0)
    for entry in entries:
        url = entry["request"]["url"]
        path = "/" + url.split("://", 1)[1].split("/", 1)[1] if "://" in url else url
        function = function_of(path)
        if function:
            counts[function] += 1
    return counts


EMULATOR_500 = "https://httpstatuses.com/500"
# Runs repeated after one the emulator failed (under the background build's load it has lost
# one invocation in a few thousand, in about one run in three).
EMULATOR_RETRIES = 2


def emulator_failed(report_dir):
    """Whether the local emulator answered a 500 of its own during the run."""
    try:
        with open(os.path.join(report_dir, "requests.har"), encoding="utf-8") as handle:
            entries = json.load(handle)["log"]["entries"]
    except (OSError, ValueError, KeyError):
        return False
    return any(e["response"]["status"] == 500 and EMULATOR_500 in e["response"].get("content", {}).get("text", "")
               for e in entries)


def explain_failure(report_dir, log_path):
    """What a failed run leaves to go on: the 5xx answers it recorded and the API's errors."""
    try:
        with open(os.path.join(report_dir, "requests.har"), encoding="utf-8") as handle:
            entries = json.load(handle)["log"]["entries"]
    except (OSError, ValueError, KeyError):
        entries = []
    for entry in [e for e in entries if e["response"]["status"] >= 500][:5]:
        text = entry["response"].get("content", {}).get("text", "")
        print(f"  {entry['startedDateTime']} {entry['request']['method']} {entry['request']['url']}"
              f" -> {entry['response']['status']}: {text[:500]}")
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            errors = [line.rstrip() for line in handle if "ERROR" in line or "panicked" in line]
    except OSError:
        errors = []
    print(f"  the last of {len(errors)} error lines of {log_path}:")
    for line in errors[-30:]:
        print(f"  | {line[:400]}")


def run(base, document, tokens, out_dir, log_path):
    """Runs Schemathesis once per (role, token) on the OpenAPI document at `document` (a
    file), against the API at `base`; returns requests per function."""
    total = dict.fromkeys(FUNCTIONS, 0)
    out_dir = os.path.abspath(out_dir)
    st = os.path.join(os.path.dirname(sys.executable), "st")
    for role, token in tokens:
        report_dir = os.path.join(out_dir, role)
        command = [
            st, "run", os.path.abspath(document), "--url", base,
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "80"),
            "--seed", os.environ.get("FUZZ_SEED", "20261123"),
            # One worker: Hypothesis parses lambdas' source with `ast`, which CPython 3.11
            # does not allow from two threads at once.
            "--workers", "1",
            "--request-timeout", "60",
            "--suppress-health-check", "all",
            "--report", "har,junit", "--report-dir", report_dir,
            "--report-har-path", os.path.join(report_dir, "requests.har"),
            "--warnings", "off",
        ]
        print(f"== schemathesis as {role}", flush=True)
        environment = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": "fuzz_hooks"}
        here = os.path.dirname(os.path.abspath(__file__))
        finished = subprocess.run(command, cwd=here, env=environment)
        for _ in range(EMULATOR_RETRIES):
            if finished.returncode == 0 or not emulator_failed(report_dir):
                break
            print(f"warn the local emulator answered a 500 of its own; schemathesis as {role} again", flush=True)
            finished = subprocess.run(command, cwd=here, env=environment)
        if finished.returncode != 0:
            explain_failure(report_dir, log_path)
            sys.exit(f"FAIL schemathesis as {role} (exit {finished.returncode}); reports in {report_dir}")
        for function, count in requests_per_function(os.path.join(report_dir, "requests.har")).items():
            total[function] += count
    for function, count in total.items():
        print(f"ok   schemathesis: {count} generated requests to {function}")
        if count < MIN_REQUESTS:
            sys.exit(f"FAIL schemathesis sent only {count} requests to {function} (at least {MIN_REQUESTS})")
    return total
