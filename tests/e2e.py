#!/usr/bin/env python3
"""End to end: the functions under `cargo lambda watch`, real HTTP at one base URL,
secrets from the local Secrets Manager emulator, and a check that the logs give nothing away.
Online sales against the local Stripe stand-in (localstripe), whose webhook is registered to
the API: a purchase paid by card, the event delivered by the stand-in and forged ones signed
with the official stripe library, and a refund. While the API runs: Schemathesis against its
OpenAPI document (tests/fuzz.py), and Swagger UI and the shop page in headless Chromium
(tests/browser/).

Run by `make e2e` (part of `make test`), which starts the emulator and migrates the database.
Environment: DATABASE_HOST/PORT/NAME of a migrated database, AWS_ENDPOINT_URL of the emulator,
STRIPE_API_BASE of the Stripe stand-in, ADMIN_USERNAME/ADMIN_PASSWORD of the first admin,
E2E_PORT (default: a free port), E2E_LOG.
"""
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from tests import fuzz

from tests.support.processes import free_port, stop_group
from tests.support import secrets_emulator



PORT = int(os.environ.get("E2E_PORT") or free_port())
BASE = f"http://127.0.0.1:{PORT}"
LOG = os.environ.get("E2E_LOG", "target/e2e/watch.log")
# The document the flow fetched and checked; Schemathesis reads it from here, so that each of
# its runs does not depend on one more request.
DOCUMENT = os.path.join(os.path.dirname(LOG), "openapi.json")
checks = 0
last_headers = {}
# The payment provider's keys, in the application secret as a deployment holds them.
STRIPE_KEY = "sk_test_e2e_" + secrets.token_hex(8)
WEBHOOK_SECRET = "whsec_e2e_" + secrets.token_hex(16)
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "http://127.0.0.1:8420")
# A screening with free seats and online sales open, for the shop page in Chromium.
SHOP_SCREENING = None


