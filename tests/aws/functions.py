#!/usr/bin/env python3
"""The deploy artefacts answering real events, in every deployment mode: for each mode of cfn.MODES, every function's arm64 package
(target/lambda/<bin>/bootstrap) runs under qemu-user-static against the Lambda Runtime API
emulator (tests/support/runtime_api.py) with exactly the environment the rendered template gives it, its
intrinsics resolved to local stand-ins:

- DB secret: created mode -> the secret moto's RDS writes for create_db_cluster(...,
  ManageMasterUserPassword=True) (only username and password, as Aurora's); given-database
  mode -> an RDS-format secret (username, password, host, port, dbname) in moto;
- the proxy / cluster endpoint -> 127.0.0.1; the cluster's DatabaseName -> a local database;
- DB_SSL_MODE -> "disable" (the only override: the local server has no TLS);
- AppSecret / AdminSecret -> moto secrets of the shape their GenerateSecretString makes;
- function names (ROUTES of the fallback) -> the emulator's names.

Lambda's own variables are added (AWS_LAMBDA_*, AWS_REGION, credentials test/test,
AWS_ENDPOINT_URL for moto, AWS_ENDPOINT_URL_LAMBDA for the Invoke API of the emulator).
Then: the migrate function answers CloudFormation Create / Update / Delete at a local
ResponseURL (and finishes in time when that URL never answers), and each API function
answers an API Gateway HTTP API v2 event for a real route. One line per check, then
"aws-fidelity: N passed, M failed" (exit status 1 when M > 0).

Run by `make aws-fidelity` after `make build`. Environment (optional): PG_SERVER (default
postgres://postgres@127.0.0.1:5432, trust authentication), AWS_FIDELITY_MODES (comma list).
Logs: target/aws-fidelity/.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
LOG_DIR = ROOT / "target" / "aws-fidelity"
QEMU = "qemu-aarch64-static"
QEMU_PREFIX = "/usr/aarch64-linux-gnu"

from tests.support import processes as processes_lib
from tests.support import secrets_emulator
from tests.support.secrets_emulator import REGION
from tests.support.runtime_api import api_event, http_response, lambda_environment

processes = processes_lib.Children(LOG_DIR)
results = {"passed": 0, "failed": 0}


# ---------------------------------------------------------------- reporting

def check(name, ok, detail=""):
    """One line per check: "ok   name" or "FAIL name: detail"."""
    if ok:
        results["passed"] += 1
        print(f"ok   {name}", flush=True)
    else:
        results["failed"] += 1
        print(f"FAIL {name}: {detail}", flush=True)
    return ok


def summary(label):
    print(f"{label}: {results['passed']} passed, {results['failed']} failed", flush=True)
    return 1 if results["failed"] else 0


def short(value, limit=400):
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- processes

spawn = processes.spawn
stop = processes.stop
cleanup = processes.stop_all
free_port = processes_lib.free_port
wait_for_port = processes_lib.wait_for_port


def ensure_qemu():
    """qemu-user-static and the aarch64 glibc (Debian packages), installed when missing."""
    if shutil.which(QEMU) and os.path.exists(f"{QEMU_PREFIX}/lib/ld-linux-aarch64.so.1"):
        return
    print("installing qemu-user-static libc6-arm64-cross", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = sudo + ["apt-get", "install", "-y", "-qq", "qemu-user-static", "libc6-arm64-cross"]
    if subprocess.run(install, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True)
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL)


def binary(name):
    return ROOT / "target" / "lambda" / name / "bootstrap"


def start_moto():
    port = free_port()
    moto = spawn([str(VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], "moto.log")
    wait_for_port(port, moto, "moto_server")
    return f"http://127.0.0.1:{port}"


def boto(service, endpoint):
    return secrets_emulator.client(endpoint, service)


def start_function(binary_name, logfile, env):
    """The arm64 package under qemu-user-static, as Lambda would start it."""
    return spawn([QEMU, "-L", QEMU_PREFIX, str(binary(binary_name))], logfile, env=env)


# ---------------------------------------------------------------- the rendered environment

class Unresolved(Exception):
    pass


def resolve(value, markers):
    """A rendered environment value with its intrinsics replaced by local stand-ins:
    `markers` maps "Ref:X" / "GetAtt:X.Attr" / Sub variable names ("X", "X.Attr",
    "AWS::Region") to strings. Anything else raises Unresolved."""
    if isinstance(value, (str, int, float, bool)):
        return str(value) if not isinstance(value, bool) else str(value).lower()
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            if f"Ref:{arg}" in markers:
                return markers[f"Ref:{arg}"]
        elif key == "Fn::GetAtt":
            name = f"GetAtt:{arg[0]}.{arg[1]}" if isinstance(arg, list) else f"GetAtt:{arg}"
            if name in markers:
                return markers[name]
        elif key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def substitute(match):
                var = match.group(1)
                if var in variables:
                    return resolve(variables[var], markers)
                if f"Sub:{var}" in markers:
                    return markers[f"Sub:{var}"]
                raise Unresolved(f"${{{var}}} in {short(value, 120)}")

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    raise Unresolved(short(value, 200))


def our_error(body, code=None):
    """Our error body: {"detail": str, "code": str, ...}."""
    return (isinstance(body, dict) and isinstance(body.get("detail"), str)
            and isinstance(body.get("code"), str) and (code is None or body["code"] == code))


# ---------------------------------------------------------------- the checks

from tests.support import cfn, postgres
from tests.support import routes as route_selection
from tests.support import runtime_api

PG_SERVER = os.environ.get("PG_SERVER", "postgres://postgres@127.0.0.1:5432")
API_FUNCTIONS = [f["logical_id"] for f in cfn.TABLE if f["kind"] != "migrate"]


def psql(sql, db="postgres", server=PG_SERVER):
    return postgres.psql(f"{server}/{db}", sql)


def migrate_with_cargo(db, server=PG_SERVER):
    """The schema through the migrate crate's own code (local mode)."""
    env = dict(os.environ, DATABASE_URL=f"{server}/{db}", SQLX_OFFLINE="true")
    for key in ("AWS_LAMBDA_RUNTIME_API", "DB_SECRET_ARN", "APP_SECRET_ARN", "ADMIN_SECRET_ARN"):
        env.pop(key, None)
    done = subprocess.run(["cargo", "run", "-q", "--bin", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cargo run --bin migrate failed on {db}: {done.stderr[-2000:]}")


def generated_secret(spec, markers):
    """A secret value of the shape GenerateSecretString makes (a JSON template plus one
    generated key)."""
    import secrets as random
    import string

    template = resolve(spec.get("SecretStringTemplate", "{}"), markers)
    exclude = set(spec.get("ExcludeCharacters", ""))
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    alphabet = "".join(c for c in alphabet if c not in exclude)
    length = int(spec.get("PasswordLength", 32))
    while True:
        value = "".join(random.choice(alphabet) for _ in range(length))
        if not spec.get("RequireEachIncludedType") or (
                any(c.islower() for c in value) and any(c.isupper() for c in value)
                and any(c.isdigit() for c in value)
                and (spec.get("ExcludePunctuation") or any(not c.isalnum() for c in value))):
            break
    document = json.loads(template)
    document[spec["GenerateStringKey"]] = value
    return document


def select_route(routes, method, path):
    """The route an HTTP API selects for `method path` among `routes` ((route key, target)
    pairs): (route key, target, path parameters), or None. A greedy route here never takes an
    empty remainder (the fallback function serves that case either way)."""
    targets = dict(routes)
    key = route_selection.select_route(list(targets), method, path, empty_proxy=False)
    return None if key is None else (key, targets[key], route_selection.parameters(key, path))


class ResponseUrl:
    """A local stand-in for CloudFormation's pre-signed S3 response URL: records every PUT."""

    def __init__(self):
        import http.server
        import threading

        self.puts = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with outer.arrived:
                    outer.puts.append((self.path, body, time.monotonic()))
                    outer.arrived.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        # And one that accepts connections and never answers.
        self.silent = socket.socket()
        self.silent.bind(("127.0.0.1", 0))
        self.silent.listen(16)

    def url(self, path):
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}?X-Amz-Signature=local"

    def silent_url(self, path):
        return f"http://127.0.0.1:{self.silent.getsockname()[1]}{path}?X-Amz-Signature=local"

    def wait(self, path, seconds, process=None):
        """The PUT at `path` (document, arrival time), or (None, None) after `seconds` or
        once `process` has exited."""
        deadline = time.monotonic() + seconds
        with self.arrived:
            while True:
                for put in self.puts:
                    if put[0].split("?")[0] == path:
                        return json.loads(put[1] or b"{}"), put[2]
                left = deadline - time.monotonic()
                if left <= 0 or (process is not None and process.poll() is not None):
                    return None, None
                self.arrived.wait(min(left, 0.5))

    def close(self):
        self.server.shutdown()
        self.silent.close()


class Mode:
    """One deployment mode: its rendered template, secrets, database and processes."""

    def __init__(self, mode, moto, emulator, responses):
        self.mode, self.moto, self.emulator, self.responses = mode, moto, emulator, responses
        self.rendered = cfn.render(mode)
        self.routes = cfn.routes(self.rendered)
        self.db = f"cinema_aws_{mode}"
        self.names = {lid: f"{mode}-{binary}" for lid, binary in cfn.FUNCTIONS.items()}
        self.processes = {}
        self.sensitive = []
        self.env = {}

    def present(self, logical_id):
        resource = self.rendered["Resources"].get(logical_id)
        return resource is not None and resource["Type"] == "AWS::Lambda::Function"

    def prepare(self):
        """Database, secrets and markers; returns the markers."""
        psql(f'drop database if exists "{self.db}" with (force)')
        psql(f'create database "{self.db}"')
        sm = boto("secretsmanager", self.moto)
        params = self.rendered.get("ParameterValues", {})
        markers = {f"Sub:{k}": (",".join(v) if isinstance(v, list) else v) for k, v in params.items()}
        markers.update({f"Sub:{k}": v for k, v in cfn.PSEUDO.items()})
        for lid, name in self.names.items():
            markers[f"Ref:{lid}"] = markers[f"Sub:{lid}"] = name
            markers[f"GetAtt:{lid}.Arn"] = markers[f"Sub:{lid}.Arn"] = \
                f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        for lid, resource in self.rendered["Resources"].items():
            if resource["Type"] == "AWS::SecretsManager::Secret":
                spec = resource["Properties"].get("GenerateSecretString")
                value = generated_secret(spec, markers) if spec else {}
                self.sensitive += [v for v in value.values() if isinstance(v, str) and len(v) >= 16]
                if lid == "AdminSecret":
                    self.admin = value
                arn = secrets_emulator.create(sm, f"{self.mode}-{lid}", value)
                markers[f"Ref:{lid}"] = arn
            elif resource["Type"] == "AWS::RDS::DBCluster":
                cluster = boto("rds", self.moto).create_db_cluster(
                    DBClusterIdentifier=f"cinema-{self.mode}-{time.time_ns()}",
                    Engine=resource["Properties"]["Engine"], MasterUsername="postgres",
                    ManageMasterUserPassword=True, DatabaseName=self.db)["DBCluster"]
                arn = cluster["MasterUserSecret"]["SecretArn"]
                self.db_secret = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
                self.sensitive.append(self.db_secret["password"])
                # Whatever user the managed secret names (moto writes "admin" whatever
                # MasterUsername says) must exist here: it owns the database and may create
                # roles, as Aurora's master user does (trust authentication: the password is
                # not checked).
                self.owner = self.db_secret.get("username", "postgres")
                if self.owner != "postgres":
                    psql(f"do $$ begin if not exists (select from pg_roles where rolname = '{self.owner}') "
                         f"then create role \"{self.owner}\" login; end if; end $$")
                    psql(f'alter role "{self.owner}" createrole')
                    psql(f'alter database "{self.db}" owner to "{self.owner}"')
                markers["GetAtt:DatabaseCluster.MasterUserSecret.SecretArn"] = arn
                markers["GetAtt:DatabaseCluster.Endpoint.Address"] = "127.0.0.1"
                markers["GetAtt:DatabaseCluster.Endpoint.Port"] = "5432"
                self.cluster_db_name = resource["Properties"].get("DatabaseName")
            elif resource["Type"] == "AWS::RDS::DBProxy":
                markers[f"GetAtt:{lid}.Endpoint"] = "127.0.0.1"
        given = cfn.MODES[self.mode].get("DatabaseSecretArn")
        if given:
            host, port = PG_SERVER.rsplit("@", 1)[1].rsplit(":", 1)
            self.db_secret = secrets_emulator.database_secret(
                self.db, host=host, port=port, password="Given#" + os.urandom(8).hex())
            self.sensitive.append(self.db_secret["password"])
            self.given_arn = given
            self.given_local = secrets_emulator.create(sm, f"{self.mode}-given-db", self.db_secret)
        self.markers = markers

    def environment(self, logical_id):
        """(environment, problems) of one function."""
        rendered_env = cfn.function_environment(self.rendered, logical_id)
        env, problems = {}, []
        for key, value in rendered_env.items():
            if key == "DB_SSL_MODE":
                env[key] = "disable"  # the local server has no TLS
                continue
            if value == getattr(self, "given_arn", None):
                env[key] = self.given_local
                continue
            if key == "DB_NAME" and value and value == getattr(self, "cluster_db_name", None):
                env[key] = self.db  # the created cluster's database, here a local one
                continue
            try:
                env[key] = resolve(value, self.markers)
            except Unresolved as error:
                problems.append(f"{key}: cannot stand in for {error}")
        return env, problems

    def start(self):
        for lid in cfn.FUNCTIONS:
            if not self.present(lid):
                continue
            props = cfn.function(self.rendered, lid)["Properties"]
            name = self.names[lid]
            self.emulator.add(name, int(props.get("Timeout", 3)), int(props.get("MemorySize", 128)))
            env, problems = self.environment(lid)
            if problems:
                check(f"{self.mode}: {lid} environment resolves", False, "; ".join(problems))
                continue
            self.env[lid] = env
            if not binary(cfn.FUNCTIONS[lid]).exists():
                check(f"{self.mode}: {lid} package exists", False,
                      f"{binary(cfn.FUNCTIONS[lid]).relative_to(ROOT)} is missing (make build)")
                continue
            full = dict(lambda_environment(self.emulator, name, props.get("MemorySize", 128),
                                           self.moto, props.get("LoggingConfig")), **env)
            self.processes[lid] = start_function(cfn.FUNCTIONS[lid], f"{self.mode}-{cfn.FUNCTIONS[lid]}.log", full)

    def invoke(self, lid, event, timeout=None):
        """(payload, error, problem): problem is a string when there was no answer."""
        if lid not in self.processes:
            return None, None, "not started"
        process = self.processes[lid]
        function = self.emulator.functions[self.names[lid]]
        invocation = self.emulator.submit(self.names[lid], event)
        deadline = time.monotonic() + (timeout or function.timeout + 5)
        while not invocation.done.wait(0.25):
            if time.monotonic() > deadline or process.poll() is not None:
                init = self.emulator.init_errors(self.names[lid])
                state = f"exited with {process.returncode}" if process.poll() is not None else "still running"
                taken = "taken" if invocation.taken.is_set() else "never fetched"
                return None, None, (f"no answer (event {taken}, process {state}); init errors {short(init)}; "
                                    f"log {tail(process)}")
        return runtime_api._parse(invocation.payload), invocation.error, None

    def request(self, lid, what, method, path, expect, predicate=None, **kwargs):
        name = f"{self.mode}: {cfn.FUNCTIONS[lid]} {method} {path} -> {expect}{' ' + what if what else ''}"
        route = select_route(self.routes, method, path)
        if route is None or route[1] != lid:
            return check(name, False, f"API Gateway would route it to {route}, not {lid}"), None
        event = api_event(method, path, route[0], route[2] or None, **kwargs)
        payload, error, problem = self.invoke(lid, event)
        if problem:
            return check(name, False, problem), None
        if error is not None:
            return check(name, False, f"function error {short(error)}; log {tail(self.processes[lid])}"), None
        status, body = http_response(payload)
        if status != expect:
            return check(name, False, f"status {status}: {short(body)}; log {tail(self.processes[lid])}"), body
        if predicate is not None:
            verdict = predicate(body)
            if verdict is not True:
                return check(name, False, f"{verdict or 'unexpected body'}: {short(body)}"), body
        return check(name, True), body

    def stop(self):
        for process in self.processes.values():
            stop(process)


def tail(process, lines=4):
    try:
        text = process.logfile.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return short(" | ".join(text[-lines:]), 600)


def custom_resource_event(mode, kind, url, physical=None, code_version="1"):
    token = f"arn:aws:lambda:{REGION}:123456789012:function:{mode.names['MigrateFunction']}:live"
    properties = {"ServiceToken": token, "CodeVersion": code_version}
    custom = next((r for r in mode.rendered["Resources"].values()
                   if r["Type"].startswith("Custom::") or r["Type"] == "AWS::CloudFormation::CustomResource"), None)
    if custom and "ServiceTimeout" in custom["Properties"]:
        properties["ServiceTimeout"] = str(custom["Properties"]["ServiceTimeout"])
    event = {
        "RequestType": kind, "ServiceToken": token, "ResponseURL": url,
        "StackId": cfn.PSEUDO["AWS::StackId"], "RequestId": f"{kind.lower()}-{time.time_ns()}",
        "LogicalResourceId": "SchemaMigration", "ResourceType": "Custom::SchemaMigration",
        "ResourceProperties": properties,
    }
    if physical:
        event["PhysicalResourceId"] = physical
    if kind == "Update":
        event["OldResourceProperties"] = dict(properties, CodeVersion=str(int(code_version) - 1))
    return event


def migrate_checks(mode, silent=False):
    """Create, Update, Delete through the migrate package; True when Create succeeded."""
    lid = "MigrateFunction"
    if lid not in mode.processes:
        return False
    timeout = int(cfn.function(mode.rendered, lid)["Properties"].get("Timeout", 3))
    physical, created = None, False
    for kind, version in (("Create", "1"), ("Update", "2"), ("Delete", "2")):
        path = f"/{mode.mode}/{kind.lower()}"
        event = custom_resource_event(mode, kind, mode.responses.url(path), physical, version)
        started = time.monotonic()
        invocation = mode.emulator.submit(mode.names[lid], event)
        answer, at = mode.responses.wait(path, timeout, mode.processes[lid])
        name = f"{mode.mode}: migrate answers CloudFormation {kind} with SUCCESS within its {timeout} s"
        if answer is None:
            invocation.done.wait(5)
            check(name, False, f"no PUT at the ResponseURL; invocation {'done: ' + short(invocation.payload or b'') if invocation.done.is_set() else 'still running'}; "
                               f"log {tail(mode.processes[lid])}")
            continue
        ok = answer.get("Status") == "SUCCESS" and answer.get("RequestId") == event["RequestId"] \
            and answer.get("StackId") == event["StackId"] and answer.get("LogicalResourceId") == "SchemaMigration"
        if physical and ok and answer.get("PhysicalResourceId") != physical:
            ok, answer["Reason"] = False, f"PhysicalResourceId changed from {physical} (CloudFormation would replace and delete)"
        check(name, ok, f"{answer.get('Status')} after {at - started:.1f} s: {short(answer.get('Reason') or answer)}")
        physical = physical or answer.get("PhysicalResourceId")
        invocation.done.wait(10)
        created = created or (kind == "Create" and ok)
    if silent:
        # A response URL that never answers: the function still finishes within its timeout.
        event = custom_resource_event(mode, "Delete", mode.responses.silent_url("/never"), physical, "2")
        started = time.monotonic()
        invocation = mode.emulator.submit(mode.names[lid], event)
        finished = invocation.done.wait(timeout + 2)
        check(f"{mode.mode}: migrate finishes within its {timeout} s when the ResponseURL never answers",
              finished, f"still running after {time.monotonic() - started:.0f} s")
        if finished:
            print(f"     (gave up answering after {time.monotonic() - started:.1f} s)", flush=True)
    return created


def api_checks(mode):
    suffix = os.urandom(3).hex()
    username, password = f"aws_{mode.mode}_{suffix}", "Aws#Fidelity-" + os.urandom(6).hex()
    mode.sensitive.append(password)
    registration = {"username": username, "password": password, "confirm_password": password,
                    "full_name": "Aws Fidelity"}
    mode.request("AuthFunction", "", "POST", "/auth/register", 201,
                 lambda b: True if isinstance(b, dict) and b.get("username") == username else "not the new user",
                 body=registration)
    mode.request("AuthFunction", "without a token, our body", "GET", "/users/me", 401,
                 lambda b: True if our_error(b) else "not our {detail, code} body")
    _, tokens = mode.request("AuthFunction", "", "POST", "/auth/login", 200,
                             lambda b: True if isinstance(b, dict) and b.get("access_token") else "no access_token",
                             form={"grant_type": "password", "username": username, "password": password})
    if isinstance(tokens, dict) and tokens.get("access_token"):
        mode.sensitive += [tokens["access_token"], tokens.get("refresh_token", "")]
    mode.request("FilmsFunction", "", "GET", "/films", 200,
                 lambda b: True if isinstance(b, dict) and "items" in b else "no items")
    mode.request("ScreeningsFunction", "9 halls", "GET", "/halls", 200,
                 lambda b: True if len(b if isinstance(b, list) else (b or {}).get("items", [])) == 9
                 else "not the 9 halls of the migrations")
    mode.request("ReservationsFunction", "without a token, our body", "GET", "/reservations", 401,
                 lambda b: True if our_error(b) else "not our {detail, code} body")
    mode.request("DocsFunction", "", "GET", "/openapi.json", 200,
                 lambda b: True if isinstance(b, dict) and "openapi" in b else "no openapi key")
    before = len(mode.emulator.invoke_log)
    mode.request("FallbackFunction", "forwarded to films through the Invoke API", "GET", "/genres/", 200,
                 lambda b: True if isinstance(b, dict) and "items" in b else "not the genres list")
    forwarded = mode.emulator.invoke_log[before:]
    check(f"{mode.mode}: fallback signs its Invoke call (SigV4) and names the films function",
          any(name == mode.names["FilmsFunction"] and (auth or "").startswith("AWS4-HMAC-SHA256 Credential=test/")
              and "/lambda/aws4_request" in (auth or "") for name, auth in forwarded),
          f"Invoke API calls seen: {short(forwarded)}")
    # The payments function answers a call; the application secret holds no provider key here.
    payload, error, problem = mode.invoke("PaymentsFunction", {"call": "get_intent", "id": "pi_1"})
    check(f"{mode.mode}: payments answers a call (no provider key: unavailable)",
          problem is None and error is None and payload == {"error": {"kind": "unavailable"}},
          problem or short(error or payload))
    mode.request("FallbackFunction", "our body", "GET", "/nope", 404,
                 lambda b: True if our_error(b) else "not our {detail, code} body")


def after_checks(mode):
    if not mode.processes:
        return
    for lid, process in mode.processes.items():
        name = mode.names[lid]
        init = mode.emulator.init_errors(name)
        alive = process.poll() is None
        check(f"{mode.mode}: {cfn.FUNCTIONS[lid]} reported no init error and is still running",
              not init and alive, f"init errors {short(init)}; {'running' if alive else f'exited {process.returncode}'}; log {tail(process)}")
    logs = "".join(p.logfile.read_text(errors="replace") for p in mode.processes.values())
    leaked = [s[:4] + "…" for s in mode.sensitive if s and s in logs]
    check(f"{mode.mode}: the functions' logs hold none of {len(mode.sensitive)} passwords, keys or tokens",
          not leaked, f"found {leaked}")
    check(f"{mode.mode}: no function ran in local mode", "local mode" not in logs, "a log says local mode")


def main():
    ensure_qemu()
    modes = [m for m in os.environ.get("AWS_FIDELITY_MODES", ",".join(cfn.MODES)).split(",") if m]
    psql("select 1")
    template_db = "cinema_aws_template"
    psql(f'drop database if exists "{template_db}" with (force)')
    psql(f'create database "{template_db}"')
    migrate_with_cargo(template_db)
    moto = start_moto()
    emulator = runtime_api.start({})
    responses = ResponseUrl()
    try:
        for index, name in enumerate(modes):
            print(f"== mode {name}", flush=True)
            mode = Mode(name, moto, emulator, responses)
            mode.prepare()
            mode.start()
            try:
                if not migrate_checks(mode, silent=index == 0):
                    # The API checks need the schema: take it from the migrated template.
                    psql(f'drop database if exists "{mode.db}" with (force)')
                    psql(f'create database "{mode.db}" template "{template_db}"')
                    if getattr(mode, "owner", "postgres") != "postgres":
                        psql(f'grant pg_read_all_data, pg_write_all_data to "{mode.owner}"')
                api_checks(mode)
                after_checks(mode)
            finally:
                mode.stop()
    finally:
        responses.close()
        emulator.stop()
        cleanup()
    return summary("aws-fidelity")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    finally:
        cleanup()
