#!/usr/bin/env python3
"""Checks that template.yaml routes exactly the paths and methods each function's Router
serves: no route missing from API Gateway, none routed to a function that does not serve it.

Routers are read from each `functions/<name>/src/lib.rs` (`.route("/path", get(..).post(..))`);
the template's routes from the HttpApi events of the function whose binary is <name>.
"""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) read as plain values."""


CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)
)


def template_routes():
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CloudFormationLoader)
    routes = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        events = resource.get("Properties", {}).get("Events", {}) or {}
        for event in events.values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                routes.setdefault(binary, set()).add((props["Method"].upper(), props["Path"]))
    return routes


def router_routes():
    routes = {}
    for lib in sorted((ROOT / "functions").glob("*/src/lib.rs")):
        source = lib.read_text()
        found = set()
        for match in re.finditer(r'\.route\(\s*"([^"]+)",\s*(.*?)\)\s*(?=\.route\(|;)', source, re.S):
            path, handlers = match.groups()
            # axum's catch-all `{*name}` is API Gateway's greedy `{name+}`.
            path = re.sub(r"\{\*(\w+)\}", r"{\1+}", path)
            for method in re.findall(r"\b(get|post|put|patch|delete)\(", handlers):
                found.add((method.upper(), path))
        if found:
            routes[lib.parent.parent.name] = found
    return routes


def main():
    template, routers = template_routes(), router_routes()
    problems = []
    for function in sorted(set(template) | set(routers)):
        served, routed = routers.get(function, set()), template.get(function, set())
        for method, path in sorted(served - routed):
            problems.append(f"{function}: {method} {path} is served but not routed in template.yaml")
        for method, path in sorted(routed - served):
            problems.append(f"{function}: {method} {path} is routed in template.yaml but not served")
    total = sum(len(r) for r in routers.values())
    if problems:
        print("\n".join(problems))
        print(f"route parity: {len(problems)} mismatches")
        sys.exit(1)
    print(f"route parity: {total} routes of {len(routers)} functions match template.yaml")


if __name__ == "__main__":
    main()
