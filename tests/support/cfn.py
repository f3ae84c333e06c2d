"""template.yaml as CloudFormation would see it, offline, in each deployment mode.

Used by tests/aws/template_test.py and the platform harness (tests/aws/functions.py).

    import cfn
    rendered = cfn.render("create")            # plain CloudFormation, conditions applied
    cfn.function_environment(rendered, "MigrateFunction")
    cfn.routes(rendered)                       # [("ANY /genres/{proxy+}", "FilmsFunction"), ...]

What `render(mode)` does:

1. parses template.yaml (short tags such as `!Ref` become `{"Ref": ...}`, as CloudFormation
   reads them);
2. points each function's CodeUri at s3://cinema-artifacts/<LogicalId>.zip (as `sam
   package` would) and runs the SAM transform offline (samtranslator, shipped with aws-sam-cli) with the mode's
   parameter values (`MODES[mode]`, the template's defaults for the rest) and fake pseudo
   parameters: account 123456789012, region us-east-1, partition aws, stack name `cinema`;
3. evaluates `Conditions` for those parameter values, removes every resource and output whose
   `Condition` is false (and the `Condition` keys of the rest), and resolves every `Fn::If`
   (an `AWS::NoValue` branch removes the key or list item, as CloudFormation does);
4. replaces `{"Ref": <parameter>}` and `{"Ref": "AWS::Region"}` (and the other pseudo
   parameters above) by their values (list parameters become Python lists), and then
   computes `Fn::Select`, `Fn::Split` and `Fn::Join` whose arguments are all literal
   (`!Select [0, !Ref SecurityGroupIds]` becomes "sg-0123456789abcdef0").

Everything else is left as the intrinsic it is, so that a test can say what a value *is*:
`{"Ref": "AppSecret"}` (a resource: for a secret, its ARN), `{"Fn::GetAtt": ["DatabaseProxy",
"Endpoint"]}`, `{"Fn::Sub": ...}` (with parameters not substituted inside the string).
`DependsOn` is always a list after rendering.
"""
import copy
import json
import logging
import os
import pathlib
import re

from tests.support.template import FUNCTIONS as TABLE
from tests.support.template import plain
from tests.support.template import load as load_template  # template.yaml, short tags as long forms

ROOT = pathlib.Path(__file__).resolve().parents[2]

ACCOUNT, REGION, PARTITION, STACK = "123456789012", "us-east-1", "aws", "cinema"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": PARTITION,
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/00000000-0000-0000-0000-000000000000",
    "AWS::URLSuffix": "amazonaws.com",
}

_NETWORK = {
    "NetworkMode": "existing",
    "VpcId": "vpc-0123456789abcdef0",
    "SubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "SecurityGroupIds": "sg-0123456789abcdef0,sg-0fedcba9876543210",
    "RouteTableIds": "rtb-0123456789abcdef0,rtb-0fedcba9876543210",
    "CreateVpcEndpoints": "true",
}

#: Deployment mode -> parameter overrides (the template's defaults for everything else).
#: "create": nothing given, the stack makes its network and database (lean profile: no proxy,
#: a database that pauses). "standard": the same with RDS Proxy and a database that never pauses.
#: "network": an existing VPC (subnets, security groups, route tables), endpoints created.
#: "database": that network and an existing database (its secret; host etc. from the secret).
MODES = {
    "create": {},
    "standard": {"CostProfile": "standard"},
    "network": dict(_NETWORK),
    "database": dict(
        _NETWORK,
        DatabaseSecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:cinema-db-AbCdEf",
        DatabaseHost="",
        DatabasePort="",
        DatabaseName="",
    ),
}

#: Names of the cargo-lambda binaries, by the logical id of their function (the table of functions).
FUNCTIONS = {f["logical_id"]: f["name"] for f in TABLE}


class _NoValue:
    """What an `AWS::NoValue` branch of Fn::If leaves: removed from its dict or list."""


NO_VALUE = _NoValue()


def parameter_values(template, mode, extra=None):
    """The mode's parameter values (and `extra`), with the template's defaults for the rest."""
    overrides = dict(MODES[mode], **(extra or {}))
    unknown = set(overrides) - set(template.get("Parameters", {}))
    if unknown:
        raise KeyError(f"mode {mode}: no such parameters in template.yaml: {sorted(unknown)}")
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = spec["Default"]
        else:
            raise KeyError(f"mode {mode}: parameter {name} has no default and no value")
    return {k: (str(v) if not isinstance(v, str) else v) for k, v in values.items()}