def call(method, path, body=None, token=None, form=None):
    headers = {"accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    global last_headers
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, last_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, last_headers = error.code, error.read(), error.headers
    return status, (json.loads(raw) if raw else None)


def expect(what, status, body, wanted):
    global checks
    checks += 1
    if status != wanted:
        sys.exit(f"FAIL {what}: expected {wanted}, got {status}: {body}")
    print(f"ok   {what} -> {status}")
    return body


def create_secrets():
    """The app secret and the database secret in the emulator: (app ARN, database ARN, key)."""
    return secrets_emulator.app_and_database(os.environ["AWS_ENDPOINT_URL"], "e2e", secrets_emulator.database_secret(
        os.environ["DATABASE_NAME"], host=os.environ.get("DATABASE_HOST", "127.0.0.1"),
        port=os.environ.get("DATABASE_PORT", "5432")),
        {"stripe_secret_key": STRIPE_KEY, "stripe_webhook_secret": WEBHOOK_SECRET})


def start_watch(app_arn, db_arn):
    env_vars = ",".join([
        f"APP_SECRET_ARN={app_arn}", f"DB_SECRET_ARN={db_arn}", "DB_SSL_MODE=disable",
        f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']}", "AWS_ACCESS_KEY_ID=test",
        "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_LAMBDA_LOG_FORMAT=JSON",
        "BCRYPT_COST=10", f"STRIPE_API_BASE={STRIPE_API_BASE}", "STRIPE_PUBLISHABLE_KEY=pk_test_e2e",
        f"STRIPE_JS_URL={os.environ.get('STRIPE_JS_URL', STRIPE_API_BASE + '/js.stripe.com/v3/completed.js')}",
        # Every request here comes from 127.0.0.1, thousands of them from the fuzzer: the
        # per-address limits are raised, the per-account ones keep their defaults.
        "SIGN_IN_ADDRESS_LIMIT=1000000", "REGISTRATION_ADDRESS_LIMIT=1000000",
    ])
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    log = open(LOG, "w")
    return subprocess.Popen(
        ["cargo", "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", str(PORT), "--env-var", env_vars],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_until_up(watch, seconds=900):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if watch.poll() is not None:
            sys.exit(f"cargo lambda watch exited early; see {LOG}")
        try:
            # Both kinds of function answer: one with secrets and a database, and the docs
            # function (cargo lambda watch has answered a function's very first request with
            # its own 500 while the function, just started, answered 200).
            if call("GET", "/users/me")[0] == 401 and call("GET", "/openapi.json")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(2)
    sys.exit(f"the API did not answer within {seconds} s; see {LOG}")


def flow():
    sensitive = []
    document = expect("the OpenAPI document", *call("GET", "/openapi.json"), 200)
    assert document["openapi"] == "3.1.0" and "/reservations" in document["paths"], document.keys()
    with open(DOCUMENT, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    password = "E2e#" + secrets.token_hex(8)
    sensitive.append(password)
    username = "e2e_" + secrets.token_hex(4)

    user = expect("register", *call("POST", "/auth/register", {
        "username": username, "password": password, "confirm_password": password, "full_name": "End Toend"}), 201)
    expect("register again", *call("POST", "/auth/register/", {
        "username": username.upper(), "password": password, "confirm_password": password, "full_name": "End Toend"}), 409)
    expect("login with a wrong password", *call("POST", "/auth/login", form={"username": username, "password": password + "x"}), 401)
    tokens = expect("login with the OAuth2 form", *call("POST", "/auth/login", form={
        "grant_type": "password", "username": username, "password": password}), 200)
    sensitive += [tokens["access_token"], tokens["refresh_token"]]
    me = expect("me", *call("GET", "/users/me", token=tokens["access_token"]), 200)
    assert me["id"] == user["id"] and me["role"] == "user", me

    rotated = expect("refresh", *call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}), 200)
    sensitive += [rotated["access_token"], rotated["refresh_token"]]
    expect("old refresh token rejected", *call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}), 401)
    expect("logout", *call("POST", "/auth/logout", {"refresh_token": rotated["refresh_token"]}), 204)
    expect("refresh after logout rejected", *call("POST", "/auth/refresh", {"refresh_token": rotated["refresh_token"]}), 401)

    # The README's newcomer path: sign in as the first admin, promote the user to cashier.
    admin_password = os.environ["ADMIN_PASSWORD"]
    sensitive.append(admin_password)
    admin = expect("admin login (JSON)", *call("POST", "/auth/login", {
        "username": os.environ["ADMIN_USERNAME"], "password": admin_password}), 200)
    sensitive += [admin["access_token"], admin["refresh_token"]]
    promoted = expect("promote to cashier", *call("PATCH", f"/users/{user['id']}/role", {"role": "cashier"}, token=admin["access_token"]), 200)
    assert promoted["role"] == "cashier", promoted
    listed = expect("list cashiers", *call("GET", "/users?role=cashier", token=admin["access_token"]), 200)
    assert any(u["id"] == user["id"] for u in listed["items"]), listed
    expect("a user may not list users", *call("GET", "/users", token=rotated["access_token"]), 403)

    # The catalogue, the schedule and a booking, each served by its own function at the same
    # base URL.
    token = admin["access_token"]
    genre = expect("create a genre", *call("POST", "/genres", {"title": "Noir " + secrets.token_hex(3)}, token=token), 201)
    film = expect("create a film", *call("POST", "/films", {
        "title": "E2E " + secrets.token_hex(4), "age_rating": "PG-13", "duration_minutes": 95,
        "release_year": 2024, "genre_ids": [genre["id"]]}, token=token), 201)
    listed = expect("list films by genre", *call("GET", f"/films?genre_id={genre['id']}"), 200)
    assert [f["id"] for f in listed["items"]] == [film["id"]], listed
    starts_at = time.strftime("%Y-%m-%dT%H:%M:00+00:00", time.gmtime(time.time() + 86400 * 30 + secrets.randbelow(86400 * 300)))
    screening = expect("schedule a screening", *call("POST", "/screenings", {
        "film_id": film["id"], "hall_id": 4, "starts_at": starts_at, "base_price": "10.00"}, token=token), 201)
    assert screening["seats_free"] == 70, screening
    seats = expect("seat map", *call("GET", f"/screenings/{screening['id']}/seats/"), 200)
    assert seats[0]["price"] == "15.20", seats[0]

    customer = login_new_customer(sensitive)
    booking = expect("book two seats", *call("POST", "/reservations", {
        "ticket_ids": [seats[0]["ticket_id"], seats[1]["ticket_id"]]}, token=customer), 201)
    assert booking["total_price"] == "30.40", booking
    expect("the same seat again", *call("POST", "/reservations", {"ticket_ids": [seats[1]["ticket_id"]]}, token=admin["access_token"]), 409)
    reserved = expect("seat map shows the booking", *call("GET", f"/screenings/{screening['id']}/seats?status=reserved"), 200)
    assert [s["ticket_id"] for s in reserved] == [seats[0]["ticket_id"], seats[1]["ticket_id"]], reserved
    expect("cancel", *call("POST", f"/reservations/{booking['id']}/cancel", token=customer), 200)
    expect("the seat is free again", *call("POST", "/reservations", {"ticket_ids": [seats[1]["ticket_id"]]}, token=customer), 201)
    cashier = expect("the cashier signs in", *call("POST", "/auth/login", {"username": username, "password": password}), 200)
    sensitive += [cashier["access_token"], cashier["refresh_token"]]
    box_office(token, cashier["access_token"], customer, film)
    online(customer, cashier["access_token"], screening, seats)
    global SHOP_SCREENING
    SHOP_SCREENING = screening["id"]
    accounts(admin["access_token"], sensitive)
    return sensitive


