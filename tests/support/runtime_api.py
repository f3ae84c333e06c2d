"""A minimal, deterministic Lambda Runtime API and Invoke API, for running the deployed
packages (target/lambda/<bin>/bootstrap) offline.

    import runtime_api
    emulator = runtime_api.start({"auth": {"timeout": 10}, "films": {"timeout": 10}})
    env = {"AWS_LAMBDA_RUNTIME_API": emulator.runtime_api("auth"), ...}   # "127.0.0.1:PORT"
    payload, error = emulator.invoke("auth", event, timeout=30)
    emulator.init_errors("auth")      # what the function POSTed to /runtime/init/error
    emulator.stop()

Each function has its own listener (port), as each Lambda sandbox has its own Runtime API;
AWS_LAMBDA_RUNTIME_API is "127.0.0.1:PORT" without a scheme, exactly what Lambda sets
(lambda_runtime_api_client 1.x defaults the scheme to http). On every listener, and on the
emulator's own `endpoint` (for AWS_ENDPOINT_URL_LAMBDA):

- GET  /2018-06-01/runtime/invocation/next          blocks for the function's next event;
  answers with Lambda-Runtime-Aws-Request-Id, -Deadline-Ms (now + the function's timeout),
  -Invoked-Function-Arn and -Trace-Id;
- POST /2018-06-01/runtime/invocation/{id}/response  completes it with a payload;
- POST /2018-06-01/runtime/invocation/{id}/error     completes it with an error;
- POST /2018-06-01/runtime/init/error                records an init failure;
- POST /2015-03-31/functions/{name}/invocations      the Invoke API (RequestResponse):
  enqueues the body for {name} (a name or an ARN, optionally qualified) and answers with its
  payload, 200, with `X-Amz-Function-Error: Unhandled` when the function reported an error;
  404 ResourceNotFoundException for an unknown function. The SigV4 Authorization header is
  recorded (not verified) in `invoke_log`.

One invocation at a time per function, in order, as one Lambda instance serves them.
"""
import base64
import http.server
import json
import queue
import select
import socket
import threading
import time
import urllib.parse
import uuid

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "/2018-06-01/runtime"


class Invocation:
    def __init__(self, function, body):
        self.id = str(uuid.uuid4())
        self.function = function
        self.body = body
        self.trace_id = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
        self.done = threading.Event()
        # When the function took the event (its init over, for the first) and when it answered,
        # in time.perf_counter_ns(): Lambda's "Init Duration" and "Duration".
        self.taken_at = None
        self.done_at = None
        self.payload = None
        self.error = None
        self.taken = threading.Event()


class Function:
    def __init__(self, name, timeout, memory):
        self.name = name
        self.timeout = timeout
        self.memory = memory
        self.arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.events = queue.Queue()
        self.init_errors = []
        self.polls = 0
        self.server = None
        # Called with each invocation just before the function is handed it (its init over).
        self.before_event = None


class Emulator:
    def __init__(self):
        self.functions = {}
        self.invocations = {}
        self.invoke_log = []  # (function name, Authorization header) of Invoke API calls
        self.lock = threading.Lock()
        self.servers = []
        self.stopping = threading.Event()
        self.api = None

    # ------------------------------------------------------------ set-up

    def add(self, name, timeout=3, memory=128):
        function = Function(name, timeout, memory)
        function.server = self._serve(function)
        self.functions[name] = function
        return function

    def _serve(self, function):
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        Handler.function = function
        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return server

    @property
    def endpoint(self):
        """URL of the Invoke API (for AWS_ENDPOINT_URL_LAMBDA)."""
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    def runtime_api(self, name):
        """AWS_LAMBDA_RUNTIME_API of function `name`: host:port, no scheme, as Lambda sets it."""
        return f"127.0.0.1:{self.functions[name].server.server_address[1]}"

    def stop(self):
        self.stopping.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()

    # ------------------------------------------------------------ invoking

    def submit(self, name, body):
        function = self.functions[name]
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        invocation = Invocation(function, body)
        with self.lock:
            self.invocations[invocation.id] = invocation
        function.events.put(invocation)
        return invocation

    def invoke(self, name, event, timeout=None):
        """Sends `event` to function `name` and waits for its answer: (payload, error), the
        payload parsed as JSON (or raw text if it is not JSON), error the function's error
        document or None. Raises TimeoutError if nothing came back within `timeout` seconds
        (default: the function's timeout plus 5 s)."""
        function = self.functions[name]
        invocation = self.submit(name, event)
        if not invocation.done.wait(timeout if timeout is not None else function.timeout + 5):
            state = "taken by the function" if invocation.taken.is_set() else "never fetched by the function"
            raise TimeoutError(f"{name}: no answer within {timeout} s (event {state})")
        return _parse(invocation.payload), invocation.error

    def init_errors(self, name):
        return list(self.functions[name].init_errors)

    def polls(self, name):
        """How many times the function has asked for its next event."""
        return self.functions[name].polls


def _parse(raw):
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up (a function being stopped) is not an error here


