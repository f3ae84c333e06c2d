"""Access tokens as the API issues them, for the scripts that call the functions directly."""
import base64
import hashlib
import hmac
import json
import time


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(key, user_id, role="user"):
    """An HS256 access token (claims sub, role, iat, exp) with the default 15-minute lifetime:
    the functions refuse tokens that live longer than they issue."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps(
        {"sub": str(user_id), "role": role, "iat": now, "exp": now + 900}).encode())
    signature = hmac.new(key.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(signature)}"
