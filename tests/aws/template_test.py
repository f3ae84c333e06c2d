#!/usr/bin/env python3
"""template.yaml as AWS would run it, offline, in each deployment mode (tests/support/cfn.py renders
it with the SAM translator, conditions applied):

1. routing: every path each function's Router serves (from `cargo run -q --example
   routes`, cached in target/routes.json), with and without a trailing slash, with every
   method it serves and every method it does not, selected as an HTTP API selects routes
   (exact key, then the longest greedy {proxy+}, then $default), both ways that {proxy+}
   may treat an empty remainder, reaches the function that serves the path (through the
   fallback function and its ROUTES when $default is chosen); unserved paths reach $default;
2. every function's environment is exactly the contract for the mode, and each role may read
   only its own secrets (fallback: invoke only the functions it forwards to);
3. network, migration and operations: the Secrets Manager endpoint's own security group
   admits 443 from the functions, the proxy and the cluster admit only their clients, the
   migration custom resource (timeout, ordering, published code), log groups with retention,
   access logs, throttling, alarms, CORS, the Rules that keep the modes' parameters apart.

cfn-lint and `sam validate --lint` run in the Makefile (make template-check), not here.
Prints "template: N passed, M failed"; exits non-zero on any failure.
"""
import json
import os
import pathlib
import re
import subprocess
import sys

from tests.support import cfn
from tests.support.routes import select_route

ROOT = cfn.ROOT
ROUTES_JSON = pathlib.Path(os.environ.get("ROUTES_JSON", ROOT / "target" / "routes.json"))

API_FUNCTIONS = [f["logical_id"] for f in cfn.TABLE if f["kind"] == "api"]
VPC_FUNCTIONS = [f["logical_id"] for f in cfn.TABLE if f["vpc"]]
BY_BINARY = {binary: logical_id for logical_id, binary in cfn.FUNCTIONS.items()}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FORWARDED = [f["logical_id"] for f in cfn.TABLE if f["prefixes"]]
#: Functions that read the application secret (the API functions, and the outbound payments
#: function for the provider's key).
SECRET_READERS = VPC_FUNCTIONS + [f["logical_id"] for f in cfn.TABLE if f["kind"] == "outbound"]
#: Logical id by function name.
LOGICAL_ID = {f["name"]: f["logical_id"] for f in cfn.TABLE}
#: The outbound functions each function invokes, by logical id.
INVOKES = {f["logical_id"]: [LOGICAL_ID[name] for name in f["invokes"]] for f in cfn.TABLE if f["invokes"]}
API_TIMEOUT_S = 10

passed = 0
failures = []


def check(name, ok, detail=""):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(f"{name}: {detail}" if detail else name)
    return ok


def served_routes():
    """{logical id: {path: [methods]}} of the Routers (the docs example's output)."""
    if not ROUTES_JSON.exists():
        out = subprocess.run(
            ["cargo", "run", "-q", "-p", "docs", "--example", "routes"],
            cwd=ROOT, check=True, capture_output=True, text=True, env=dict(os.environ, SQLX_OFFLINE="true"),
        ).stdout
        ROUTES_JSON.parent.mkdir(parents=True, exist_ok=True)
        ROUTES_JSON.write_text(out)
    routes = json.loads(ROUTES_JSON.read_text())
    return {BY_BINARY[binary]: paths for binary, paths in routes.items()}


def instantiate(path):
    """A concrete request path for a route path: {id} -> 1, {file}/{file+} -> index.html."""
    path = re.sub(r"\{file\+?\}", "index.html", path)
    return re.sub(r"\{\w+\}", "1", path)


def fallback_routes(rendered):
    """FallbackFunction's ROUTES as {prefix: logical id}: the template writes
    !Sub '{"/genres":"${FilmsFunction}",...}' (a function's Ref is its name)."""
    value = cfn.function_environment(rendered, "FallbackFunction").get("ROUTES")
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    if not isinstance(text, str):
        raise AssertionError(f"ROUTES is not a plain !Sub of function names: {value}")
    return json.loads(re.sub(r"\$\{(\w+)\}", r"\1", text))


def fallback_owner(routes_env, path):
    """What the fallback function forwards `path` to (functions/fallback: trailing slashes
    trimmed, the first segment's prefix looked up in ROUTES)."""
    trimmed = path.rstrip("/")
    first = trimmed[1:].split("/")[0] if trimmed.startswith("/") else None
    return None if first is None else routes_env.get("/" + first)


