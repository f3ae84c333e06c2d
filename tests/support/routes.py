"""How an HTTP API selects a route, as AWS documents it: the one route selector of the template
test (every served path, both ways a greedy route may treat an empty remainder) and of the
platform harness (which function an event goes to, with its path parameters)."""
import re


def _segments(path):
    return path.split("/")[1:]  # "/genres/" -> ["genres", ""]


def _matches(route_path, request_path, empty_proxy):
    """Whether a route path (no trailing slash, maybe ending in {proxy+}) matches a request
    path. A {param} matches one non-empty segment; {proxy+} matches the rest, which must be
    non-empty unless `empty_proxy` (the uncertain case: "/genres/" against
    "/genres/{proxy+}")."""
    route, request = _segments(route_path), _segments(request_path)
    greedy = route and re.fullmatch(r"\{\w+\+\}", route[-1])
    fixed = route[:-1] if greedy else route
    if greedy:
        if len(request) < len(fixed) + 1:
            return False
        rest = request[len(fixed):]
        if rest == [""] and not empty_proxy:
            return False
    elif len(request) != len(fixed):
        return False
    for want, got in zip(fixed, request):
        if re.fullmatch(r"\{\w+\}", want):
            if got == "":
                return False
        elif want != got:
            return False
    return True


def select_route(route_keys, method, path, empty_proxy):
    """The route key an HTTP API picks for `method path`: a route without a greedy variable
    (method, then ANY; literal segments before {param}s), else the greedy route with the
    longest fixed prefix (method, then ANY), else $default (None when there is none)."""
    parsed = [(key.split(" ", 1)[0], key.split(" ", 1)[1], key) for key in route_keys if key != "$default"]
    exact = [(m, p, k) for m, p, k in parsed if "+}" not in p and _matches(p, path, empty_proxy)]
    for wanted in (method, "ANY"):
        hits = [(p.count("{"), k) for m, p, k in exact if m == wanted]
        if hits:
            return min(hits)[1]
    greedy = [(m, p, k) for m, p, k in parsed if "+}" in p and _matches(p, path, empty_proxy)]
    if greedy:
        longest = max(len(_segments(p)) for _, p, _ in greedy)
        for wanted in (method, "ANY"):
            hits = [k for m, p, k in greedy if m == wanted and len(_segments(p)) == longest]
            if hits:
                return hits[0]
    return "$default" if "$default" in route_keys else None


def parameters(route_key, path):
    """The path parameters route `route_key` gives `path` (`{id}` -> "1", `{proxy+}` -> the rest)."""
    template = route_key.split(" ", 1)[1] if " " in route_key else route_key
    found = {}
    for part, segment in zip(_segments(template), _segments(path)):
        if re.fullmatch(r"\{\w+\+\}", part):
            prefix = "/".join(_segments(template)[:-1])
            found[part[1:-2]] = path[len(prefix) + 2:]
            break
        if re.fullmatch(r"\{\w+\}", part):
            found[part[1:-1]] = segment
    return found
