-- The data the read benchmarks use: 50 films with two genres each, and one screening in
-- hall 4 (a 7 x 10 VIP hall of the reference cinema) with a ticket for every seat.
insert into genres (title) select 'Genre ' || g from generate_series(1, 5) g;
insert into films (title, description, age_rating, duration_minutes, release_year)
select 'Film ' || lpad(n::text, 2, '0'), 'A film of the benchmark catalogue.', 'PG-13', 100, 1970 + n
from generate_series(1, 50) n;
insert into film_genres (film_id, genre_id)
select f.id, g.id from films f join genres g on g.title in ('Genre ' || (1 + f.id % 5), 'Genre ' || (1 + (f.id + 1) % 5));
insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
values ((select min(id) from films), 4, now() + interval '2 days', now() + interval '2 days 100 minutes', 10);
insert into tickets (screening_id, row_number, seat_number)
select s.id, r, n from screenings s, generate_series(1, 7) r, generate_series(1, 10) n order by s.id, r, n;
