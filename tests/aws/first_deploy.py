"""The README's first deploy, as a newcomer runs it: `make deploy` on a machine with nothing
but (here, not even) AWS credentials, in a terminal, pressing Enter at every prompt. It must get
as far as asking AWS, and fail only because there are no credentials: never stop at a question
(SAM's guided deploy asks, per function without an authorizer, "has no authentication. Is this
okay? [y/N]", whose default aborts), and never abort.

Runs after `make build` (make test's AWS-fidelity step): `make deploy` then only lays out the
packages and calls SAM.
"""
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

from tests.support.template import ROOT

PROMPT = re.compile(rb"(\?|\[y/N\]|\[Y/n\]|: ?)\s*$")
REFUSALS = [b"Security Constraints Not Satisfied", b"Aborted", b"has no authentication"]
REACHED_AWS = [b"Unable to locate credentials", b"NoCredentialsError", b"InvalidClientTokenId"]


def run(timeout=600):
    """`make deploy` in a pseudo-terminal; Enter at every prompt. (exit code, output, prompts)."""
    # No AWS configuration at all: no variables, and configuration and credential files that do
    # not exist. HOME stays: the build's linker wrappers live under it, and another HOME would
    # rebuild every package.
    nowhere = tempfile.mkdtemp(prefix="cinema-newcomer-")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.path.join(nowhere, "config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(nowhere, "credentials"),
               SAM_CLI_TELEMETRY="0", TERM="xterm")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(["make", "--no-print-directory", "deploy"], cwd=ROOT, env=env,
                               stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True)
    os.close(terminal)
    output, prompts, deadline = b"", 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if PROMPT.search(output[-200:]) and process.poll() is None:
                prompts += 1
                os.write(controller, b"\n")
        elif process.poll() is not None:
            break
    # The terminal may close a little before the process has exited.
    try:
        return process.wait(timeout=max(1.0, deadline - time.monotonic())), output, prompts
    except subprocess.TimeoutExpired:
        process.kill()
        return None, output, prompts


def migrate_remote_waits_once():
    """`make migrate-remote` invokes once and waits as long as the function may run: no retry,
    a read timeout past the migrate function's own timeout (failures, or an empty list)."""
    from scripts import migrate_remote

    config = migrate_remote.lambda_client("us-east-1").meta.config
    failures = []
    if config.retries.get("total_max_attempts") != 1:
        failures.append(f"make migrate-remote may retry: {config.retries}")
    if not config.read_timeout > migrate_remote.TIMEOUT:
        failures.append(f"make migrate-remote stops waiting after {config.read_timeout} s, before the function's "
                        f"{migrate_remote.TIMEOUT} s")
    return failures


def main():
    code, output, prompts = run()
    tail = output[-3000:].decode(errors="replace")
    failures = []
    if code is None:
        failures.append("make deploy did not finish within 10 minutes")
    for refusal in REFUSALS:
        if refusal in output:
            failures.append(f"make deploy stopped short of AWS: {refusal.decode()!r}")
    if not any(marker in output for marker in REACHED_AWS):
        failures.append("make deploy never got as far as asking AWS (no credentials error)")
    if prompts:
        failures.append(f"make deploy asked {prompts} question(s); a first deploy needs no answers")
    failures += migrate_remote_waits_once()
    for failure in failures:
        print("FAIL", failure)
    if failures:
        print(tail)
    else:
        print("ok   first deploy: make deploy asked nothing and went as far as AWS's credentials check")
        print("ok   make migrate-remote invokes once and waits longer than the migrate function may run")
    print(f"first deploy: {0 if failures else 1} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
