#!/usr/bin/env python3
"""Password rotation with a warm instance.

A private PostgreSQL cluster with password authentication (scram-sha-256) holds the schema;
its role's password is in an RDS-format secret in moto. The auth function's arm64 package
runs under qemu-user-static against the Runtime API emulator, with the created-mode
environment of the rendered template (DB_HOST/DB_PORT -> this cluster, DB_SSL_MODE ->
disable: the cluster has no TLS). After a registration and a sign-in, the password is
rotated as Secrets Manager's rotation does it (ALTER ROLE, then put_secret_value), and the
role's backends are terminated, standing for the pool's connections being recycled (a thawed
instance). Then 20 sign-ins in a row go to the same process: at most one 503 (with our body),
the rest 200, the process never restarted, and its log holds neither password.

Environment (optional): ROTATION_PG_PORT (default 5491), ROTATION_BCRYPT_COST (default: the
template's value).
"""
import json
import os
import signal
import sys
import time

from tests.support import cfn, postgres
from tests.aws import functions as host
from tests.support import runtime_api
from tests.aws.functions import check
from tests.support import secrets_emulator

PORT = int(os.environ.get("ROTATION_PG_PORT", "5491"))
ROLE, DB = "cinema_rotation", "cinema"
SIGN_INS = 20


def sign_in(emulator, process, routes, username, password, timeout=30):
    route = host.select_route(routes, "POST", "/auth/login")
    event = host.api_event("POST", "/auth/login", route[0], route[2] or None,
                           form={"grant_type": "password", "username": username, "password": password})
    invocation = emulator.submit("auth", event)
    deadline = time.monotonic() + timeout
    while not invocation.done.wait(0.25):
        if time.monotonic() > deadline or process.poll() is not None:
            return None, f"no answer (process {'exited' if process.poll() is not None else 'running'})"
    if invocation.error is not None:
        return None, f"function error {host.short(invocation.error)}"
    return host.http_response(runtime_api._parse(invocation.payload))


def main():
    host.ensure_qemu()
    if not host.binary("auth").exists():
        check("rotation: the auth package exists", False, "target/lambda/auth/bootstrap is missing (make build)")
        return host.summary("aws-fidelity rotation")
    old, new = "Old#" + os.urandom(8).hex(), "New#" + os.urandom(8).hex()
    emulator = cluster = None
    try:
        cluster = postgres.Cluster(password="Super" + os.urandom(8).hex(), port=PORT)
        superuser = cluster.url
        # It owns the database and creates roles, as the cluster's master user does.
        host.psql(f"create role {ROLE} login createrole password '{old}'", server=superuser)
        host.psql(f"create database {DB} owner {ROLE}", server=superuser)
        host.migrate_with_cargo(DB, server=f"postgres://{ROLE}:{old.replace('#', '%23')}@127.0.0.1:{PORT}")

        moto = host.start_moto()
        sm = host.boto("secretsmanager", moto)
        app_secret, db_secret, _ = secrets_emulator.app_and_database(
            moto, "rotation", secrets_emulator.database_secret(DB, port=PORT, username=ROLE, password=old))

        rendered = cfn.render("create")
        routes = cfn.routes(rendered)
        props = cfn.function(rendered, "AuthFunction")["Properties"]
        # The secret the API functions log in with (a created database: the API role's), rotated
        # below under the warm instance.
        markers = {
            "Ref:AppSecret": app_secret,
            "Ref:ApiDatabaseSecret": db_secret,
            "GetAtt:DatabaseCluster.MasterUserSecret.SecretArn": db_secret,
            "GetAtt:DatabaseCluster.Endpoint.Address": "127.0.0.1",
            "GetAtt:DatabaseProxy.Endpoint": "127.0.0.1",
        }
        env = {}
        for key, value in cfn.function_environment(rendered, "AuthFunction").items():
            if key == "DB_SSL_MODE":
                env[key] = "disable"  # the private cluster has no TLS
            elif key == "DB_PORT":
                env[key] = str(PORT)  # the proxy's port, here the private cluster's
            elif key == "DB_NAME":
                env[key] = DB
            else:
                env[key] = host.resolve(value, markers)
        if os.environ.get("ROTATION_BCRYPT_COST"):
            env["BCRYPT_COST"] = os.environ["ROTATION_BCRYPT_COST"]
        timeout = int(props.get("Timeout", 10))
        emulator = runtime_api.start({"auth": {"timeout": timeout, "memory": props.get("MemorySize", 128)}})
        full = dict(host.lambda_environment(emulator, "auth", props.get("MemorySize", 128), moto,
                                            props.get("LoggingConfig")), **env)
        process = host.start_function("auth", "rotation-auth.log", full)
        pid = process.pid

        username, password = "rot_" + os.urandom(3).hex(), "Rot#User-" + os.urandom(6).hex()
        route = host.select_route(routes, "POST", "/auth/register")
        payload, error = emulator.invoke("auth", host.api_event(
            "POST", "/auth/register", route[0], route[2] or None,
            body={"username": username, "password": password, "confirm_password": password,
                  "full_name": "Rota Tion"}), timeout + 20)
        status, body = host.http_response(payload)
        check("rotation: register -> 201", status == 201, f"{status}: {host.short(body)} {error or ''} log {host.tail(process)}")
        status, body = sign_in(emulator, process, routes, username, password)
        if not check("rotation: sign in before the rotation -> 200", status == 200,
                     f"{status}: {host.short(body)}; log {host.tail(process)}"):
            return host.summary("aws-fidelity rotation")

        # The rotation, as Secrets Manager's single-user rotation does it: the database first,
        # then the secret; and the instance's connections are gone (a thawed instance).
        host.psql(f"alter role {ROLE} password '{new}'", server=superuser)
        sm.put_secret_value(SecretId=db_secret, SecretString=json.dumps({
            "engine": "postgres", "username": ROLE, "password": new, "host": "127.0.0.1", "port": PORT,
            "dbname": DB}))
        host.psql(f"select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = '{ROLE}'",
                  server=superuser)

        statuses, bad = [], []
        for index in range(SIGN_INS):
            status, body = sign_in(emulator, process, routes, username, password)
            statuses.append(status)
            if status == 503 and not host.our_error(body, "service_unavailable"):
                bad.append(f"#{index} 503 without our body: {host.short(body)}")
            elif status not in (200, 503):
                bad.append(f"#{index} {status}: {host.short(body)}")
        unavailable = statuses.count(503)
        check(f"rotation: {SIGN_INS} sign-ins after the rotation -> at most one 503, the rest 200",
              unavailable <= 1 and not bad and statuses.count(200) == SIGN_INS - unavailable,
              f"statuses {statuses}; {'; '.join(bad[:3])}")
        print(f"     statuses after the rotation: {statuses}", flush=True)
        check("rotation: the same process served them all (never restarted, no init error)",
              process.poll() is None and process.pid == pid and not emulator.init_errors("auth")
              and emulator.polls("auth") >= 1,
              f"exited {process.returncode}; init errors {emulator.init_errors('auth')}")
        log = process.logfile.read_text(errors="replace")
        check("rotation: the function's log holds neither the old nor the new password",
              old not in log and new not in log and password not in log, "a password is in the log")
        return host.summary("aws-fidelity rotation")
    finally:
        if emulator:
            emulator.stop()
        host.cleanup()
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    finally:
        host.cleanup()
