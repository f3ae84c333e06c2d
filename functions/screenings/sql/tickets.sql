-- A page of tickets by screening, row and seat, with the capped count (GET /tickets). One
-- screening's tickets, or everyone's, each in its own branch with a condition on the
-- parameters that is constant for the statement, so that its generic plan reads just the seat
-- index for the filter given and stops after the count's limit ($4).
with matching as materialized (
        (select id, screening_id, row_number, seat_number from tickets
         where $1::bigint is not null and screening_id = $1
         order by screening_id, row_number, seat_number limit $4)
        union all
        (select id, screening_id, row_number, seat_number from tickets
         where $1::bigint is null
         order by screening_id, row_number, seat_number limit $4)
    )
select t.total as "total!", td.ticket_id, td.screening_id, td.row_number, td.seat_number,
       td.base_price, td.price, td.reserved
from (select count(*) as total from matching) t
    left join lateral (
        select td.* from (select id, screening_id, row_number, seat_number from matching
                          order by screening_id, row_number, seat_number limit $2 offset $3) p
            -- `limit 1` keeps this a lookup per row of the page, whatever the estimates.
            cross join lateral (select * from ticket_details td where td.ticket_id = p.id limit 1) td
        order by p.screening_id, p.row_number, p.seat_number
    ) td on true
