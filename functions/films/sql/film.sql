-- One film with its genres (GET /films/{id}; the benchmark baseline runs it too).
select f.id, f.title, f.description, f.age_rating as "age_rating: AgeRating",
           f.duration_minutes, f.release_year,
           coalesce((select json_agg(json_build_object('id', g.id, 'title', g.title) order by lower(g.title), g.id)
                     from film_genres fg join genres g on g.id = fg.genre_id
                     where fg.film_id = f.id), '[]') as "genres!: Jsonb<Vec<GenreRef>>"
from films f where f.id = $1