def check_routing(mode, rendered, served):
    routes = cfn.routes(rendered)
    keys = {key for key, _ in routes}
    target = dict(routes)
    check(f"{mode}: route keys are unique", len(keys) == len(routes), str(routes))
    check(f"{mode}: no route key ends in /", all(not k.endswith("/") for k in keys if k != "$default"), str(keys))
    check(f"{mode}: $default goes to FallbackFunction", target.get("$default") == "FallbackFunction", str(target.get("$default")))
    routes_env = fallback_routes(rendered)
    check(f"{mode}: ROUTES names only functions that exist", set(routes_env.values()) <= set(FORWARDED), str(routes_env))

    # Every route goes to the function that owns its prefix.
    owners = {}
    for logical_id, paths in served.items():
        for path in paths:
            owners.setdefault("/" + path.split("/")[1], set()).add(logical_id)
    for prefix, functions in owners.items():
        check(f"{mode}: prefix {prefix} is served by one function", len(functions) == 1, str(functions))
    for key, function in routes:
        if key == "$default":
            continue
        path = key.split(" ", 1)[1]
        prefix = "/" + path.split("/")[1]
        check(f"{mode}: {key} goes to the function serving {prefix}", owners.get(prefix) == {function},
              f"{function}, served by {owners.get(prefix)}")
    for prefix, functions in owners.items():
        check(f"{mode}: ROUTES forwards {prefix}", routes_env.get(prefix) in functions, str(routes_env.get(prefix)))

    # Every served path, both slash forms, every method: reaches the function serving it.
    for logical_id, paths in served.items():
        for path, methods in paths.items():
            concrete = instantiate(path)
            for request_path in (concrete, concrete + "/"):
                for method in sorted(set(METHODS) | set(methods)):
                    for empty_proxy in (True, False):
                        key = select_route(keys, method, request_path, empty_proxy)
                        what = (f"{mode}: {method} {request_path} ({'served' if method in methods else 'not served'}; "
                                f"{{proxy+}} {'matches' if empty_proxy else 'does not match'} an empty remainder)")
                        if key is None:
                            check(what, False, "no route: API Gateway's own 404")
                        elif key == "$default":
                            check(what, fallback_owner(routes_env, request_path) == logical_id,
                                  f"$default -> fallback forwards to {fallback_owner(routes_env, request_path)}, "
                                  f"served by {logical_id}")
                        else:
                            check(what, target[key] == logical_id, f"{key} -> {target[key]}, served by {logical_id}")
    for path in ["/", "/nope", "/genresx", "/nope/1/", "/openapi.jsonx"]:
        for method in METHODS:
            for empty_proxy in (True, False):
                key = select_route(keys, method, path, empty_proxy)
                check(f"{mode}: {method} {path} (unserved) selects $default", key == "$default", str(key))
                check(f"{mode}: the fallback forwards {path} nowhere (our 404)", fallback_owner(routes_env, path) is None,
                      str(fallback_owner(routes_env, path)))
    # API Gateway may invoke each routed function, for exactly its routes' paths.
    permissions = [p["Properties"] for p in cfn.resources_of_type(rendered, "AWS::Lambda::Permission").values()]
    for key, function in routes:
        path = "" if key == "$default" else re.sub(r"\{\w+\+?\}", "*", key.split(" ", 1)[1])
        method = "*" if key == "$default" or key.startswith("ANY ") else key.split(" ", 1)[0]
        suffix = "/*" if key == "$default" else f"/{method}{path}"
        granted = [p for p in permissions if p.get("FunctionName") == {"Ref": function}
                   and p.get("Principal") == "apigateway.amazonaws.com" and p.get("Action") == "lambda:InvokeFunction"
                   and json.dumps(p.get("SourceArn")).split('", {')[0].endswith(suffix)]
        check(f"{mode}: API Gateway may invoke {function} for {key}", len(granted) >= 1, suffix)
    # The exact routes that carry tighter throttling exist, and win over ANY /auth/{proxy+}.
    for path in ["/auth/login", "/auth/register"]:
        check(f"{mode}: POST {path} selects its own route", select_route(keys, "POST", path, True) == f"POST {path}")


# ---------------------------------------------------------------- environment and IAM

DB_KEYS = {"DB_SECRET_ARN", "DB_HOST", "DB_PORT", "DB_NAME", "DB_SSL_MODE", "DB_STATEMENT_TIMEOUT_MS",
           "DB_LOCK_TIMEOUT_MS", "DB_POOL_MAX_CONNECTIONS", "DB_ACQUIRE_TIMEOUT_SECONDS", "DB_IDLE_TIMEOUT_SECONDS", "BCRYPT_COST",
           "ACCESS_TOKEN_TTL_SECONDS"}
# A function's own settings, each from a template parameter.
OWN_SETTINGS = {f["logical_id"]: {s["variable"]: s["parameter"] for s in f["settings"]}
                for f in cfn.TABLE if f["settings"]}
CLUSTER_SECRET = {"Fn::GetAtt": ["DatabaseCluster", "MasterUserSecret.SecretArn"]}
PROXY_ENDPOINT = {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}
CLUSTER_ENDPOINT = {"Fn::GetAtt": ["DatabaseCluster", "Endpoint.Address"]}
#: The API functions' own role's secret (a created database): never the master's.
API_SECRET = {"Ref": "ApiDatabaseSecret"}
#: The lean profile with a created database: it pauses, and the API functions wait for it.
RESUME_WAIT_S, RESUME_TIMEOUT_S = 20, 25


def profile(mode):
    """(whether RDS Proxy is in front of the database, whether the database pauses when idle)."""
    rendered_params = dict(cfn.MODES[mode])
    lean = rendered_params.get("CostProfile", "lean") == "lean"
    created = not rendered_params.get("DatabaseSecretArn")
    return created and not lean, created and lean