def box_office(admin, cashier, customer, film):
    """README's sale at the till and check-in: a screening in 30 minutes, a seat sold and paid in
    one request, another held and paid later, each pass admitted once, the day's report."""
    starts_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 1800))
    screening = expect("a screening in 30 minutes", *call("POST", "/screenings", {
        "film_id": film["id"], "hall_id": 6, "starts_at": starts_at, "base_price": "9.50"}, token=admin), 201)
    seats = expect("its seat map", *call("GET", f"/screenings/{screening['id']}/seats?status=free"), 200)
    me = expect("the customer", *call("GET", "/users/me", token=customer), 200)
    expect("booking unpaid after its pay-by time", *call("POST", "/reservations", {
        "ticket_ids": [seats[0]["ticket_id"]]}, token=customer), 409)
    sale = expect("a sale at the till, paid in cash", *call("POST", "/reservations", {
        "ticket_ids": [seats[0]["ticket_id"]], "user_id": me["id"], "payment_method": "cash"}, token=cashier), 201)
    assert sale["status"] == "paid" and sale["paid_by"]["username"], sale
    code = sale["tickets"][0]["code"]
    pass_ = expect("the pass, by its code", *call("GET", f"/passes/{code}"), 200)
    assert pass_["status"] == "valid" and pass_["screening_id"] == screening["id"], pass_
    request = urllib.request.Request(f"{BASE}/passes/{code}/qr.svg")
    with urllib.request.urlopen(request, timeout=60) as response:
        svg = response.read().decode()
        check("its QR code is an SVG image", response.headers["content-type"] == "image/svg+xml" and "<svg" in svg)
    expect("a customer cannot scan passes", *call("POST", "/check-in", {"code": code}, token=customer), 403)
    admitted = expect("check-in admits the pass", *call("POST", "/check-in", {"code": code}, token=cashier), 200)
    again = expect("a second scan is refused", *call("POST", "/check-in", {"code": code}, token=cashier), 409)
    check("the refusal names the first admission",
          again["code"] == "already_admitted" and again["admitted_at"] == admitted["admitted_at"])
    expect("an unknown pass", *call("GET", "/passes/" + "A" * 22), 404)
    day = time.strftime("%Y-%m-%dT00:00:00+00:00", time.gmtime(time.time() - 86400))
    until = time.strftime("%Y-%m-%dT00:00:00+00:00", time.gmtime(time.time() + 2 * 86400))
    report = expect("the sales report", *call("GET", "/reports/sales?" + urllib.parse.urlencode({
        "from": day, "to": until, "group_by": "screening"}), token=admin), 200)
    row = next(r for r in report["rows"] if r["screening"]["id"] == screening["id"])
    check(f"the report counts the sale: {row}", row["seats_paid"] == 1 and row["seats_admitted"] == 1
          and row["revenue"] == seats[0]["price"])
    expect("reports are for admins", *call("GET", "/reports/sales?" + urllib.parse.urlencode({
        "from": day, "to": until}), token=cashier), 403)


