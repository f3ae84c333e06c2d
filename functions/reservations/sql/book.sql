-- The booking: prices the seats, checks every rule and inserts the reservation only if
-- all hold (POST /reservations; the benchmark baseline runs it too). Unpaid, it holds the
-- seats until the screening's start minus $6 minutes; with a payment method ($5, the till),
-- it is paid at once and each seat gets its pass. A customer booking unpaid for themself
-- ($4 false: not staff) may hold at most $7 seats in all and $8 of one screening. In checkout
-- (paying online, $9 minutes) the hold lapses $9 minutes from now if that is earlier.
with wanted as (select unnest($3::bigint[]) as id),
         -- The screening, locked for share: a move, cancellation or deletion of it waits for
         -- this booking to commit, and one that committed first is seen here (the locked row
         -- is read as it is now, not as the statement's snapshot had it).
         screening as (
             select s.id, s.starts_at, s.cancelled_at
             from screenings s
             where s.id in (select t.screening_id from tickets t where t.id = any($3)) and s.deleted_at is null
             for share
         ),
         seats as (
             select t.id, t.screening_id, t.row_number, t.seat_number, s.starts_at, s.cancelled_at,
                    seat_price(coalesce(t.base_price, sc.base_price), h.surcharge_percent) as price
             from tickets t
             join screening s on s.id = t.screening_id
             join screenings sc on sc.id = t.screening_id
             join halls h on h.id = sc.hall_id
             where t.id = any($3)
         ),
         -- Lapsed holds on these seats: their reservations are marked lapsed and their seats
         -- freed. The lock on each such reservation decides a race with its payment: if the
         -- payment commits first, the reservation is no longer active and its seats stay taken.
         lapsed as (
             update reservations r set status = 'lapsed'
             where r.id in (select ri.reservation_id from reservation_items ri
                            where ri.ticket_id = any($3) and ri.active and ri.held_until <= now())
               and r.status = 'active' and r.pay_by <= now()
             returning r.id
         ),
         freed as (
             update reservation_items ri set active = false
             where ri.reservation_id in (select id from lapsed) and ri.active
             returning ri.ticket_id
         ),
         checks as (
             select array(select w.id from wanted w where not exists (select 1 from seats where seats.id = w.id)
                          order by w.id) as unknown,
                    (select count(distinct screening_id) from seats) as screenings,
                    (select role from users where id = $1 and active) as customer_role,
                    coalesce((select bool_or(starts_at <= now()) from seats), false) as started,
                    coalesce((select bool_or(cancelled_at is not null) from seats), false) as cancelled,
                    (select min(starts_at) from seats) - make_interval(mins => $6) as pay_by,
                    array(select ri.ticket_id from reservation_items ri
                          where ri.ticket_id = any($3) and holds_seat(ri.active, ri.held_until) order by 1) as taken,
                    -- The booker's role now: a token that says cashier is not enough.
                    caller_role($2) as booked_by_role
             where authorize_claim($2, $4)
         ),
         -- Only an unpaid booking a customer makes for themself is limited, and only once every
         -- other rule holds (the check locks the customer's row).
         limits as (
             select case when $5::payment_method is null and not $4 and cardinality(unknown) = 0
                              and screenings = 1 and customer_role = 'user' and not started
                              and not cancelled and pay_by > now()
                         then hold_limit_exceeded($1, (select min(screening_id) from seats),
                                                  cardinality($3::bigint[]), $7, $8)
                    end as exceeded
             from checks
         ),
         reservation as (
             insert into reservations (user_id, booked_by, booked_by_role, screening_id, total_price, pay_by,
                                       status, paid_at, paid_by, payment_method)
             select $1, $2, booked_by_role, (select min(screening_id) from seats), (select sum(price) from seats),
                    least(pay_by, now() + make_interval(mins => $9::integer)), case when $5::payment_method is null then 'active' else 'paid' end::reservation_status,
                    case when $5 is not null then now() end, case when $5 is not null then $2::bigint end, $5::payment_method
             from checks, limits
             where cardinality(unknown) = 0 and screenings = 1 and customer_role = 'user'
               and not started and not cancelled and cardinality(taken) = 0
               and ($5 is not null or pay_by > now()) and limits.exceeded is null
               -- Reading the freed seats makes their update run before this insert.
               and (select count(*) from freed) >= 0
             returning id, pay_by
         ),
         items as (
             insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price,
                                            held_until, pass_code)
             select reservation.id, seats.id, seats.row_number, seats.seat_number, seats.price,
                    case when $5 is null then reservation.pay_by end,
                    case when $5 is not null then new_pass_code() end
             from reservation, seats
             -- One order for every booking, so overlapping bookings wait, not deadlock.
             order by seats.id
         )
select (select id from reservation) as reservation_id,
           unknown as "unknown!", screenings as "screenings!", customer_role as "customer_role: Role",
           started as "started!", cancelled as "cancelled!", coalesce(pay_by <= now(), false) as "pay_by_passed!",
           taken as "taken!: Vec<Option<i64>>", limits.exceeded as "hold_limit_exceeded?"
from checks, limits
