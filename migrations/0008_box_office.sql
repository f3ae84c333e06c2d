-- The box office: reservations are held until they are paid or lapse at `pay_by`; each paid
-- seat has a pass, admitted once at the door.

-- A reservation's payment. `paid_by` is the cashier or admin who took it; a cancelled paid
-- reservation keeps its payment and is marked refunded.
alter table reservations
    add column pay_by         timestamptz,
    add column paid_at        timestamptz,
    add column paid_by        bigint references users (id),
    add column payment_method payment_method,
    add column refunded       boolean not null default false,
    -- When the first of its passes was admitted: a reservation with an admitted seat is not
    -- cancelled (kept here, on the row that cancelling and admitting both lock).
    add column admitted_at    timestamptz;

-- Existing reservations are held until 30 minutes before their screening (the default of
-- RESERVATION_PAY_BY_MINUTES): those whose screening is that close, or past, read as lapsed.
update reservations r set pay_by = s.starts_at - interval '30 minutes'
from screenings s where s.id = r.screening_id;

alter table reservations
    alter column pay_by set not null,
    add constraint reservations_paid_matches_status
        check ((status = 'paid' or refunded) = (paid_at is not null)),
    add constraint reservations_refunded_when_cancelled check (not refunded or status = 'cancelled'),
    add constraint reservations_payment_complete
        check ((paid_at is null) = (payment_method is null) and (paid_at is null) = (paid_by is null));

-- A seat's hold and pass. An active seat is either held until its reservation's `pay_by`
-- (`held_until`) or paid, with a pass: the seat map and booking read only this row.
alter table reservation_items
    add column held_until  timestamptz,
    add column pass_code   text,
    add column admitted_at timestamptz;

update reservation_items ri set held_until = r.pay_by
from reservations r where r.id = ri.reservation_id and ri.active;

alter table reservation_items
    add constraint reservation_items_held_or_paid check (not active or (held_until is null) <> (pass_code is null)),
    add constraint reservation_items_admitted_with_pass check (admitted_at is null or pass_code is not null);

create unique index reservation_items_pass_code_key on reservation_items (pass_code) where pass_code is not null;

-- The lists filter by the state as it reads now, which needs `pay_by` beside `status`.
drop index reservations_created_at_idx;
create index reservations_created_at_idx on reservations (created_at desc, id desc) include (status, pay_by);
drop index reservations_user_created_at_idx;
create index reservations_user_created_at_idx on reservations (user_id, created_at desc, id desc)
    include (screening_id, status, pay_by);
drop index reservations_screening_created_at_idx;
create index reservations_screening_created_at_idx on reservations (screening_id, created_at desc, id desc)
    include (status, pay_by);

-- A reservation's state as it reads now: an active one not paid by `pay_by` has lapsed, from
-- that instant, whether or not anything has updated its row since. The one place this rule lives.
create function current_status(status reservation_status, pay_by timestamptz) returns reservation_status
    language sql stable parallel safe
    return case when status = 'active' and pay_by <= now() then 'lapsed'::reservation_status else status end;

-- Whether a booked seat still holds its ticket: paid, or held and not yet lapsed.
create function holds_seat(active boolean, held_until timestamptz) returns boolean
    language sql stable parallel safe
    return active and (held_until is null or held_until > now());

-- A new pass code: 128 bits of gen_random_uuid (122 of them random, from the server's strong
-- random source), URL-safe base64 without padding: 22 characters.
create function new_pass_code() returns text
    language sql volatile parallel safe
    return translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/=', '-_');

-- Seats are taken by holding bookings only: a lapsed hold frees its seat at once.
create or replace view ticket_details as
select t.id as ticket_id,
       t.screening_id,
       t.row_number,
       t.seat_number,
       coalesce(t.base_price, s.base_price) as base_price,
       seat_price(coalesce(t.base_price, s.base_price), h.surcharge_percent) as price,
       exists (select 1 from reservation_items ri where ri.ticket_id = t.id and holds_seat(ri.active, ri.held_until)) as reserved
from tickets t
join screenings s on s.id = t.screening_id
join halls h on h.id = s.hall_id;

create or replace view reservation_details as
select r.id,
       current_status(r.status, r.pay_by) as status,
       r.total_price,
       r.created_at,
       r.cancelled_at,
       r.user_id,
       u.username as user_username,
       u.full_name as user_full_name,
       r.booked_by as booked_by_id,
       b.username as booked_by_username,
       coalesce(r.booked_by_role, b.role) as booked_by_role,
       r.screening_id,
       s.starts_at as screening_starts_at,
       f.id as film_id,
       f.title as film_title,
       h.id as hall_id,
       h.name as hall_name,
       coalesce((
           select json_agg(json_build_object(
                      'ticket_id', ri.ticket_id, 'row', ri.row_number, 'seat', ri.seat_number,
                      'price', ri.price::text, 'code', ri.pass_code)
                  order by ri.row_number, ri.seat_number)
           from reservation_items ri where ri.reservation_id = r.id
       ), '[]') as tickets,
       r.pay_by,
       r.paid_at,
       r.payment_method,
       r.paid_by as paid_by_id,
       p.username as paid_by_username,
       r.refunded
from reservations r
join users u on u.id = r.user_id
join users b on b.id = r.booked_by
left join users p on p.id = r.paid_by
join screenings s on s.id = r.screening_id
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id;

-- A seat's pass as the door sees it (GET /passes/{code}, POST /check-in).
create view pass_details as
select ri.pass_code as code,
       ri.reservation_id,
       r.status as reservation_status,
       ri.admitted_at,
       ri.row_number,
       ri.seat_number,
       s.id as screening_id,
       s.starts_at,
       s.ends_at,
       f.id as film_id,
       f.title as film_title,
       h.id as hall_id,
       h.name as hall_name
from reservation_items ri
join reservations r on r.id = ri.reservation_id
join screenings s on s.id = r.screening_id
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id
where ri.pass_code is not null;