def _typed(template, values):
    """Parameter values as Ref returns them: lists for list types, strings otherwise."""
    typed = {}
    for name, value in values.items():
        kind = template["Parameters"][name].get("Type", "String")
        if kind.startswith("List<") or kind == "CommaDelimitedList":
            typed[name] = [v.strip() for v in value.split(",")] if value != "" else [""] if kind == "CommaDelimitedList" else []
        else:
            typed[name] = value
    return typed


def render(mode, extra=None):
    """The plain CloudFormation template of `mode` (see the module's description); `extra`
    sets further parameters, e.g. {"AlarmEmail": "ops@example.com"}."""
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "unpublished metrics" noise
    # samtranslator asks boto3 for a region even when AWS::Region is given; nothing is called.
    os.environ["AWS_DEFAULT_REGION"] = REGION
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform

    ArnGenerator.BOTO_SESSION_REGION_NAME = REGION
    template = load_template()
    values = parameter_values(template, mode, extra)
    # What `sam package` does before CloudFormation sees the template: code in S3.
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://cinema-artifacts/{logical_id}.zip"

    class NoManagedPolicies:
        def load(self):  # only called for managed policies named without an ARN
            return {}

    transformed = plain(transform(copy.deepcopy(template), dict(values, **PSEUDO), NoManagedPolicies()))
    typed = _typed(template, values)
    conditions = _evaluate_conditions(transformed.get("Conditions", {}), typed)

    for section in ("Resources", "Outputs"):
        kept = {}
        for logical_id, item in transformed.get(section, {}).items():
            condition = item.pop("Condition", None) if isinstance(item, dict) else None
            if condition is None or conditions[condition]:
                kept[logical_id] = item
        transformed[section] = kept
    transformed = _resolve(transformed, conditions, typed)
    for resource in transformed["Resources"].values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            resource["DependsOn"] = [depends]
    transformed["Conditions"] = conditions
    transformed["ParameterValues"] = typed  # not CloudFormation: what the mode set
    return transformed


def _evaluate_conditions(definitions, params):
    done = {}

    def value(node):
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg in params:
                    return params[arg]
                if arg in PSEUDO:
                    return PSEUDO[arg]
                raise ValueError(f"condition refers to {arg}, which is not a parameter")
            if key == "Condition":
                return condition(arg)
            if key == "Fn::Equals":
                a, b = (value(x) for x in arg)
                return a == b
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::And":
                return all(value(x) for x in arg)
            if key == "Fn::Or":
                return any(value(x) for x in arg)
            if key == "Fn::Select":
                index, items = arg
                items = value(items)
                return items[int(value(index))] if int(value(index)) < len(items) else ""
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(value(x)) for x in value(items))
            raise ValueError(f"unsupported function in a condition: {key}")
        if isinstance(node, list):
            return [value(x) for x in node]
        return node

    def condition(name):
        if name not in done:
            done[name] = bool(value(definitions[name]))
        return done[name]

    for name in definitions:
        condition(name)
    return done


def _resolve(node, conditions, params):
    if isinstance(node, dict):
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Fn::If":
                name, when_true, when_false = arg
                return _resolve(when_true if conditions[name] else when_false, conditions, params)
            if key in ("Fn::Select", "Fn::Split", "Fn::Join"):
                args = _resolve(arg, conditions, params)
                if _literal(args):
                    if key == "Fn::Select":
                        return args[1][int(args[0])]
                    if key == "Fn::Split":
                        return args[1].split(args[0])
                    return args[0].join(args[1])
                return {key: args}
            if key == "Ref" and isinstance(arg, str):
                if arg == "AWS::NoValue":
                    return NO_VALUE
                if arg in params:
                    return copy.deepcopy(params[arg])
                if arg in PSEUDO:
                    return PSEUDO[arg]
        out = {}
        for k, v in node.items():
            v = _resolve(v, conditions, params)
            if v is not NO_VALUE:
                out[k] = v
        return out
    if isinstance(node, list):
        return [v for v in (_resolve(x, conditions, params) for x in node) if v is not NO_VALUE]
    return node


def _literal(value):
    """No intrinsic function left inside."""
    if isinstance(value, dict):
        return False
    if isinstance(value, list):
        return all(_literal(v) for v in value)
    return True


# ---------------------------------------------------------------- reading a rendered template