def check_environment(mode, rendered):
    created = "DatabaseCluster" in rendered["Resources"]
    proxied, pausing = profile(mode)
    check(f"{mode}: the database is {'created' if mode != 'database' else 'given'}", created == (mode != "database"))
    check(f"{mode}: RDS Proxy {'is' if proxied else 'is not'} created", ("DatabaseProxy" in rendered["Resources"]) == proxied)
    given_arn = cfn.MODES[mode].get("DatabaseSecretArn")
    db_secret = CLUSTER_SECRET if created else given_arn
    for logical_id in VPC_FUNCTIONS:
        env = cfn.function_environment(rendered, logical_id)
        own = "ADMIN_SECRET_ARN" if logical_id == "MigrateFunction" else "APP_SECRET_ARN"
        settings = OWN_SETTINGS.get(logical_id, {})
        contract = DB_KEYS | {own} | set(settings) | (
            {"API_DB_SECRET_ARN"} if logical_id == "MigrateFunction" else {"DB_CONNECT_AT_INIT"})
        if logical_id in INVOKES:
            contract |= {"PAYMENTS_FUNCTION"}
            # Online sales off (the default): empty, and the function sells nothing online.
            check(f"{mode}: {logical_id} PAYMENTS_FUNCTION is empty while online sales are off",
                  env.get("PAYMENTS_FUNCTION") == "", str(env.get("PAYMENTS_FUNCTION")))
        check(f"{mode}: {logical_id} has exactly the contract's variables", set(env) == contract,
              f"extra {sorted(set(env) - contract)}, missing {sorted(contract - set(env))}")
        for key, parameter in settings.items():
            default = str(cfn.load_template()["Parameters"][parameter]["Default"])
            check(f"{mode}: {logical_id} {key} is parameter {parameter}", str(env.get(key)) == default,
                  f"{env.get(key)} != {default}")
        check(f"{mode}: {logical_id} {own}", env.get(own) == {"Ref": "AdminSecret" if own == "ADMIN_SECRET_ARN" else "AppSecret"},
              str(env.get(own)))
        want = db_secret if logical_id == "MigrateFunction" or not created else API_SECRET
        check(f"{mode}: {logical_id} DB_SECRET_ARN (the API's own role, not the owner, with a created database)",
              env.get("DB_SECRET_ARN") == want, str(env.get("DB_SECRET_ARN")))
        if logical_id == "MigrateFunction":
            check(f"{mode}: MigrateFunction opens the API role with its secret",
                  env.get("API_DB_SECRET_ARN") == (API_SECRET if created else ""), str(env.get("API_DB_SECRET_ARN")))
        if created:
            expected = {"DB_HOST": PROXY_ENDPOINT if proxied else CLUSTER_ENDPOINT, "DB_PORT": "5432", "DB_NAME": "cinema"}
        else:
            expected = {k: cfn.MODES[mode][p] for k, p in
                        [("DB_HOST", "DatabaseHost"), ("DB_PORT", "DatabasePort"), ("DB_NAME", "DatabaseName")]}
        for key, value in expected.items():
            check(f"{mode}: {logical_id} {key}", env.get(key) == value, f"{env.get(key)} != {value}")
        check(f"{mode}: {logical_id} DB_SSL_MODE verify-full", env.get("DB_SSL_MODE") == "verify-full", str(env.get("DB_SSL_MODE")))
        timeout_ms = int(cfn.function(rendered, logical_id)["Properties"]["Timeout"]) * 1000
        if created and logical_id != "MigrateFunction":
            # A created database gives the API role its limits (role settings, migrations/0010);
            # the functions set none (through the proxy that would pin them).
            check(f"{mode}: {logical_id} sets no time limits of its own (the role has them)",
                  (env.get("DB_STATEMENT_TIMEOUT_MS"), env.get("DB_LOCK_TIMEOUT_MS")) == ("", ""),
                  f"{(env.get('DB_STATEMENT_TIMEOUT_MS'), env.get('DB_LOCK_TIMEOUT_MS'))}")
        else:
            statement, lock = int(env.get("DB_STATEMENT_TIMEOUT_MS", 0)), int(env.get("DB_LOCK_TIMEOUT_MS", 0))
            check(f"{mode}: {logical_id} lock < statement < function timeout", 0 < lock < statement < timeout_ms,
                  f"{lock} / {statement} / {timeout_ms}")
            want = (240000, 30000) if logical_id == "MigrateFunction" else (4000, 2000)
            check(f"{mode}: {logical_id} statement/lock timeouts {want}", (statement, lock) == want, f"{(statement, lock)}")
        acquire, idle = (str(RESUME_WAIT_S), "60") if pausing else ("3", "300")
        check(f"{mode}: {logical_id} pool of 2, acquire within {acquire} s, idle connections closed after {idle} s",
              (env.get("DB_POOL_MAX_CONNECTIONS"), env.get("DB_ACQUIRE_TIMEOUT_SECONDS"), env.get("DB_IDLE_TIMEOUT_SECONDS"))
              == ("2", acquire, idle), str(env))
        if logical_id != "MigrateFunction":
            at_init = "false" if pausing else "true"
            check(f"{mode}: {logical_id} connects during init: {at_init} (never resumes a paused database ahead of a request)",
                  env.get("DB_CONNECT_AT_INIT") == at_init, str(env.get("DB_CONNECT_AT_INIT")))
    check(f"{mode}: DocsFunction has only its own settings (the shop's publishable key)",
          cfn.function_environment(rendered, "DocsFunction") == {"STRIPE_PUBLISHABLE_KEY": ""},
          str(cfn.function_environment(rendered, "DocsFunction")))
    check(f"{mode}: PaymentsFunction reads only the application secret (its provider key)",
          cfn.function_environment(rendered, "PaymentsFunction") == {"APP_SECRET_ARN": {"Ref": "AppSecret"}},
          str(cfn.function_environment(rendered, "PaymentsFunction")))
    check(f"{mode}: FallbackFunction has only ROUTES", set(cfn.function_environment(rendered, "FallbackFunction")) == {"ROUTES"})
    timeout = RESUME_TIMEOUT_S if pausing else API_TIMEOUT_S
    for logical_id in API_FUNCTIONS:
        check(f"{mode}: {logical_id} timeout {timeout} s",
              int(cfn.function(rendered, logical_id)["Properties"]["Timeout"]) == timeout)
    if created:
        scaling = rendered["Resources"]["DatabaseCluster"]["Properties"]["ServerlessV2ScalingConfiguration"]
        check(f"{mode}: the cluster {'pauses when idle' if pausing else 'never pauses'}",
              (scaling.get("MinCapacity"), scaling.get("SecondsUntilAutoPause")) == ((0, 300) if pausing else (0.5, None)),
              str(scaling))
        check(f"{mode}: a request waits for a resume ({RESUME_WAIT_S} s) within its function's timeout",
              not pausing or RESUME_WAIT_S + 3 <= timeout)

    if proxied:
        target_group = rendered["Resources"]["DatabaseProxyTargetGroup"]["Properties"]
        pool = target_group["ConnectionPoolConfigurationInfo"]
        init = re.sub(r"\s+", " ", pool.get("InitQuery", ""))
        settings = dict(re.findall(r"set_config\('(\w+)', '(\d+)', false\)", init)) or dict(
            re.findall(r"SET (\w+) = (\d+)", init))
        check(f"{mode}: proxy InitQuery sets the API functions' timeouts for the session",
              settings == {"statement_timeout": "4000", "lock_timeout": "2000"}, init)
        check(f"{mode}: proxy ConnectionBorrowTimeout below the API timeout",
              0 < int(pool.get("ConnectionBorrowTimeout", 120)) < API_TIMEOUT_S, str(pool.get("ConnectionBorrowTimeout")))
        proxy = rendered["Resources"]["DatabaseProxy"]["Properties"]
        check(f"{mode}: proxy requires TLS", proxy.get("RequireTLS") is True)
        check(f"{mode}: proxy authenticates the master user and the API role with their secrets",
              [a["SecretArn"] for a in proxy["Auth"]] == [CLUSTER_SECRET, API_SECRET], str(proxy["Auth"]))
        stack_uuid_head = cfn.PSEUDO["AWS::StackId"].rsplit("/", 1)[1].split("-")[0]
        check(f"{mode}: proxy name comes from the stack id, fits 60 characters",
              proxy.get("DBProxyName") == f"cinema-{stack_uuid_head}", str(proxy.get("DBProxyName")))
    if created:
        cluster = rendered["Resources"]["DatabaseCluster"]
        check(f"{mode}: EngineVersion names the major version only",
              re.fullmatch(r"\d+", str(cluster["Properties"]["EngineVersion"])) is not None, cluster["Properties"]["EngineVersion"])
        check(f"{mode}: cluster's master secret is managed", cluster["Properties"].get("ManageMasterUserPassword") is True)
        check(f"{mode}: cluster snapshots on delete/replace",
              (cluster.get("DeletionPolicy"), cluster.get("UpdateReplacePolicy")) == ("Snapshot", "Snapshot"))


