-- Five years of a multiplex's data: an index for each list's filter and order, so that a page
-- costs the same on 1.5 million reservations as on a hundred.

-- Every statement runs its generic plan from its first execution, and without JIT compilation:
-- no planning per request (database CPU is the bill on Aurora), and the plan a test sees is
-- the plan every request runs. The list statements are written for it (a branch per filter).
do $$
begin
    execute format('alter database %I set plan_cache_mode = force_generic_plan', current_database());
    execute format('alter database %I set jit = off', current_database());
end
$$;

-- Reservations, newest first: everyone's (staff), one customer's, one screening's; with the
-- filtered columns included, a page and its count read the index alone.
create index reservations_created_at_idx on reservations (created_at desc, id desc) include (status);
create index reservations_user_created_at_idx on reservations (user_id, created_at desc, id desc)
    include (screening_id, status);
drop index reservations_user_id_idx;
create index reservations_screening_created_at_idx on reservations (screening_id, created_at desc, id desc)
    include (status);
drop index reservations_screening_id_idx;

-- Screenings by start: all, one film's, one hall's.
create index screenings_starts_at_id_idx on screenings (starts_at, id);
drop index screenings_starts_at_idx;
create index screenings_film_starts_at_idx on screenings (film_id, starts_at, id);
drop index screenings_film_id_idx;
create index screenings_hall_starts_at_idx on screenings (hall_id, starts_at, id);

-- A screening lasts its film, and a film at most 600 minutes (films_duration_range): the
-- screenings still running at an instant started at most that long before it, which lets
-- "not ended yet" read a range of the start index.
create function longest_screening() returns interval
    language sql immutable parallel safe
    return interval '600 minutes';
alter table screenings add constraint screenings_length check (ends_at <= starts_at + longest_screening());

-- Users by role, in id order (and the last-admin rule's count of admins).
create index users_role_id_idx on users (role, id);
drop index users_role_idx;

-- Films by title, with the age rating for its filter.
create index films_title_id_idx on films (lower(title), id) include (age_rating);

-- Title search (`?title=` matches any part, ignoring case) through trigrams instead of a scan.
create extension if not exists pg_trgm;
create index films_title_trgm_idx on films using gin (title gin_trgm_ops);