def failed_rules(rendered):
    """AssertDescriptions of the template's Rules that the mode's parameters break (as
    CloudFormation would refuse the stack): [] when the parameters are acceptable."""

    def value(node):
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Fn::Equals":
                return value(arg[0]) == value(arg[1])
            if key == "Fn::Not":
                return not value(arg[0])
            if key == "Fn::And":
                return all(value(x) for x in arg)
            if key == "Fn::Or":
                return any(value(x) for x in arg)
            if key == "Fn::Contains":
                return value(arg[1]) in value(arg[0])
            raise ValueError(f"unsupported function in a rule: {key}")
        if isinstance(node, list):
            return [value(x) for x in node]
        return node

    failed = []
    for name, rule in rendered.get("Rules", {}).items():
        if "RuleCondition" in rule and not value(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not value(assertion["Assert"]):
                failed.append(f"{name}: {assertion.get('AssertDescription', '')}")
    return failed


def resources_of_type(rendered, kind):
    """{logical id: resource} of one CloudFormation type."""
    return {k: v for k, v in rendered["Resources"].items() if v.get("Type") == kind}


def function(rendered, logical_id):
    """The AWS::Lambda::Function resource SAM made of `logical_id`."""
    resource = rendered["Resources"][logical_id]
    if resource["Type"] != "AWS::Lambda::Function":
        raise KeyError(f"{logical_id} is a {resource['Type']}")
    return resource


def function_environment(rendered, logical_id):
    """That function's Environment.Variables ({} when it has none), intrinsics as described
    in the module's docstring: Fn::If resolved, parameter Refs replaced by their values,
    resource Refs and Fn::GetAtt / Fn::Sub kept as they are."""
    props = function(rendered, logical_id)["Properties"]
    return dict(props.get("Environment", {}).get("Variables", {}))


def function_role_statements(rendered, logical_id):
    """Every IAM policy statement of the function's execution role (inline policies), and the
    role's managed policy ARNs: (statements, managed_arns)."""
    role = function(rendered, logical_id)["Properties"]["Role"]
    role_id = role["Fn::GetAtt"][0]
    props = rendered["Resources"][role_id]["Properties"]
    statements = []
    for policy in props.get("Policies", []):
        statement = policy["PolicyDocument"]["Statement"]
        statements.extend(statement if isinstance(statement, list) else [statement])
    return statements, list(props.get("ManagedPolicyArns", []))


def http_api(rendered):
    """(logical id, resource) of the single AWS::ApiGatewayV2::Api."""
    apis = resources_of_type(rendered, "AWS::ApiGatewayV2::Api")
    if len(apis) != 1:
        raise AssertionError(f"expected one HTTP API, found {sorted(apis)}")
    return next(iter(apis.items()))


def _integration_function(integration):
    """The logical id of the Lambda function an integration calls (SAM writes an
    Fn::Sub of arn:...:functions/${X.Arn}/invocations, or a Fn::GetAtt)."""
    text = json.dumps(integration)
    match = re.search(r"\$\{(\w+)\.Arn\}", text) or re.search(r'"Fn::GetAtt": \["(\w+)", "Arn"\]', text)
    if not match:
        raise AssertionError(f"cannot tell which function this integration calls: {text}")
    return match.group(1)


def routes(rendered):
    """[(route key, logical id of the target function)] of the HTTP API, sorted.

    Route keys are API Gateway's: "GET /genres", "ANY /genres/{proxy+}", "$default". SAM
    writes HTTP API events into the API's inline OpenAPI Body (path -> method or
    x-amazon-apigateway-any-method -> x-amazon-apigateway-integration); separate
    AWS::ApiGatewayV2::Route resources (with their Integration) are read too."""
    _, api = http_api(rendered)
    found = []
    body = api["Properties"].get("Body", {})
    for path, methods in body.get("paths", {}).items():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "x-amazon-apigateway-integration" not in operation:
                continue
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            key = "$default" if path in ("$default", "/$default") else f"{verb} {path}"
            found.append((key, _integration_function(operation["x-amazon-apigateway-integration"])))
    for route in resources_of_type(rendered, "AWS::ApiGatewayV2::Route").values():
        target = route["Properties"].get("Target")
        integration_id = re.search(r"\$\{(\w+)\}|\"Ref\": \"(\w+)\"", json.dumps(target))
        integration_id = next(g for g in integration_id.groups() if g)
        integration = rendered["Resources"][integration_id]["Properties"]
        found.append((route["Properties"]["RouteKey"], _integration_function(integration.get("IntegrationUri"))))
    return sorted(found)


def stage(rendered):
    """The HTTP API's AWS::ApiGatewayV2::Stage resource (properties)."""
    stages = resources_of_type(rendered, "AWS::ApiGatewayV2::Stage")
    if len(stages) != 1:
        raise AssertionError(f"expected one stage, found {sorted(stages)}")
    return next(iter(stages.values()))["Properties"]


if __name__ == "__main__":  # python -m tests.support.cfn [mode]: print the rendered template
    import sys

    print(json.dumps(render(sys.argv[1] if len(sys.argv) > 1 else "create"), indent=2))