def check_iam(mode, rendered):
    created = "DatabaseCluster" in rendered["Resources"]
    db_secret = CLUSTER_SECRET if created else cfn.MODES[mode]["DatabaseSecretArn"]
    api_secret = API_SECRET if created else db_secret
    reads = lambda *secrets: {("secretsmanager:GetSecretValue", json.dumps(r, sort_keys=True)) for r in secrets}  # noqa: E731
    expected = {
        **{f: reads({"Ref": "AppSecret"}, api_secret) for f in API_FUNCTIONS},
        "MigrateFunction": reads({"Ref": "AdminSecret"}, db_secret, *([API_SECRET] if created else [])),
        "FallbackFunction": {("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": [f, "Arn"]}, sort_keys=True))
                             for f in FORWARDED},
        "DocsFunction": set(),
        "PaymentsFunction": reads({"Ref": "AppSecret"}),
    }
    for logical_id, targets in INVOKES.items():
        expected[logical_id] = expected[logical_id] | {
            ("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": [target, "Arn"]}, sort_keys=True)) for target in targets}
    for logical_id, want in expected.items():
        statements, managed = cfn.function_role_statements(rendered, logical_id)
        granted = set()
        for statement in statements:
            check(f"{mode}: {logical_id} policy statements allow (never deny-less wildcards)",
                  statement.get("Effect") == "Allow" and "NotResource" not in statement and "NotAction" not in statement)
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                for resource in resources:
                    granted.add((action, json.dumps(resource, sort_keys=True)))
        check(f"{mode}: {logical_id} may do exactly its own (action, resource) pairs", granted == want,
              f"extra {sorted(granted - want)}, missing {sorted(want - granted)}")
        allowed_managed = {"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                           "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}
        if logical_id in VPC_FUNCTIONS:
            allowed_managed.add("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
        check(f"{mode}: {logical_id} managed policies are only logging, tracing (and VPC interfaces)",
              set(managed) <= allowed_managed, str(managed))
    if "DatabaseProxyRole" in rendered["Resources"]:
        role = rendered["Resources"]["DatabaseProxyRole"]["Properties"]
        resources = [s["Resource"] for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        check(f"{mode}: the proxy's role reads only the cluster's and the API role's secrets",
              resources == [[CLUSTER_SECRET, API_SECRET]], str(resources))


# ---------------------------------------------------------------- network, migration, operations


def references(node):
    """Logical ids a value refers to (Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([\w.:]+)\}", text))
            found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def depends_closure(rendered, logical_id):
    """Every resource `logical_id` waits for: DependsOn and references, transitively."""
    resources = rendered["Resources"]
    seen, todo = set(), [logical_id]
    while todo:
        current = todo.pop()
        resource = resources[current]
        direct = set(resource.get("DependsOn", [])) | references(resource.get("Properties", {})) | references(
            resource.get("Metadata", {}))
        for dep in direct & set(resources):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def check_network(mode, rendered):
    res = rendered["Resources"]
    created_network = "NetworkMode" not in cfn.MODES[mode]
    first_sg = {"Ref": "FunctionSecurityGroup"} if created_network else cfn.MODES[mode]["SecurityGroupIds"].split(",")[0]
    subnets = ([{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}] if created_network
               else cfn.MODES[mode]["SubnetIds"].split(","))
    check(f"{mode}: the mode's parameters satisfy the template's Rules", cfn.failed_rules(rendered) == [],
          str(cfn.failed_rules(rendered)))
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        check(f"{mode}: no {kind}", not cfn.resources_of_type(rendered, kind))
    if created_network:
        vpc = res["Vpc"]["Properties"]
        check(f"{mode}: VPC has DNS support and hostnames (private DNS of the endpoint)",
              vpc.get("EnableDnsSupport") is True and vpc.get("EnableDnsHostnames") is True)
        zones = [json.dumps(res[s]["Properties"]["AvailabilityZone"]) for s in ("PrivateSubnetA", "PrivateSubnetB")]
        check(f"{mode}: two subnets in two zones", len(set(zones)) == 2, str(zones))
        check(f"{mode}: subnets do not map public IPs",
              not any(res[s]["Properties"].get("MapPublicIpOnLaunch") for s in ("PrivateSubnetA", "PrivateSubnetB")))
        associations = {json.dumps(a["Properties"]["SubnetId"]) for a in
                        cfn.resources_of_type(rendered, "AWS::EC2::SubnetRouteTableAssociation").values()}
        check(f"{mode}: both subnets use the private route table",
              associations == {json.dumps(s) for s in subnets}, str(associations))
        check(f"{mode}: the private route table has no routes out", not cfn.resources_of_type(rendered, "AWS::EC2::Route"))
    for logical_id in VPC_FUNCTIONS:
        vpc_config = cfn.function(rendered, logical_id)["Properties"].get("VpcConfig", {})
        check(f"{mode}: {logical_id} runs in the subnets", vpc_config.get("SubnetIds") == subnets, str(vpc_config))
        groups = vpc_config.get("SecurityGroupIds", [])
        check(f"{mode}: {logical_id}'s first security group is the one others admit", groups[:1] == [first_sg], str(groups))
    database = {"SchemaMigration", "DatabaseCluster", "DatabaseInstance", "DatabaseProxy", "DatabaseAccess"}
    for logical_id in ("DocsFunction", "FallbackFunction"):
        function = cfn.function(rendered, logical_id)
        check(f"{mode}: {logical_id} is not in a VPC", "VpcConfig" not in function["Properties"])
        direct = set(function.get("DependsOn", [])) | references(function["Properties"])
        check(f"{mode}: {logical_id} itself waits for no database or migration", not direct & database, str(sorted(direct)))
    # The fallback refers to the functions it forwards to (and so follows them); docs to nothing.
    closure = depends_closure(rendered, "DocsFunction")
    check(f"{mode}: DocsFunction waits for no database or migration at all", not closure & database, str(sorted(closure)))
    for logical_id in API_FUNCTIONS:
        check(f"{mode}: {logical_id} is updated after the migration",
              "SchemaMigration" in cfn.function(rendered, logical_id).get("DependsOn", []))

    # VPC endpoints: created in this mode (all three set CreateVpcEndpoints or create the network).
    endpoint = res.get("SecretsManagerEndpoint")
    if check(f"{mode}: Secrets Manager endpoint exists", endpoint is not None):
        props = endpoint["Properties"]
        check(f"{mode}: Secrets Manager endpoint is an interface with private DNS",
              props.get("VpcEndpointType") == "Interface" and props.get("PrivateDnsEnabled") is True)
        lean = cfn.MODES[mode].get("CostProfile", "lean") == "lean"
        check(f"{mode}: Secrets Manager endpoint in {'the first of ' if lean else ''}the functions' subnets (billed per zone)",
              props.get("SubnetIds") == (subnets[:1] if lean else subnets), str(props.get("SubnetIds")))
        groups = props.get("SecurityGroupIds", [])
        check(f"{mode}: Secrets Manager endpoint has its own security group (not the functions')",
              groups == [{"Ref": "EndpointSecurityGroup"}], str(groups))
        ingress = res["EndpointSecurityGroup"]["Properties"].get("SecurityGroupIngress", [])
        check(f"{mode}: the endpoint's group admits 443 from the functions' group",
              any(str(r.get("IpProtocol")) == "tcp" and int(r["FromPort"]) <= 443 <= int(r["ToPort"])
                  and r.get("SourceSecurityGroupId") == first_sg for r in ingress), str(ingress))
        check(f"{mode}: the endpoint's group admits nothing else", len(ingress) == 1, str(ingress))
    s3 = res.get("S3Endpoint")
    if check(f"{mode}: S3 gateway endpoint exists (the migration's answer)", s3 is not None):
        tables = [{"Ref": "PrivateRouteTable"}] if created_network else cfn.MODES[mode]["RouteTableIds"].split(",")
        check(f"{mode}: S3 endpoint is a gateway on the subnets' route tables",
              s3["Properties"].get("VpcEndpointType") == "Gateway" and s3["Properties"].get("RouteTableIds") == tables,
              str(s3["Properties"]))

    if "DatabaseCluster" in res and "DatabaseProxy" not in res:
        cluster_in = res["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"]
        check(f"{mode}: with no proxy, the cluster admits PostgreSQL from the functions only",
              [(r["FromPort"], r["SourceSecurityGroupId"]) for r in cluster_in] == [(5432, first_sg)], str(cluster_in))
    if "DatabaseProxy" in res:
        proxy_in = res["DatabaseProxySecurityGroup"]["Properties"]["SecurityGroupIngress"]
        check(f"{mode}: the proxy admits PostgreSQL from the functions only",
              [(r["FromPort"], r["SourceSecurityGroupId"]) for r in proxy_in] == [(5432, first_sg)], str(proxy_in))
        cluster_in = res["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"]
        check(f"{mode}: the cluster admits PostgreSQL from the proxy only",
              [(r["FromPort"], r["SourceSecurityGroupId"]) for r in cluster_in]
              == [(5432, {"Ref": "DatabaseProxySecurityGroup"})], str(cluster_in))
        check(f"{mode}: no other ingress rules",
              not cfn.resources_of_type(rendered, "AWS::EC2::SecurityGroupIngress"))
        check(f"{mode}: the proxy sits in the functions' subnets",
              res["DatabaseProxy"]["Properties"]["VpcSubnetIds"] == subnets)


def check_migration(mode, rendered):
    res = rendered["Resources"]
    migration = res["SchemaMigration"]
    props = migration["Properties"]
    migrate_timeout = int(cfn.function(rendered, "MigrateFunction")["Properties"]["Timeout"])
    service_timeout = int(props.get("ServiceTimeout", 3600))
    check(f"{mode}: ServiceTimeout set, above migrate's timeout and at most an hour",
          "ServiceTimeout" in props and migrate_timeout < service_timeout <= 3600, f"{service_timeout} vs {migrate_timeout}")
    token = props.get("ServiceToken")
    alias_id = token.get("Ref") if isinstance(token, dict) else None
    alias = res.get(alias_id, {})
    # A published version: the alias SAM publishes (AutoPublishAlias). The token itself must stay
    # constant (CloudFormation refuses a changed ServiceToken); the alias follows the version.
    ok = alias.get("Type") == "AWS::Lambda::Alias" and alias["Properties"]["FunctionName"] == {"Ref": "MigrateFunction"}
    check(f"{mode}: ServiceToken is MigrateFunction's published alias", ok, str(token))
    if ok:
        version_id = references(alias["Properties"]["FunctionVersion"]).pop()
        check(f"{mode}: the alias names a published version", res[version_id]["Type"] == "AWS::Lambda::Version", version_id)
        check(f"{mode}: CodeVersion (changes with the code) is that version",
              props.get("CodeVersion") == {"Ref": version_id}, str(props.get("CodeVersion")))
    closure = depends_closure(rendered, "SchemaMigration")
    wanted = {"SecretsManagerEndpoint", "S3Endpoint", "MigrateLogGroup"} & set(res) | {"MigrateLogGroup"}
    if "DatabaseCluster" in res:
        wanted |= {"DatabaseInstance"} | ({"DatabaseProxyTargetGroup"} if "DatabaseProxy" in res else set())
    check(f"{mode}: the migration waits for (and on delete precedes) {sorted(wanted)}", wanted <= closure,
          f"missing {sorted(wanted - closure)}")


def migrations_hash():
    """What `cargo xtask generate` writes as the migration's `Migrations`: the SHA-256 of every
    migration's file name and contents, in order."""
    import hashlib
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def check_first_deploy_leftovers_and_reruns(mode, rendered):
    """A failed first create leaves nothing to pay for; every deploy that changes the migrations
    or the database migrates; no function can re-create its log group after the stack deleted it;
    a given secret under a customer key can be read."""
    res = rendered["Resources"]
    admin = res["AdminSecret"]
    check(f"{mode}: the admin secret is retained, except after a failed first create",
          (admin.get("DeletionPolicy"), admin.get("UpdateReplacePolicy")) == ("RetainExceptOnCreate", "Retain"),
          str((admin.get("DeletionPolicy"), admin.get("UpdateReplacePolicy"))))
    props = res["SchemaMigration"]["Properties"]
    check(f"{mode}: the migration runs again when migrations/ changes", props.get("Migrations") == migrations_hash(),
          str(props.get("Migrations")))
    database = json.dumps(props.get("Database"))
    expected = "DBClusterResourceId" if "DatabaseCluster" in res else cfn.MODES[mode].get("DatabaseSecretArn", "?")
    check(f"{mode}: the migration runs again when the database is another one", expected in database, database)
    boundary = res.get("FunctionPermissionsBoundary", {}).get("Properties", {}).get("PolicyDocument", {})
    denied = [s for s in boundary.get("Statement", []) if s.get("Effect") == "Deny"]
    check(f"{mode}: the functions' boundary denies creating log groups",
          [s.get("Action") for s in denied] == ["logs:CreateLogGroup"], str(denied))
    for logical_id in cfn.FUNCTIONS:
        role_id = cfn.function(rendered, logical_id)["Properties"]["Role"]["Fn::GetAtt"][0]
        check(f"{mode}: {logical_id}'s role has that boundary",
              res[role_id]["Properties"].get("PermissionsBoundary") == {"Ref": "FunctionPermissionsBoundary"},
              str(res[role_id]["Properties"].get("PermissionsBoundary")))


def check_database_alarms(mode, rendered):
    """The created database (and proxy) has alarms of its own."""
    res = rendered["Resources"]
    created, proxied = "DatabaseCluster" in res, "DatabaseProxy" in res
    for alarm, metric, wanted in (("DatabaseCpuAlarm", "CPUUtilization", created),
                                  ("DatabaseCapacityAlarm", "ServerlessDatabaseCapacity", created),
                                  ("DatabaseProxyBorrowAlarm", "DatabaseConnectionsBorrowLatency", proxied)):
        found = res.get(alarm, {}).get("Properties", {}).get("MetricName")
        check(f"{mode}: {alarm} {'watches ' + metric if wanted else 'is absent'}",
              found == (metric if wanted else None), str(found))


def check_budget():
    """With AlarmEmail and MonthlyBudget, a monthly cost budget tells that address."""
    plain = cfn.render("create", {"AlarmEmail": "ops@example.com"})
    check("no MonthlyBudget: no budget", "CostBudget" not in plain["Resources"])
    rendered = cfn.render("create", {"AlarmEmail": "ops@example.com", "MonthlyBudget": "25"})
    budget = rendered["Resources"].get("CostBudget", {}).get("Properties", {})
    addresses = {s["Address"] for n in budget.get("NotificationsWithSubscribers", []) for s in n["Subscribers"]}
    check("a monthly budget of MonthlyBudget USD, told to AlarmEmail",
          budget.get("Budget", {}).get("BudgetLimit") == {"Amount": "25", "Unit": "USD"} and addresses == {"ops@example.com"},
          str(budget))


def check_online_sales():
    """OnlineSales=enabled adds the Lambda endpoint (one zone in the lean profile, two in the
    standard one) and the scheduled reconciliation (every 6 hours with a pausing database, every
    5 minutes otherwise), whose role may invoke the reservations function only; disabled, neither."""
    off = cfn.render("create", {})
    check("online sales off: no Lambda endpoint, no schedule",
          not {"LambdaEndpoint", "ReconcileSchedule", "ReconcileScheduleRole"} & set(off["Resources"]))
    for mode, zones, rate in (("create", 1, "rate(6 hours)"), ("standard", 2, "rate(5 minutes)")):
        rendered = cfn.render(mode, {"OnlineSales": "enabled"})
        res = rendered["Resources"]
        endpoint = res.get("LambdaEndpoint", {}).get("Properties", {})
        check(f"{mode}, online sales: a Lambda interface endpoint with private DNS in {zones} zone(s)",
              endpoint.get("ServiceName") == {"Fn::Sub": "com.amazonaws.${AWS::Region}.lambda"}
              and endpoint.get("PrivateDnsEnabled") is True and len(endpoint.get("SubnetIds", [])) == zones,
              str(endpoint))
        env = cfn.function_environment(rendered, "ReservationsFunction")
        check(f"{mode}, online sales: the reservations function names the payments function",
              env.get("PAYMENTS_FUNCTION") == {"Ref": "PaymentsFunction"}, str(env.get("PAYMENTS_FUNCTION")))
        schedule = res.get("ReconcileSchedule", {}).get("Properties", {})
        check(f"{mode}, online sales: the reconciliation runs {rate}, as a task, never retried",
              schedule.get("ScheduleExpression") == rate
              and json.loads(schedule["Target"]["Input"]) == {"task": "reconcile"}
              and schedule["Target"]["Arn"] == {"Fn::GetAtt": ["ReservationsFunction", "Arn"]}
              and schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 0}, str(schedule))
        role = res.get("ReconcileScheduleRole", {}).get("Properties", {})
        statements = [st for p in role.get("Policies", []) for st in p["PolicyDocument"]["Statement"]]
        check(f"{mode}, online sales: the schedule may invoke the reservations function only",
              statements == [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                              "Resource": {"Fn::GetAtt": ["ReservationsFunction", "Arn"]}}], str(statements))
    outputs = cfn.load_template()["Outputs"]
    check("the stack outputs the webhook URL for the provider's dashboard",
          outputs.get("StripeWebhookUrl", {}).get("Value", {}).get("Fn::Sub", "").endswith("/payments/stripe"))


