-- A page of screenings by start, with the capped count (GET /screenings); deleted ones are not
-- on the schedule, cancelled ones are (marked). Without `from`, the
-- screenings that have not ended: they started at most the longest screening ago, a range of
-- the start index. One film's, one hall's, or all, each in its own branch with a condition on
-- the parameters that is constant for the statement, so that its generic plan reads just the
-- index for the filter given and stops after the count's limit ($7).
with matching as materialized (
        (select id, starts_at from screenings
         where $1::bigint is not null and film_id = $1 and ($2::bigint is null or hall_id = $2)
           and starts_at >= coalesce($3::timestamptz, now() - longest_screening())
           and starts_at < coalesce($4::timestamptz, 'infinity')
           and ($3::timestamptz is not null or ends_at > now()) and deleted_at is null
         order by starts_at, id limit $7)
        union all
        (select id, starts_at from screenings
         where $1::bigint is null and $2::bigint is not null and hall_id = $2
           and starts_at >= coalesce($3::timestamptz, now() - longest_screening())
           and starts_at < coalesce($4::timestamptz, 'infinity')
           and ($3::timestamptz is not null or ends_at > now()) and deleted_at is null
         order by starts_at, id limit $7)
        union all
        (select id, starts_at from screenings
         where $1::bigint is null and $2::bigint is null
           and starts_at >= coalesce($3::timestamptz, now() - longest_screening())
           and starts_at < coalesce($4::timestamptz, 'infinity')
           and ($3::timestamptz is not null or ends_at > now()) and deleted_at is null
         order by starts_at, id limit $7)
    )
select t.total as "total!", d.id, d.starts_at, d.ends_at, d.base_price, d.film_id, d.film_title,
       d.film_age_rating as "film_age_rating: AgeRating", d.film_duration_minutes, d.hall_id,
       d.hall_name, d.hall_kind as "hall_kind: HallKind", d.seats_total, d.seats_free, d.cancelled_at
from (select count(*) as total from matching) t
    left join lateral (
        select sd.* from (select id, starts_at from matching order by starts_at, id limit $5 offset $6) p
            -- `limit 1` keeps this a lookup per row of the page, whatever the estimates.
            cross join lateral (select * from screening_details sd where sd.id = p.id limit 1) sd
        order by p.starts_at, p.id
    ) d on true
