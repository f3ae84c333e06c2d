-- Admitting a pass at the door (POST /check-in): once, while the check-in window is open ($3
-- minutes before the start until the screening ends). The lock on the reservation orders
-- concurrent scans of its passes and its cancellation: the reservation's state is read after
-- the lock, and a pass is admitted only if no other scan has admitted it.
with pass as (
        select *, now() >= starts_at - make_interval(mins => $3) and now() < ends_at as open
        from pass_details where code = $1 and authorize($2, 'cashier', 'admin')
    ),
    locked as (
        select r.id, r.status from reservations r
        where r.id = (select reservation_id from pass)
        for update
    ),
    admitted as (
        update reservation_items ri set admitted_at = now()
        from locked, pass
        where ri.pass_code = $1 and ri.admitted_at is null and locked.status = 'paid' and pass.open
        returning ri.admitted_at
    ),
    first_admission as (
        update reservations r set admitted_at = coalesce(r.admitted_at, now())
        from admitted
        where r.id = (select id from locked)
    )
select pass.code as "code!", locked.status as "reservation_status!: Status",
       coalesce((select admitted_at from admitted), pass.admitted_at) as admitted_at,
       exists (select 1 from admitted) as "admitted_now!", pass.open as "open!",
       pass.starts_at - make_interval(mins => $3) as "opens_at!", pass.ends_at as "closes_at!",
       pass.row_number as "row_number!", pass.seat_number as "seat_number!",
       pass.screening_id as "screening_id!", pass.starts_at as "starts_at!",
       pass.film_id as "film_id!", pass.film_title as "film_title!",
       pass.hall_id as "hall_id!", pass.hall_name as "hall_name!"
from pass, locked
