"""Property-based testing of the running API with Schemathesis, driven by the OpenAPI
document the docs function serves: every operation, signed in as a customer and as an admin,
with generated valid and invalid requests. A run fails on any 5xx, on any status, content
type, header or body the document does not describe, and on fewer than MIN_REQUESTS
generated requests for any function.

Called by tests/e2e.py while the functions run under `cargo lambda watch`.
Environment: FUZZ_MAX_EXAMPLES (test cases per operation and phase), FUZZ_SEED.
"""
import json
import os
import subprocess
import sys

# Which function serves a path, as in template.yaml and the watch router.
FUNCTIONS = {
    "auth": ("/auth/", "/users"),
    "films": ("/genres", "/films"),
    "screenings": ("/halls", "/screenings", "/tickets"),
    "reservations": ("/reservations",),
}
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])
MIN_REQUESTS = 1000


def function_of(path):
    for function, prefixes in FUNCTIONS.items():
        if path.startswith(prefixes):
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


def run(base, tokens, out_dir):
    """Runs Schemathesis once per (role, token); returns requests per function."""
    total = dict.fromkeys(FUNCTIONS, 0)
    st = os.path.join(os.path.dirname(sys.executable), "st")
    for role, token in tokens:
        report_dir = os.path.join(out_dir, role)
        command = [
            st, "run", f"{base}/openapi.json", "--url", base,
            "--header", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "120"),
            "--seed", os.environ.get("FUZZ_SEED", "20261123"),
            "--workers", "2",
            "--request-timeout", "60",
            "--suppress-health-check", "all",
            "--report", "har,junit", "--report-dir", report_dir,
            "--warnings", "off",
        ]
        print(f"== schemathesis as {role}", flush=True)
        finished = subprocess.run(command, env={**os.environ, "NO_COLOR": "1"})
        if finished.returncode != 0:
            sys.exit(f"FAIL schemathesis as {role} (exit {finished.returncode}); reports in {report_dir}")
        for function, count in requests_per_function(os.path.join(report_dir, "network.har")).items():
            total[function] += count
    for function, count in total.items():
        print(f"ok   schemathesis: {count} generated requests to {function}")
        if count < MIN_REQUESTS:
            sys.exit(f"FAIL schemathesis sent only {count} requests to {function} (at least {MIN_REQUESTS})")
    return total
