-- A page of films by title, with their genres and the capped count (GET /films; the benchmark
-- baseline runs it too). One genre's films, films by part of the title (the trigram index),
-- or all (the title index), each in its own branch with a condition on the parameters that is
-- constant for the statement, so that its generic plan reads just the index for the filter
-- given and stops after the count's limit ($6).
with matching as materialized (
        (select f.id, lower(f.title) as sort_title from film_genres fg
             cross join lateral (select * from films f where f.id = fg.film_id limit 1) f
         where $2::bigint is not null and fg.genre_id = $2
           and ($1::text is null or f.title ilike $1)
           and ($3::age_rating is null or f.age_rating = $3)
         order by lower(f.title), f.id limit $6)
        union all
        (select id, lower(title) from films
         where $2::bigint is null and $1::text is not null and title ilike $1
           and ($3::age_rating is null or age_rating = $3)
         order by lower(title), id limit $6)
        union all
        (select id, lower(title) from films
         where $1::text is null and $2::bigint is null
           and ($3::age_rating is null or age_rating = $3)
         order by lower(title), id limit $6)
    )
select t.total as "total!", f.id as "id?", f.title as "title?", f.description as "description?",
       f.age_rating as "age_rating?: AgeRating", f.duration_minutes as "duration_minutes?",
       f.release_year as "release_year?", f.genres as "genres?: Jsonb<Vec<GenreRef>>"
from (select count(*) as total from matching) t
    left join lateral (
        select f.*,
               coalesce((select json_agg(json_build_object('id', g.id, 'title', g.title) order by lower(g.title), g.id)
                         from film_genres fg join genres g on g.id = fg.genre_id
                         where fg.film_id = f.id), '[]') as genres
        from (select id, sort_title from matching order by sort_title, id limit $4 offset $5) p
            -- `limit 1` keeps this a lookup per row of the page, whatever the estimates.
            cross join lateral (select * from films f where f.id = p.id limit 1) f
        order by p.sort_title, p.id
    ) f on true