def stripe_library():
    """The official library, pointed at the stand-in."""
    import stripe

    stripe.api_key = STRIPE_KEY
    stripe.api_base = STRIPE_API_BASE
    return stripe


def signed(stripe, payload, timestamp=None, secret=WEBHOOK_SECRET):
    """`Stripe-Signature` for `payload` as the provider makes it (the library's own signing)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return f"t={timestamp},v1={signature}"


def post_event(payload, signature):
    request = urllib.request.Request(BASE + "/payments/stripe", data=payload.encode(), method="POST",
                                     headers={"content-type": "application/json", "stripe-signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def online(customer, cashier, screening, seats):
    """README's online purchase: checkout, the card paid at the provider, the provider's webhook
    (delivered by the stand-in) paying the reservation; forged events; a refund."""
    stripe = stripe_library()
    stand_in = urllib.request.Request(f"{STRIPE_API_BASE}/_config/webhooks/e2e", method="POST",
                                      data=urllib.parse.urlencode({"url": BASE + "/payments/stripe",
                                                                   "secret": WEBHOOK_SECRET}).encode())
    urllib.request.urlopen(stand_in, timeout=30).read()
    seat = seats[10]["ticket_id"]
    booked = expect("book a seat in checkout", *call("POST", "/reservations", {
        "ticket_ids": [seat], "checkout": True}, token=customer), 201)
    checkout = booked["checkout"]
    check(f"the checkout charges the reservation's total: {checkout['amount']} {checkout['currency']}",
          checkout["amount"] == 1520 and checkout["currency"] == "eur" and checkout["expires_at"] == booked["pay_by"])
    method = stripe.PaymentMethod.create(type="card", card={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"})
    stripe.PaymentIntent.modify(checkout["payment_intent_id"], payment_method=method.id)
    intent = stripe.PaymentIntent.confirm(checkout["payment_intent_id"])
    check(f"the card payment succeeded at the provider: {intent.status}", intent.status == "succeeded")
    deadline = time.time() + 30
    while time.time() < deadline:
        stored = expect("the reservation, as its customer reads it", *call(
            "GET", f"/reservations/{booked['id']}", token=customer), 200)
        if stored["status"] == "paid":
            break
        time.sleep(1)
    check("the provider's webhook paid it: online, with its pass",
          stored["status"] == "paid" and stored["payment_method"] == "online" and stored["tickets"][0]["code"])

    event = json.dumps({"id": "evt_e2e_" + secrets.token_hex(8), "object": "event",
                        "type": "payment_intent.succeeded", "data": {"object": intent.to_dict()}})
    status, body = post_event(event, signed(stripe, event))
    check(f"a forged duplicate of the success changes nothing: {status} {body.get('outcome')}",
          status == 200 and body["outcome"] == "duplicate")
    status, body = post_event(event, signed(stripe, event, timestamp=int(time.time()) - 600))
    check(f"a signature ten minutes old is refused: {status}", status == 400 and body["code"] == "invalid_signature")
    status, body = post_event(event, signed(stripe, event, secret="whsec_someone_else"))
    check(f"a signature with another secret is refused: {status}", status == 400 and body["code"] == "invalid_signature")

    refunded = expect("the customer cancels: refunded at the provider", *call(
        "POST", f"/reservations/{booked['id']}/cancel", token=customer), 200)
    check(f"the refund: {refunded['refund']}", refunded["refunded"] is True
          and refunded["refund"]["status"] == "succeeded" and refunded["refund"]["amount"] == 1520)
    at_provider = [r for r in stripe.Refund.list(limit=100).data if r.payment_intent == intent.id]
    check("the provider holds exactly one refund of it", len(at_provider) == 1 and at_provider[0].amount == 1520)


def check(what, ok):
    global checks
    checks += 1
    if not ok:
        sys.exit(f"FAIL {what}")
    print(f"ok   {what}")


def accounts(admin_token, sensitive):
    """A bounded brute force, a password change and a deactivation, through the real API."""
    password = "Vict#" + secrets.token_hex(8)
    sensitive.append(password)
    username = "victim_" + secrets.token_hex(4)
    expect("register the brute-force target", *call("POST", "/auth/register", {
        "username": username, "password": password, "confirm_password": password, "full_name": "Vic Tim"}), 201)
    guesses = [call("POST", "/auth/login", {"username": username, "password": f"Guess#{n}aA"})[0] for n in range(8)]
    check(f"eight wrong passwords: {guesses}", guesses == [401] * 5 + [429] * 3)
    expect("the right password during the lock-out", *call("POST", "/auth/login", {
        "username": username.upper(), "password": password}), 429)
    retry = int(last_headers.get("Retry-After", "0"))
    check(f"Retry-After: {retry} s", 0 < retry <= 30)
    unknown = "nobody_" + secrets.token_hex(4)
    misses = [call("POST", "/auth/login", {"username": unknown, "password": f"Guess#{n}aA"})[0] for n in range(8)]
    check(f"an unknown username meets the same limiter: {misses}", misses == guesses)

    old_password, new_password = "Pass#" + secrets.token_hex(8), "Next#" + secrets.token_hex(8)
    sensitive += [old_password, new_password]
    customer = "acct_" + secrets.token_hex(4)
    account = expect("register an account", *call("POST", "/auth/register", {
        "username": customer, "password": old_password, "confirm_password": old_password,
        "full_name": "Acc Ount"}), 201)
    tokens = expect("sign in", *call("POST", "/auth/login", {"username": customer, "password": old_password}), 200)
    sensitive += [tokens["access_token"], tokens["refresh_token"]]
    check("token responses are Cache-Control: no-store", last_headers.get("Cache-Control") == "no-store")
    expect("change the password", *call("POST", "/users/me/password", {
        "current_password": old_password, "new_password": new_password, "confirm_password": new_password},
        token=tokens["access_token"]), 204)
    expect("the refresh token is revoked", *call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}), 401)
    expect("the old password is refused", *call("POST", "/auth/login", {"username": customer, "password": old_password}), 401)
    expect("deactivate the account", *call("PATCH", f"/users/{account['id']}", {"active": False}, token=admin_token), 200)
    expect("a deactivated account cannot sign in", *call("POST", "/auth/login", {
        "username": customer, "password": new_password}), 401)
    expect("nor use its access token", *call("GET", "/users/me", token=tokens["access_token"]), 401)


def login_new_customer(sensitive):
    password = "Cust#" + secrets.token_hex(8)
    sensitive.append(password)
    username = "cust_" + secrets.token_hex(4)
    expect("register a customer", *call("POST", "/auth/register", {
        "username": username, "password": password, "confirm_password": password, "full_name": "Cine Goer"}), 201)
    tokens = expect("customer login", *call("POST", "/auth/login", {"username": username, "password": password}), 200)
    sensitive += [tokens["access_token"], tokens["refresh_token"]]
    return tokens["access_token"]


def fuzz_tokens(sensitive):
    """A customer's and an admin's access tokens for Schemathesis."""
    customer = login_new_customer(sensitive)
    admin_password = "Fuzz#" + secrets.token_hex(8)
    sensitive.append(admin_password)
    username = "fuzz_" + secrets.token_hex(4)
    account = expect("register the fuzzing admin", *call("POST", "/auth/register", {
        "username": username, "password": admin_password, "confirm_password": admin_password,
        "full_name": "Fuzz Admin"}), 201)
    first = expect("first admin login", *call("POST", "/auth/login", {
        "username": os.environ["ADMIN_USERNAME"], "password": os.environ["ADMIN_PASSWORD"]}), 200)
    sensitive += [first["access_token"], first["refresh_token"]]
    expect("promote the fuzzing admin", *call("PATCH", f"/users/{account['id']}/role", {"role": "admin"},
                                             token=first["access_token"]), 200)
    admin = expect("fuzzing admin login", *call("POST", "/auth/login", {"username": username, "password": admin_password}), 200)
    sensitive += [admin["access_token"], admin["refresh_token"]]
    return [("user", customer), ("admin", admin["access_token"])]


def browser():
    """Swagger UI in headless Chromium: Authorize as the first admin, Try it out on /users/me."""
    global checks
    print("== Swagger UI in Chromium", flush=True)
    finished = subprocess.run(["node", "tests/browser/docs.test.mjs"], env={
        **os.environ, "BASE_URL": BASE, "DOCS_USERNAME": os.environ["ADMIN_USERNAME"],
        "DOCS_PASSWORD": os.environ["ADMIN_PASSWORD"], "SCREENSHOT": "target/browser/swagger-ui.png"})
    if finished.returncode != 0:
        sys.exit("FAIL Swagger UI in Chromium; see above and target/browser/")
    checks += 1


def shop(sensitive):
    """The shop page in Chromium: a customer picks two seats, pays by card, sees the passes."""
    global checks
    print("== the shop page in Chromium", flush=True)
    password = "Shop#" + secrets.token_hex(8)
    sensitive.append(password)
    username = "shop_" + secrets.token_hex(4)
    expect("register the shop's customer", *call("POST", "/auth/register", {
        "username": username, "password": password, "confirm_password": password, "full_name": "Shop Per"}), 201)
    finished = subprocess.run(["node", "tests/browser/shop.test.mjs"], env={
        **os.environ, "BASE_URL": BASE, "SHOP_USERNAME": username, "SHOP_PASSWORD": password,
        "SHOP_SCREENING": str(SHOP_SCREENING), "STRIPE_ORIGIN": STRIPE_API_BASE,
        "SCREENSHOT": "target/browser/shop.png"})
    if finished.returncode != 0:
        sys.exit("FAIL the shop page in Chromium; see above and target/browser/")
    checks += 1


def generated_clients():
    """The README's flows through the clients generated from the document (make openapi-check
    generates and type-checks them): TypeScript, then Python."""
    global checks
    environment = {**os.environ, "BASE_URL": BASE, "ADMIN_USERNAME": os.environ["ADMIN_USERNAME"],
                   "ADMIN_PASSWORD": os.environ["ADMIN_PASSWORD"]}
    for language, command, extra in (
            ("TypeScript", ["node", "tests/openapi/build/flow.js"], {}),
            ("Python", [sys.executable, "-m", "tests.clients.flow"], {"PYTHONPATH": "target/clients/python"})):
        print(f"== the generated {language} client", flush=True)
        if subprocess.run(command, env={**environment, **extra}).returncode != 0:
            sys.exit(f"FAIL the generated {language} client's flow; see above")
        checks += 1


def main():
    global checks
    app_arn, db_arn, jwt_secret = create_secrets()
    watch = start_watch(app_arn, db_arn)
    try:
        wait_until_up(watch)
        sensitive = flow() + [jwt_secret]
        # Before the fuzzer, which as an admin may demote or deactivate accounts.
        if os.environ.get("E2E_BROWSER", "1") == "1":
            browser()
            shop(sensitive)
        generated_clients()
        if os.environ.get("E2E_FUZZ", "1") == "1":
            fuzz.run(BASE, DOCUMENT, fuzz_tokens(sensitive), "target/fuzz", LOG)
            checks += 1
    finally:
        stop_group(watch, seconds=30)
    with open(LOG, encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    if "local mode" in log:
        sys.exit("FAIL the functions ran in local mode instead of reading Secrets Manager")
    for function in list(fuzz.FUNCTIONS) + ["docs"]:
        if f'function="{function}"' not in log:
            sys.exit(f"FAIL the {function} function was never started by the watch router; see {LOG}")
    if "signed in" not in log:
        sys.exit(f"FAIL the function logs were not captured; see {LOG}")
    leaked = [value[:6] + "…" for value in sensitive if value in log]
    if leaked:
        sys.exit(f"FAIL the log contains secrets or tokens: {leaked}; see {LOG}")
    print(f"ok   log hygiene: none of {len(sensitive)} passwords, tokens or keys in {len(log.splitlines())} log lines")
    print(f"e2e: {checks + 1} passed, 0 failed")


if __name__ == "__main__":
    main()
