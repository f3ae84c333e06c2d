"""The README's flows through a Python client generated from the OpenAPI document
(openapi-python-client, settings in tests/clients/python-client.yaml), checked with
`mypy --strict` and run against the API: nothing here is written by hand but the flow itself.

    python -m tests.clients.flow    (with the generated package on PYTHONPATH)

Environment: BASE_URL, ADMIN_USERNAME, ADMIN_PASSWORD.
"""
from __future__ import annotations

import datetime
import os
import secrets
import sys
import uuid
from typing import TypeVar

from cinema_api_client import AuthenticatedClient, Client
from cinema_api_client.api.auth import auth_login, auth_register
from cinema_api_client.api.films import films_create, films_list
from cinema_api_client.api.genres import genres_create
from cinema_api_client.api.passes import passes_check_in, passes_get, passes_qr
from cinema_api_client.api.reports import reports_sales
from cinema_api_client.api.reservations import reservations_cancel, reservations_create, reservations_list
from cinema_api_client.api.screenings import screenings_create
from cinema_api_client.api.tickets import tickets_seat_map
from cinema_api_client.api.users import users_me
from cinema_api_client.models import (
    AgeRating, BookingBody, CheckInBody, Credentials, Error, ErrorCode, FilmBody, GenreBody, GroupBy,
    PaymentMethod, Registration, ReportScreening, ScreeningBody,
)
from cinema_api_client.types import Response

T = TypeVar("T")
checks = 0


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is required")
    return value


def check(what: str, ok: bool, detail: object = "") -> None:
    global checks
    if not ok:
        sys.exit(f"FAIL python client: {what} {detail!r}")
    checks += 1
    print(f"ok   python client: {what}", flush=True)


def parsed(what: str, response: Response[Error | T], status: int) -> T:
    """The typed body of a response with `status`."""
    body = response.parsed
    check(f"{what} -> {int(response.status_code)}", int(response.status_code) == status and body is not None
          and not isinstance(body, Error), response.content[:300])
    assert body is not None and not isinstance(body, Error)
    return body


def refusal(what: str, response: Response[Error | T], status: int) -> Error:
    """The typed error body of a response with `status`."""
    body = response.parsed
    check(f"{what} -> {int(response.status_code)}", int(response.status_code) == status and isinstance(body, Error),
          response.content[:300])
    assert isinstance(body, Error)
    return body


