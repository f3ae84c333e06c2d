-- Sales of the screenings that start in [$1, $2): one row per screening, film or UTC day
-- ($3), then the totals (`total`). Screenings come from the start index and each one's seats
-- and reservations from their own indexes, so the work grows with the period, not the tables.
-- Revenue is what was paid and not refunded (a refunded reservation is cancelled).
with sold as (
        select s.id, s.starts_at, s.film_id, s.hall_id,
               (select count(*) from tickets t where t.screening_id = s.id) as seats_total,
               x.seats_paid, x.seats_held, x.seats_admitted, x.revenue
        from screenings s
        cross join lateral (
            select coalesce(sum(i.seats) filter (where r.status = 'paid'), 0) as seats_paid,
                   coalesce(sum(i.seats) filter (where current_status(r.status, r.pay_by) = 'active'), 0) as seats_held,
                   coalesce(sum(i.admitted), 0) as seats_admitted,
                   coalesce(sum(r.total_price) filter (where r.status = 'paid'), 0) as revenue
            from reservations r
            -- Per reservation, its seats by their index: a lookup per booking, whatever the
            -- estimates (a join here became a scan of every booked seat per screening).
            cross join lateral (
                select count(*) as seats, count(ri.admitted_at) as admitted
                from reservation_items ri where ri.reservation_id = r.id and ri.active
            ) i
            where r.screening_id = s.id and r.status in ('active', 'paid')
        ) x
        where s.starts_at >= $1 and s.starts_at < $2 and authorize($4, 'admin')
    )
select grouping(k.key) = 1 as "total!",
       min(s.id) as screening_id, min(s.starts_at) as starts_at,
       min(f.id) as film_id, min(f.title) as film_title,
       min(h.id) as hall_id, min(h.name) as hall_name,
       min((s.starts_at at time zone 'UTC')::date) as day,
       coalesce(sum(s.seats_total), 0)::bigint as "seats_total!",
       coalesce(sum(s.seats_paid), 0)::bigint as "seats_paid!",
       coalesce(sum(s.seats_held), 0)::bigint as "seats_held!",
       coalesce(sum(s.seats_admitted), 0)::bigint as "seats_admitted!",
       -- numeric without a precision: a sum of any number of paid reservations cannot overflow.
       coalesce(sum(s.revenue), 0)::numeric as "revenue!"
from sold s
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id
cross join lateral (
    select case $3::text
               when 'screening' then s.id::text
               when 'film' then s.film_id::text
               else ((s.starts_at at time zone 'UTC')::date)::text
           end as key
) k
group by grouping sets ((k.key), ())
order by grouping(k.key), case when $3 = 'film' then min(f.title) end, min(s.starts_at), min(s.id)
