-- Cancelling a screening (POST /screenings/{id}/cancel): the screening is kept, marked
-- cancelled; every reservation that holds seats (active and not lapsed, or paid) is cancelled
-- in the same statement, paid ones refunded (in cash at the till; online ones at the provider,
-- which the next payments reconciliation asks for), and the seats are released, so passes read
-- void.
-- The handler has locked the screening in a statement of its own, so every booking of it has
-- settled and is seen here. A payment being taken now holds its reservation's row: the update
-- below waits for it, then finds the reservation paid, and refunds it.
with target as (
        select id, ends_at > now() as running, cancelled_at is not null as was_cancelled
        from screenings where id = $1 and deleted_at is null and authorize($2, 'admin') for update
    ),
    screening as (
        update screenings s set cancelled_at = now()
        from target
        where s.id = target.id and target.running and not target.was_cancelled
        returning s.id
    ),
    cancelled as (
        update reservations r
        set status = 'cancelled', cancelled_at = now(),
            refunded = r.status = 'paid' and r.payment_method <> 'online'
        from screening
        where r.screening_id = screening.id and current_status(r.status, r.pay_by) in ('active', 'paid')
        returning r.id, r.payment_method
    ),
    refunds as (
        insert into refunds (reservation_id, payment_intent_id, amount, currency, reason)
        select c.reservation_id, c.payment_intent_id, c.amount, c.currency, 'screening_cancelled'
        from checkouts c join cancelled on cancelled.id = c.reservation_id
        where cancelled.payment_method = 'online' and c.outcome = 'paid'
        on conflict do nothing
    ),
    released as (
        update reservation_items set active = false
        where reservation_id in (select id from cancelled) and active
    )
select target.was_cancelled as "was_cancelled!", exists (select 1 from screening) as "cancelled!",
       (select count(*) from cancelled) as "reservations!"
from target