class _Handler(http.server.BaseHTTPRequestHandler):
    emulator = None
    function = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("content-type", (headers or {}).get("content-type", "application/json"))
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == f"{PREFIX}/invocation/next" and self.function is not None:
            return self._next()
        self._send(404, {"errorType": "NotFound", "errorMessage": path})

    def _caller_gone(self):
        """Whether the process waiting on this connection has closed it (it was stopped)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _next(self):
        function = self.function
        function.polls += 1
        while not self.emulator.stopping.is_set():
            try:
                invocation = function.events.get(timeout=0.5)
            except queue.Empty:
                if self._caller_gone():
                    return None
                continue
            if self._caller_gone():
                # A function process stopped while it waited: the event is the next process's.
                with function.events.mutex:
                    function.events.queue.appendleft(invocation)
                    function.events.not_empty.notify()
                return None
            invocation.taken_at = time.perf_counter_ns()
            if function.before_event is not None:
                function.before_event(invocation)
            invocation.taken.set()
            deadline = int((time.time() + function.timeout) * 1000)
            return self._send(200, invocation.body, {
                "Lambda-Runtime-Aws-Request-Id": invocation.id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": function.arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            })
        self.close_connection = True

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self._body()
        if path.startswith("/2015-03-31/functions/") and path.endswith("/invocations"):
            return self._invoke_api(path, body)
        if self.function is None:
            return self._send(404, {"errorType": "NotFound", "errorMessage": path})
        if path == f"{PREFIX}/init/error":
            self.function.init_errors.append({
                "type": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                "body": _parse(body),
            })
            return self._send(202, {"status": "OK"})
        parts = path[len(PREFIX):].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            with self.emulator.lock:
                invocation = self.emulator.invocations.pop(parts[1], None)
            if invocation is None or invocation.function is not self.function:
                return self._send(400, {"errorType": "InvalidRequestID", "errorMessage": parts[1]})
            if parts[2] == "response":
                invocation.payload = body
            else:
                invocation.payload = body
                invocation.error = _parse(body) or {"errorType": self.headers.get("Lambda-Runtime-Function-Error-Type")}
            invocation.done_at = time.perf_counter_ns()
            invocation.done.set()
            return self._send(202, {"status": "OK"})
        self._send(404, {"errorType": "NotFound", "errorMessage": path})

    def _invoke_api(self, path, body):
        name = urllib.parse.unquote(path[len("/2015-03-31/functions/"):-len("/invocations")])
        if name.startswith("arn:"):
            name = name.split(":function:", 1)[-1]
        name = name.split(":", 1)[0]  # a qualifier (version or alias)
        self.emulator.invoke_log.append((name, self.headers.get("authorization")))
        function = self.emulator.functions.get(name)
        if function is None:
            return self._send(404, {"Type": "User", "message": f"Function not found: {name}"},
                              {"x-amzn-ErrorType": "ResourceNotFoundException"})
        invocation = self.emulator.submit(name, body)
        if not invocation.done.wait(function.timeout + 5):
            return self._send(200, {"errorMessage": "Task timed out", "errorType": "Sandbox.Timedout"},
                              {"X-Amz-Function-Error": "Unhandled"})
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if invocation.error is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
        self._send(200, invocation.payload or b"null", headers)


def start(functions):
    """An emulator serving `functions`: {name: {"timeout": seconds, "memory": MB}} (or a list
    of names, 3 s each)."""
    emulator = Emulator()
    emulator.api = emulator._serve(None)
    if isinstance(functions, (list, tuple)):
        functions = {name: {} for name in functions}
    for name, spec in functions.items():
        emulator.add(name, spec.get("timeout", 3), spec.get("memory", 128))
    return emulator


# ---------------------------------------------------------------- what Lambda hands a function

def lambda_environment(emulator, name, memory, moto_endpoint, logging_config=None):
    """What Lambda itself sets for a function (and the emulators' endpoints)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_RUNTIME_API": emulator.runtime_api(name),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_LOG_FORMAT": (logging_config or {}).get("LogFormat", "JSON"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ENDPOINT_URL_LAMBDA": emulator.endpoint,
    }
    level = (logging_config or {}).get("ApplicationLogLevel")
    if level and env["AWS_LAMBDA_LOG_FORMAT"] == "JSON":
        env["AWS_LAMBDA_LOG_LEVEL"] = level
    return env


# ---------------------------------------------------------------- API Gateway v2 events

def api_event(method, path, route_key, path_parameters=None, body=None, headers=None, query="",
              form=None):
    """An API Gateway HTTP API payload v2 event, as the fixtures in functions/*/tests/events/."""
    all_headers = {
        "accept": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "aws-fidelity/1",
        "x-amzn-trace-id": "Root=1-6560a1b2-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.9",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    raw, encoded = None, False
    if body is not None:
        raw = json.dumps(body)
        all_headers["content-type"] = "application/json"
    if form is not None:
        raw = base64.b64encode(urllib.parse.urlencode(form).encode()).decode()
        encoded = True
        all_headers["content-type"] = "application/x-www-form-urlencoded"
    if raw is not None:
        all_headers["content-length"] = str(len(raw))
    all_headers.update(headers or {})
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "aws-fidelity/1"},
            "requestId": f"req-{time.time_ns()}", "routeKey": route_key, "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = dict(urllib.parse.parse_qsl(query))
    if path_parameters:
        event["pathParameters"] = path_parameters
    if raw is not None:
        event["body"] = raw
    return event


def http_response(payload):
    """(status, parsed body) of a lambda_http v2 response payload."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return None, payload
    body = payload.get("body") or ""
    if payload.get("isBase64Encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    try:
        body = json.loads(body) if body else None
    except ValueError:
        pass
    return payload["statusCode"], body
