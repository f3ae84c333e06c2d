-- Paying a held reservation at the till (POST /reservations/{id}/pay): active → paid, with a
-- pass for each seat. The lock on the reservation decides a race with a booking that would
-- free its seats as lapsed: exactly one of the two finds it as it needs it. Answers the open
-- checkout's PaymentIntent, if the customer was paying online meanwhile: it is to be cancelled.
with target as (
        select r.id, current_status(r.status, r.pay_by) as status, s.starts_at > now() as upcoming
        from reservations r join screenings s on s.id = r.screening_id
        where r.id = $1 and authorize($2, 'cashier', 'admin')
        for update of r
    ),
    paid as (
        update reservations r set status = 'paid', paid_at = now(), paid_by = $2, payment_method = $3
        from target
        where r.id = target.id and target.status = 'active' and target.upcoming
        returning r.id
    ),
    passes as (
        update reservation_items ri set held_until = null, pass_code = new_pass_code()
        where ri.reservation_id in (select id from paid) and ri.active
    )
select status as "status!: Status", upcoming as "upcoming!", exists (select 1 from paid) as "paid!",
       (select c.payment_intent_id from checkouts c
        where c.reservation_id = target.id and c.closed_at is null) as open_checkout
from target
