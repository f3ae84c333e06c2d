// The README's flows through a TypeScript client generated from the OpenAPI document
// (openapi-typescript types, openapi-fetch calls), type-checked with `tsc --strict` and run
// against the API: nothing here is written by hand but the flow itself.
//
// Environment: BASE_URL, ADMIN_USERNAME, ADMIN_PASSWORD.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

type Error = components["schemas"]["Error"];

const base = required("BASE_URL");
const anonymous = createClient<paths>({ baseUrl: base });
let checks = 0;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new globalThis.Error(`${name} is required`);
  return value;
}

function check(what: string, ok: boolean, detail: unknown = ""): void {
  if (!ok) throw new globalThis.Error(`FAIL ${what} ${JSON.stringify(detail)}`);
  checks += 1;
  console.log(`ok   typescript client: ${what}`);
}

/** The data of a successful call, or a failure naming what failed. */
function data<T>(what: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new globalThis.Error(`FAIL ${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  check(`${what} -> ${result.response.status}`, true);
  return result.data;
}

/** The typed error body of a failed call with `status`. */
function refusal(what: string, status: number, result: { error?: Error; response: Response }): Error {
  check(`${what} -> ${result.response.status}`, result.response.status === status && result.error !== undefined, result.error);
  return result.error as Error;
}

function client(token: string) {
  return createClient<paths>({ baseUrl: base, headers: { authorization: `Bearer ${token}` } });
}

const suffix = Math.random().toString(36).slice(2, 8);
const password = `Ts#Flow-${suffix}9`;

// Register and sign in.
const user = data("register a customer", await anonymous.POST("/auth/register", {
  body: { username: `ts_${suffix}`, password, confirm_password: password, full_name: "Type Script" },
}));
const tokens = data("sign in", await anonymous.POST("/auth/login", { body: { username: user.username, password } }));
const customer = client(tokens.access_token);
const adminTokens = data("the admin signs in", await anonymous.POST("/auth/login", {
  body: { username: required("ADMIN_USERNAME"), password: required("ADMIN_PASSWORD") },
}));
const admin = client(adminTokens.access_token);
const me = data("read the signed-in account", await customer.GET("/users/me"));
check("the account is a customer", me.role === "user" && me.id === user.id, me);

// The catalogue and the schedule.
const genre = data("create a genre", await admin.POST("/genres", { body: { title: `Typed ${suffix}` } }));
const film = data("create a film", await admin.POST("/films", {
  body: { title: `Typed Film ${suffix}`, age_rating: "PG", duration_minutes: 100, release_year: 2024, genre_ids: [genre.id] },
}));
const films = data("list films of the genre", await anonymous.GET("/films", { params: { query: { genre_id: genre.id, limit: 1 } } }));
check("the page holds the film, typed as a film", films.items[0]?.id === film.id && films.total === 1, films);
const tomorrow = new Date(Date.now() + 2 * 86_400_000 + Math.floor(Math.random() * 86_400_000 * 200));
tomorrow.setUTCMinutes(0, 0, 0);
const screening = data("schedule a screening", await admin.POST("/screenings", {
  body: { film_id: film.id, hall_id: 3, starts_at: tomorrow.toISOString(), base_price: "8.00" },
}));
const seats = data("the seat map", await anonymous.GET("/screenings/{id}/seats", { params: { path: { id: screening.id } } }));
const [first, second, third] = seats;
if (!first || !second || !third) throw new globalThis.Error("a screening with three seats");

// A booking with an idempotency key, and its repeat.
const key = crypto.randomUUID();
const booking = { params: { header: { "Idempotency-Key": key } }, body: { ticket_ids: [first.ticket_id] } };
const booked = await customer.POST("/reservations", booking);
const reservation = data("book a seat with an Idempotency-Key", booked);
const repeated = await customer.POST("/reservations", booking);
check("the repeat answers the same reservation, replayed",
  repeated.data?.id === reservation.id && repeated.response.headers.get("Idempotent-Replayed") === "true");
const taken = refusal("the same seat for someone else", 409, await admin.POST("/reservations", {
  body: { ticket_ids: [first.ticket_id], user_id: user.id, payment_method: "cash" },
}));
check("a typed 409: seats_taken names the seat", taken.code === "seats_taken" && (taken.ticket_ids ?? []).includes(first.ticket_id), taken);
const invalid = refusal("a booking of no seats", 422, await customer.POST("/reservations", { body: { ticket_ids: [] } }));
check("a typed 422 lists the field", invalid.code === "validation_error" && invalid.errors?.[0]?.field === "ticket_ids", invalid);
const page = data("one page of the customer's reservations", await customer.GET("/reservations", { params: { query: { limit: 1 } } }));
check("paging: one item of at least one", page.items.length === 1 && page.total >= 1 && page.limit === 1, page);

// A sale at the till, its pass and QR code.
const sale = data("a sale at the till, paid by card", await admin.POST("/reservations", {
  body: { ticket_ids: [second.ticket_id], user_id: user.id, payment_method: "card" },
}));
const code = sale.tickets[0]?.code;
if (!code) throw new globalThis.Error("a paid seat has a pass");
const pass = data("the pass, by its code", await anonymous.GET("/passes/{code}", { params: { path: { code } } }));
check("the pass is valid for the screening", pass.status === "valid" && pass.screening_id === screening.id, pass);
const qr = await anonymous.GET("/passes/{code}/qr.svg", { params: { path: { code } }, parseAs: "text" });
check("its QR code is an SVG image", qr.response.headers.get("content-type") === "image/svg+xml" && String(qr.data).includes("<svg"));
const early = refusal("check-in a day early", 409, await admin.POST("/check-in", { body: { code } }));
check("a typed 409 says when check-in opens", early.code === "outside_check_in_window" && typeof early.opens_at === "string", early);

// At the door: a screening in half an hour, a seat sold at the till, admitted once.
const soon = new Date(Date.now() + 30 * 60_000);
const doorScreening = data("a screening in half an hour", await admin.POST("/screenings", {
  body: { film_id: film.id, hall_id: 7, starts_at: soon.toISOString(), base_price: "8.00" },
}));
const doorSeats = data("its seat map", await anonymous.GET("/screenings/{id}/seats", { params: { path: { id: doorScreening.id } } }));
const doorSale = data("a sale at the till, paid in cash", await admin.POST("/reservations", {
  body: { ticket_ids: [doorSeats[0]?.ticket_id ?? 0], user_id: user.id, payment_method: "cash" },
}));
const doorCode = doorSale.tickets[0]?.code ?? "";
const admitted = data("check-in admits the pass", await admin.POST("/check-in", { body: { code: doorCode } }));
const twice = refusal("a second scan", 409, await admin.POST("/check-in", { body: { code: doorCode } }));
check("a typed 409 names the first admission", twice.code === "already_admitted" && twice.admitted_at === admitted.admitted_at, twice);

// A cancel, and the report.
const cancelled = data("the customer cancels", await customer.POST("/reservations/{id}/cancel", { params: { path: { id: reservation.id } } }));
check("the reservation is cancelled", cancelled.status === "cancelled", cancelled.status);
const from = new Date(tomorrow.getTime() - 86_400_000).toISOString();
const to = new Date(tomorrow.getTime() + 86_400_000).toISOString();
const report = data("the sales report", await admin.GET("/reports/sales", { params: { query: { from, to, group_by: "screening" } } }));
const row = report.rows.find((r) => r.screening?.id === screening.id);
check("the report counts the sale", row?.seats_paid === 1 && row?.revenue === second.price, row);
console.log(`typescript client: ${checks} passed`);
