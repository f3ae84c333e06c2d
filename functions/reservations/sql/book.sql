-- The booking: prices the seats, checks every rule and inserts the reservation only if
-- all hold (POST /reservations; the benchmark baseline runs it too).
with wanted as (select unnest($3::bigint[]) as id),
         seats as (
             select t.id, t.screening_id, t.row_number, t.seat_number, s.starts_at,
                    seat_price(coalesce(t.base_price, s.base_price), h.surcharge_percent) as price
             from tickets t
             join screenings s on s.id = t.screening_id
             join halls h on h.id = s.hall_id
             where t.id = any($3)
         ),
         checks as (
             select array(select w.id from wanted w where not exists (select 1 from seats where seats.id = w.id)
                          order by w.id) as unknown,
                    (select count(distinct screening_id) from seats) as screenings,
                    (select role from users where id = $1 and active) as customer_role,
                    coalesce((select bool_or(starts_at <= now()) from seats), false) as started,
                    array(select ri.ticket_id from reservation_items ri
                          where ri.ticket_id = any($3) and ri.active order by 1) as taken,
                    -- The booker's role now: a token that says cashier is not enough.
                    caller_role($2) as booked_by_role
             where authorize_claim($2, $4)
         ),
         reservation as (
             insert into reservations (user_id, booked_by, booked_by_role, screening_id, total_price)
             select $1, $2, booked_by_role, (select min(screening_id) from seats), (select sum(price) from seats)
             from checks
             where cardinality(unknown) = 0 and screenings = 1 and customer_role = 'user'
               and not started and cardinality(taken) = 0
             returning id
         ),
         items as (
             insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price)
             select reservation.id, seats.id, seats.row_number, seats.seat_number, seats.price
             from reservation, seats
             -- One order for every booking, so overlapping bookings wait, not deadlock.
             order by seats.id
         )
select (select id from reservation) as reservation_id,
           unknown as "unknown!", screenings as "screenings!", customer_role as "customer_role: Role",
           started as "started!", taken as "taken!: Vec<Option<i64>>"
from checks
