-- One film with its genres, which are kept with the film (GET /films/{id}; the benchmark
-- baseline runs it too).
select f.id, f.title, f.description, f.age_rating as "age_rating: AgeRating",
           f.duration_minutes, f.release_year,
           f.genres as "genres!: JsonColumn<Vec<GenreRef>>"
from films f where f.id = $1
