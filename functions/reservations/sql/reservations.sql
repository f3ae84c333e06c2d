-- A page of reservations, newest first, with the capped count (GET /reservations). Each way of
-- filtering has its own branch, with a condition on the parameters that is constant for the
-- statement, so that its generic plan reads just the index for the filter given (one
-- customer's, one screening's, everyone's, or the reservations with a refund in state $9)
-- and stops after the count's limit ($8).
with matching as materialized (
        (select id, created_at from reservations
         where $9::text is null and $1::bigint is not null and user_id = $1
           and ($2::bigint is null or screening_id = $2)
           and ($3::reservation_status is null or current_status(status, pay_by) = $3)
         order by created_at desc, id desc limit $8)
        union all
        (select id, created_at from reservations
         where $9::text is null and $1::bigint is null and $2::bigint is not null and screening_id = $2
           and ($3::reservation_status is null or current_status(status, pay_by) = $3)
         order by created_at desc, id desc limit $8)
        union all
        (select id, created_at from reservations
         where $9::text is null and $1::bigint is null and $2::bigint is null
           and ($3::reservation_status is null or current_status(status, pay_by) = $3)
         order by created_at desc, id desc limit $8)
        union all
        (select r.id, r.created_at from refunds rf
         -- `limit 1` keeps this a lookup by primary key per refund, whatever the estimates.
         cross join lateral (select id, created_at, user_id, screening_id, status, pay_by from reservations
                             where id = rf.reservation_id limit 1) r
         where $9::text is not null and rf.status = $9
           and ($1::bigint is null or r.user_id = $1) and ($2::bigint is null or r.screening_id = $2)
           and ($3::reservation_status is null or current_status(r.status, r.pay_by) = $3)
         -- The newest refunds in that state, by their index; the page is then ordered as every other.
         order by rf.created_at desc, rf.id desc limit $8)
    )
select t.total as "total!", d.id, d.status as "status: Status", d.total_price, d.created_at, d.cancelled_at,
       d.user_id, d.user_username, d.user_full_name, d.booked_by_id, d.booked_by_username,
       d.booked_by_role as "booked_by_role: Role", d.screening_id, d.screening_starts_at, d.film_id,
       d.film_title, d.hall_id, d.hall_name, d.tickets as "tickets: Jsonb<Vec<BookedSeat>>",
       d.pay_by, d.paid_at, d.payment_method as "payment_method: PaymentMethod", d.paid_by_id,
       d.paid_by_username, d.refunded, d.checkout as "checkout: Jsonb<Checkout>",
       d.refund as "refund: Jsonb<RefundInfo>"
from (select count(*) as total from matching) t
    left join lateral (
        select rd.* from (select id, created_at from matching order by created_at desc, id desc limit $4 offset $5) p
            -- `limit 1` keeps this a lookup per row of the page, whatever the estimates.
            cross join lateral (select * from reservation_details rd where rd.id = p.id limit 1) rd
        order by p.created_at desc, p.id desc
    ) d on true
where authorize_claim($6, $7)
