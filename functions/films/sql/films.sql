-- A page of films matching the filters, with their genres and the total (GET /films;
-- the benchmark baseline runs it too).
with matching as (
        select f.* from films f
        where ($1::text is null or f.title ilike $1)
          and ($2::bigint is null or exists (select 1 from film_genres fg where fg.film_id = f.id and fg.genre_id = $2))
          and ($3::age_rating is null or f.age_rating = $3)
    )
select t.total as "total!", f.id as "id?", f.title as "title?", f.description as "description?",
           f.age_rating as "age_rating?: AgeRating", f.duration_minutes as "duration_minutes?",
           f.release_year as "release_year?", f.genres as "genres?: Jsonb<Vec<GenreRef>>"
from (select count(*) as total from matching) t
    left join lateral (
        select m.*,
               coalesce((select json_agg(json_build_object('id', g.id, 'title', g.title) order by lower(g.title), g.id)
                         from film_genres fg join genres g on g.id = fg.genre_id
                         where fg.film_id = m.id), '[]') as genres
        from matching m
        order by lower(m.title), m.id
        limit $4 offset $5
    ) f on true
