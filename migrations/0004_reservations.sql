-- Reservations: who booked which seats, at what price, and the requests already answered.

create type reservation_status as enum ('active', 'cancelled');

create table reservations (
    id           bigint generated always as identity primary key,
    -- The customer; booked_by is who made the booking (the customer, or a cashier/admin).
    user_id      bigint             not null references users (id),
    booked_by    bigint             not null references users (id),
    -- A screening's history goes with it; the API refuses to delete one with active bookings.
    screening_id bigint             not null references screenings (id) on delete cascade,
    status       reservation_status not null default 'active',
    total_price  numeric(10,2)      not null,
    created_at   timestamptz        not null default now(),
    cancelled_at timestamptz,
    constraint reservations_total_price_range check (total_price >= 0),
    constraint reservations_cancelled_at_matches_status check ((status = 'cancelled') = (cancelled_at is not null))
);

create index reservations_user_id_idx on reservations (user_id, created_at desc);
create index reservations_screening_id_idx on reservations (screening_id);

-- One row per booked seat, with the seat and price as they were at booking time.
create table reservation_items (
    reservation_id bigint        not null references reservations (id) on delete cascade,
    -- Null once a withdrawn seat's ticket is gone; the row and seat stay for the record.
    ticket_id      bigint        references tickets (id) on delete set null,
    row_number     integer       not null,
    seat_number    integer       not null,
    price          numeric(10,2) not null,
    -- Mirrors the reservation's status, so that the index below can say "active".
    active         boolean       not null default true,
    constraint reservation_items_price_range check (price >= 0)
);

create index reservation_items_reservation_id_idx on reservation_items (reservation_id);

-- No seat is ever sold twice: at most one active booking per ticket, enforced by the
-- database whatever the application does or however many requests race.
create unique index reservation_items_active_ticket_key on reservation_items (ticket_id) where active;

-- Answers to requests sent with an Idempotency-Key, per caller, kept so a retry gets the
-- first answer instead of a second booking.
create table idempotency_keys (
    user_id     bigint      not null references users (id) on delete cascade,
    key         text        not null,
    fingerprint bytea       not null,
    status_code integer     not null,
    response    jsonb       not null,
    created_at  timestamptz not null default now(),
    constraint idempotency_keys_pkey primary key (user_id, key),
    constraint idempotency_keys_key_length check (char_length(key) between 1 and 255)
);

-- Seats now read their status from active bookings.
create or replace view ticket_details as
select t.id as ticket_id,
       t.screening_id,
       t.row_number,
       t.seat_number,
       coalesce(t.base_price, s.base_price) as base_price,
       seat_price(coalesce(t.base_price, s.base_price), h.surcharge_percent) as price,
       exists (select 1 from reservation_items ri where ri.ticket_id = t.id and ri.active) as reserved
from tickets t
join screenings s on s.id = t.screening_id
join halls h on h.id = s.hall_id;

-- A reservation as the API shows it.
create view reservation_details as
select r.id,
       r.status,
       r.total_price,
       r.created_at,
       r.cancelled_at,
       r.user_id,
       u.username as user_username,
       u.full_name as user_full_name,
       r.booked_by as booked_by_id,
       b.username as booked_by_username,
       b.role as booked_by_role,
       r.screening_id,
       s.starts_at as screening_starts_at,
       f.id as film_id,
       f.title as film_title,
       h.id as hall_id,
       h.name as hall_name,
       coalesce((
           select json_agg(json_build_object(
                      'ticket_id', ri.ticket_id, 'row', ri.row_number, 'seat', ri.seat_number, 'price', ri.price::text)
                  order by ri.row_number, ri.seat_number)
           from reservation_items ri where ri.reservation_id = r.id
       ), '[]') as tickets
from reservations r
join users u on u.id = r.user_id
join users b on b.id = r.booked_by
join screenings s on s.id = r.screening_id
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id;
