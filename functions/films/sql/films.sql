-- A page of films by title, with their genres (kept with each film) and the capped count
-- (GET /films; the benchmark baseline runs it too). One genre's films (in title order from the
-- genre's index), films by part of the title (the trigram index), or all (the title index),
-- each in its own branch with a condition on the parameters that is constant for the
-- statement, so that its generic plan reads just the index for the filter given and stops
-- after the count's limit ($6); the count of all films reads the title index alone.
with matching as materialized (
        (select fg.film_id as id, fg.sort_title from film_genres fg
             cross join lateral (select * from films f where f.id = fg.film_id limit 1) f
         where $2::bigint is not null and fg.genre_id = $2
           and ($1::text is null or f.title ilike $1)
           and ($3::age_rating is null or f.age_rating = $3)
         order by fg.sort_title, fg.film_id limit $6)
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
       f.release_year as "release_year?", f.genres as "genres?: JsonColumn<Vec<GenreRef>>"
from (select count(*) as total from matching) t
    left join lateral (
        -- Unfiltered: the page straight from the title index.
        (select f.* from films f
         where $1::text is null and $2::bigint is null
           and ($3::age_rating is null or f.age_rating = $3)
         order by lower(f.title), f.id limit $4 offset $5)
        union all
        -- Filtered: the page of what matched, each film looked up by its key (`limit 1` keeps
        -- it a lookup per row of the page, whatever the estimates).
        (select f.* from (select id, sort_title from matching order by sort_title, id limit $4 offset $5) p
             cross join lateral (select * from films f where f.id = p.id limit 1) f
         where $1::text is not null or $2::bigint is not null
         order by p.sort_title, p.id)
    ) f on true
