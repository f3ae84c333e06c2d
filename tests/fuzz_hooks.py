"""Schemathesis hooks for tests/fuzz.py.

The local Lambda emulator (`cargo lambda watch`) converts each HTTP request into an API Gateway
event; a body with a JSON or text content type that is not valid UTF-8, or a header value that
is not ASCII (sent as Latin-1 bytes, which are not UTF-8), makes it answer its own 500 before
any function runs. Such bodies are left out here, and such header values replaced. What the functions do with them (API Gateway
hands bodies over base64-encoded) is covered by the router and contract tests: a 400 or 422
with our error body.
"""
import schemathesis


def _is_utf8(value):
    if isinstance(value, (bytes, bytearray)):
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return False
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


@schemathesis.hook
def filter_body(ctx, body):
    return _is_utf8(body)


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """A header value with characters outside ASCII is sent as "non ASCII" instead: still a
    value the document refuses where it allows visible ASCII only (a test meant to be refused
    stays one: it has a space), and one the emulator can carry."""
    for name, value in list((case.headers or {}).items()):
        if isinstance(value, str) and not value.isascii():
            case.headers[name] = "non ASCII"