def main() -> None:
    base = required("BASE_URL")
    anonymous = Client(base_url=base)
    suffix = secrets.token_hex(3)
    password = f"Py#Flow-{suffix}9"

    user = parsed("register a customer", auth_register.sync_detailed(client=anonymous, body=Registration(
        username=f"py_{suffix}", password=password, confirm_password=password, full_name="Py Thon")), 201)
    tokens = parsed("sign in", auth_login.sync_detailed(
        client=anonymous, body=Credentials(username=user.username, password=password)), 200)
    customer = AuthenticatedClient(base_url=base, token=tokens.access_token)
    admin_tokens = parsed("the admin signs in", auth_login.sync_detailed(client=anonymous, body=Credentials(
        username=required("ADMIN_USERNAME"), password=required("ADMIN_PASSWORD"))), 200)
    admin = AuthenticatedClient(base_url=base, token=admin_tokens.access_token)
    me = parsed("read the signed-in account", users_me.sync_detailed(client=customer), 200)
    check("the account is a customer", me.id == user.id and me.role.value == "user")

    genre = parsed("create a genre", genres_create.sync_detailed(
        client=admin, body=GenreBody(title=f"Pythonic {suffix}")), 201)
    film = parsed("create a film", films_create.sync_detailed(client=admin, body=FilmBody(
        title=f"Python Film {suffix}", age_rating=AgeRating.PG, duration_minutes=100, release_year=2024,
        genre_ids=[genre.id])), 201)
    films = parsed("list films of the genre", films_list.sync_detailed(client=anonymous, genre_id=genre.id, limit=1), 200)
    check("the page holds the film, typed as a film", films.total == 1 and films.items[0].id == film.id)
    starts_at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        days=3, hours=secrets.randbelow(24 * 200))).replace(minute=0, second=0, microsecond=0)
    screening = parsed("schedule a screening", screenings_create.sync_detailed(client=admin, body=ScreeningBody(
        film_id=film.id, hall_id=5, starts_at=starts_at, base_price="8.00")), 201)
    seats = parsed("the seat map", tickets_seat_map.sync_detailed(screening.id, client=anonymous), 200)
    first, second = seats[0], seats[1]

    key = str(uuid.uuid4())
    booking = BookingBody(ticket_ids=[first.ticket_id])
    reservation = parsed("book a seat with an Idempotency-Key", reservations_create.sync_detailed(
        client=customer, body=booking, idempotency_key=key), 201)
    repeat = reservations_create.sync_detailed(client=customer, body=booking, idempotency_key=key)
    repeated = parsed("the same booking again", repeat, 201)
    check("the repeat answers the same reservation, replayed",
          repeated.id == reservation.id and repeat.headers.get("Idempotent-Replayed") == "true")
    taken = refusal("the same seat for someone else", reservations_create.sync_detailed(client=admin, body=BookingBody(
        ticket_ids=[first.ticket_id], user_id=user.id, payment_method=PaymentMethod.CASH)), 409)
    check("a typed 409: seats_taken names the seat",
          taken.code == ErrorCode.SEATS_TAKEN and isinstance(taken.ticket_ids, list) and first.ticket_id in taken.ticket_ids)
    invalid = refusal("a booking of no seats", reservations_create.sync_detailed(
        client=customer, body=BookingBody(ticket_ids=[])), 422)
    check("a typed 422 lists the field", invalid.code == ErrorCode.VALIDATION_ERROR
          and isinstance(invalid.errors, list) and invalid.errors[0].field == "ticket_ids")
    page = parsed("one page of the customer's reservations", reservations_list.sync_detailed(client=customer, limit=1), 200)
    check("paging: one item of at least one", len(page.items) == 1 and page.total >= 1 and page.limit == 1)

    sale = parsed("a sale at the till, paid in cash", reservations_create.sync_detailed(client=admin, body=BookingBody(
        ticket_ids=[second.ticket_id], user_id=user.id, payment_method=PaymentMethod.CASH)), 201)
    code = sale.tickets[0].code
    assert isinstance(code, str)
    pass_ = parsed("the pass, by its code", passes_get.sync_detailed(code, client=anonymous), 200)
    check("the pass is valid for the screening", pass_.status.value == "valid" and pass_.screening_id == screening.id)
    qr = passes_qr.sync_detailed(code, client=anonymous)
    check("its QR code is an SVG image", int(qr.status_code) == 200 and b"<svg" in qr.content
          and qr.headers.get("content-type") == "image/svg+xml")
    early = refusal("check-in days early", passes_check_in.sync_detailed(client=admin, body=CheckInBody(code=code)), 409)
    check("a typed 409 says when check-in opens",
          early.code == ErrorCode.OUTSIDE_CHECK_IN_WINDOW and isinstance(early.opens_at, datetime.datetime))

    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=30)
    door_screening = parsed("a screening in half an hour", screenings_create.sync_detailed(client=admin, body=ScreeningBody(
        film_id=film.id, hall_id=8, starts_at=soon, base_price="8.00")), 201)
    door_seats = parsed("its seat map", tickets_seat_map.sync_detailed(door_screening.id, client=anonymous), 200)
    door_sale = parsed("a sale at the till, paid by card", reservations_create.sync_detailed(client=admin, body=BookingBody(
        ticket_ids=[door_seats[0].ticket_id], user_id=user.id, payment_method=PaymentMethod.CARD)), 201)
    door_code = door_sale.tickets[0].code
    assert isinstance(door_code, str)
    admitted = parsed("check-in admits the pass", passes_check_in.sync_detailed(
        client=admin, body=CheckInBody(code=door_code)), 200)
    twice = refusal("a second scan", passes_check_in.sync_detailed(client=admin, body=CheckInBody(code=door_code)), 409)
    check("a typed 409 names the first admission",
          twice.code == ErrorCode.ALREADY_ADMITTED and twice.admitted_at == admitted.admitted_at)

    cancelled = parsed("the customer cancels", reservations_cancel.sync_detailed(reservation.id, client=customer), 200)
    check("the reservation is cancelled", cancelled.status.value == "cancelled")
    report = parsed("the sales report", reports_sales.sync_detailed(
        client=admin, from_=starts_at - datetime.timedelta(days=1), to=starts_at + datetime.timedelta(days=1),
        group_by=GroupBy.SCREENING), 200)
    rows = [row for row in report.rows
            if isinstance(row.screening, ReportScreening) and row.screening.id == screening.id]
    check("the report counts the sale", len(rows) == 1 and rows[0].seats_paid == 1 and rows[0].revenue == second.price)
    print(f"python client: {checks} passed")


if __name__ == "__main__":
    main()
