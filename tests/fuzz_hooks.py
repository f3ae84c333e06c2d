"""Schemathesis hooks for tests/fuzz.py.

The local Lambda emulator (`cargo lambda watch`) converts each HTTP request into an API Gateway
event; a body with a JSON or text content type that is not valid UTF-8 makes it answer its own
500 before any function runs. Such bodies are left out here. What the functions do with them
(API Gateway hands them over base64-encoded) is covered by the router and contract tests:
a 400 with our error body.
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
