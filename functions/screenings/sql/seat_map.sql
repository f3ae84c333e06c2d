-- A screening's seat map (GET /screenings/{id}/seats; the benchmark baseline runs it too).
select td.ticket_id as "ticket_id?", td.row_number as "row?", td.seat_number as "seat?",
           td.price as "price?", td.reserved as "reserved?"
from screenings s
    left join ticket_details td on td.screening_id = s.id and ($2::boolean is null or td.reserved = $2)
where s.id = $1 and s.deleted_at is null
order by td.row_number, td.seat_number