def check_customer_key():
    """With SecretsKmsKeyArn, exactly the functions that read secrets may decrypt with that key,
    and only through Secrets Manager."""
    key = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000"
    rendered = cfn.render("database", {"SecretsKmsKeyArn": key})
    for logical_id in cfn.FUNCTIONS:
        statements, _ = cfn.function_role_statements(rendered, logical_id)
        kms = [s for s in statements if s.get("Action") == "kms:Decrypt"]
        reads = logical_id in SECRET_READERS
        check(f"database with a customer key: {logical_id} {'may' if reads else 'may not'} decrypt with it",
              (kms == [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
                        "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}}])
              if reads else kms == [], str(kms))


def check_operations(mode, rendered):
    res = rendered["Resources"]
    groups = cfn.resources_of_type(rendered, "AWS::Logs::LogGroup")
    names = [json.dumps(g["Properties"].get("LogGroupName"), sort_keys=True) for g in groups.values()]
    check(f"{mode}: log group names are unique", len(names) == len(set(names)), str(names))
    for logical_id in cfn.FUNCTIONS:
        function = cfn.function(rendered, logical_id)
        own = [g for g in groups.values()
               if g["Properties"].get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}]
        check(f"{mode}: {logical_id} has its /aws/lambda log group with retention",
              len(own) == 1 and own[0]["Properties"].get("RetentionInDays") == "30", str(own))
        check(f"{mode}: {logical_id} logs where its log group is (no other LoggingConfig.LogGroup)",
              "LogGroup" not in function["Properties"].get("LoggingConfig", {}))
        check(f"{mode}: {logical_id} logs JSON", function["Properties"].get("LoggingConfig", {}).get("LogFormat") == "JSON")
        check(f"{mode}: {logical_id} tracing is the Tracing parameter",
              function["Properties"].get("TracingConfig") == {"Mode": "PassThrough"}, str(function["Properties"].get("TracingConfig")))

    stage = cfn.stage(rendered)
    access = stage.get("AccessLogSettings", {})
    destination = references(access.get("DestinationArn"))
    check(f"{mode}: access logs go to a log group with retention",
          len(destination) == 1 and groups.get(next(iter(destination)), {}).get("Properties", {}).get("RetentionInDays"),
          str(access.get("DestinationArn")))
    try:
        fields = json.loads(access.get("Format", ""))
    except ValueError:
        fields = {}
    check(f"{mode}: access log format is JSON with the fields",
          {"requestId", "ip", "routeKey", "status", "responseLatency", "integrationError"} <= set(fields), str(fields))
    default = stage.get("DefaultRouteSettings", {})
    check(f"{mode}: default route throttling", {"ThrottlingBurstLimit", "ThrottlingRateLimit"} <= set(default), str(default))
    route_settings = stage.get("RouteSettings", {})
    keys = {key for key, _ in cfn.routes(rendered)}
    for key in ("POST /auth/login", "POST /auth/register"):
        setting = route_settings.get(key, {})
        check(f"{mode}: {key} has tighter throttling",
              setting and int(setting["ThrottlingRateLimit"]) < int(default["ThrottlingRateLimit"])
              and int(setting["ThrottlingBurstLimit"]) < int(default["ThrottlingBurstLimit"]), str(setting))
    check(f"{mode}: route settings name existing routes", set(route_settings) <= keys, str(set(route_settings) - keys))

    _, api = cfn.http_api(rendered)
    cors = api["Properties"].get("Body", {}).get("x-amazon-apigateway-cors") or api["Properties"].get("CorsConfiguration", {})
    cors = {k.lower(): v for k, v in cors.items()}
    check(f"{mode}: CORS admits the API's headers and methods",
          {"authorization", "content-type", "idempotency-key"} <= {h.lower() for h in cors.get("allowheaders", [])}
          and {"GET", "POST", "PATCH", "DELETE"} <= set(cors.get("allowmethods", [])) and cors.get("alloworigins") == ["*"]
          and cors.get("maxage"), str(cors))

    alarms = cfn.resources_of_type(rendered, "AWS::CloudWatch::Alarm").values()
    def alarm_on(namespace, metric, dimension):
        return [a["Properties"] for a in alarms if a["Properties"]["Namespace"] == namespace
                and a["Properties"]["MetricName"] == metric and a["Properties"]["Dimensions"][0]["Value"] == dimension]
    check(f"{mode}: an alarm on the API's 5xx", len(alarm_on("AWS/ApiGateway", "5xx", {"Ref": "HttpApi"})) == 1)
    for logical_id in cfn.FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            check(f"{mode}: {logical_id} {metric} alarm", len(alarm_on("AWS/Lambda", metric, {"Ref": logical_id})) == 1)
        duration = alarm_on("AWS/Lambda", "Duration", {"Ref": logical_id})
        timeout_ms = int(cfn.function(rendered, logical_id)["Properties"]["Timeout"]) * 1000
        check(f"{mode}: {logical_id} p99 duration alarm near its timeout",
              len(duration) == 1 and duration[0].get("ExtendedStatistic") == "p99"
              and 0.5 * timeout_ms <= float(duration[0]["Threshold"]) < timeout_ms, str(duration))
    check(f"{mode}: without AlarmEmail no topic and no alarm actions",
          not cfn.resources_of_type(rendered, "AWS::SNS::Topic") and not any("AlarmActions" in a["Properties"] for a in alarms))

    for secret in ("AppSecret", "AdminSecret"):
        check(f"{mode}: {secret} has DeletionPolicy and UpdateReplacePolicy",
              {"DeletionPolicy", "UpdateReplacePolicy"} <= set(res[secret]), str(sorted(res[secret])))


def check_alarm_topic():
    rendered = cfn.render("create", {"AlarmEmail": "ops@example.com"})
    topics = cfn.resources_of_type(rendered, "AWS::SNS::Topic")
    subscriptions = cfn.resources_of_type(rendered, "AWS::SNS::Subscription")
    check("AlarmEmail: one topic, one e-mail subscription",
          len(topics) == 1 and [s["Properties"]["Endpoint"] for s in subscriptions.values()] == ["ops@example.com"])
    topic = {"Ref": next(iter(topics))} if topics else None
    alarms = cfn.resources_of_type(rendered, "AWS::CloudWatch::Alarm")
    check("AlarmEmail: every alarm notifies the topic",
          alarms and all(a["Properties"].get("AlarmActions") == [topic] for a in alarms.values()))


def check_rules_refuse():
    """The Rules turn away parameter sets that could not work."""
    cases = [
        ("network without VpcId", "network", {"VpcId": ""}),
        ("network without subnets", "network", {"SubnetIds": ""}),
        ("network without security groups", "network", {"SecurityGroupIds": ""}),
        ("endpoints without route tables", "network", {"RouteTableIds": ""}),
        ("a given database in a created network", "create",
         {"DatabaseSecretArn": cfn.MODES["database"]["DatabaseSecretArn"]}),
    ]
    for name, mode, extra in cases:
        check(f"Rules refuse {name}", cfn.failed_rules(cfn.render(mode, extra)) != [])
    check("Rules accept an existing network that reaches AWS itself",
          cfn.failed_rules(cfn.render("network", {"CreateVpcEndpoints": "false", "RouteTableIds": ""})) == [])


def self_test():
    """The selection model itself, on cases whose answer is not in doubt."""
    keys = {"ANY /genres", "ANY /genres/{proxy+}", "POST /auth/login", "ANY /auth/{proxy+}", "$default"}
    cases = [
        (("GET", "/genres", True), "ANY /genres"),
        (("GET", "/genres/1", False), "ANY /genres/{proxy+}"),
        (("GET", "/genres/1/", False), "ANY /genres/{proxy+}"),
        (("GET", "/genres/", True), "ANY /genres/{proxy+}"),
        (("GET", "/genres/", False), "$default"),
        (("POST", "/auth/login", False), "POST /auth/login"),
        (("GET", "/auth/login", False), "ANY /auth/{proxy+}"),
        (("POST", "/auth/login/", False), "ANY /auth/{proxy+}"),
        (("GET", "/genresx", True), "$default"),
    ]
    for (method, path, empty), want in cases:
        got = select_route(keys, method, path, empty)
        check(f"selection model: {method} {path} (empty proxy {empty}) -> {want}", got == want, str(got))


# ---------------------------------------------------------------- make dev's router and README


def local_target(router, path):
    """The binary `cargo lambda watch`'s router (matchit syntax) sends `path` to: an exact
    pattern first, else the catch-all (`/films/{*path}`) with the longest prefix."""
    if path in router:
        return router[path]
    prefixes = [(pattern.split("{*")[0], binary) for pattern, binary in router.items() if "{*" in pattern]
    matching = [(prefix, binary) for prefix, binary in prefixes if path.startswith(prefix) and len(path) > len(prefix)]
    return max(matching, key=lambda m: len(m[0]))[1] if matching else None


def check_local_router_and_readme(served):
    """make dev serves every route at the function that serves it, with and without a trailing
    slash; README's table of functions names every route of each API function."""
    import tomllib
    router = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
    readme = (ROOT / "README.md").read_text()
    for logical_id, paths in served.items():
        binary = cfn.FUNCTIONS[logical_id]
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{binary}` |")), "")
        for path, methods in paths.items():
            for request in (instantiate(path), instantiate(path) + "/"):
                target = local_target(router, request)
                check(f"make dev routes {request} to {binary}", target == binary, str(target))
            if logical_id != "DocsFunction":
                check(f"README's table lists {path} under {binary}",
                      f"{path}`" in row and all(method in row for method in methods), row[:80])


def main():
    self_test()
    served = served_routes()
    check("routes.json names every API function", set(served) == set(FORWARDED), str(sorted(served)))
    for mode in cfn.MODES:
        rendered = cfn.render(mode)
        for section in (check_routing, ):
            section(mode, rendered, served)
        for section in (check_environment, check_iam, check_network, check_migration, check_operations,
                        check_first_deploy_leftovers_and_reruns, check_database_alarms):
            section(mode, rendered)
    check_customer_key()
    check_online_sales()
    check_budget()
    check_alarm_topic()
    check_rules_refuse()
    check_local_router_and_readme(served)
    for failure in failures:
        print("FAIL", failure)
    print(f"template: {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
