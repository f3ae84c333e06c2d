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
            select count(*) filter (where r.status = 'paid') as seats_paid,
                   count(*) filter (where current_status(r.status, r.pay_by) = 'active') as seats_held,
                   count(ri.admitted_at) as seats_admitted,
                   coalesce(sum(ri.price) filter (where r.status = 'paid'), 0) as revenue
            from reservations r join reservation_items ri on ri.reservation_id = r.id
            where r.screening_id = s.id and r.status in ('active', 'paid') and ri.active
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
       coalesce(sum(s.revenue), 0)::numeric(12,2) as "revenue!"
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
