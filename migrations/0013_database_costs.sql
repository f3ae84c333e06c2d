-- What the busiest requests cost the database, made proportional to what they return.

-- ---- a film's genres, kept with the film ------------------------------------------------------

-- Films are read far more often than their genres change: each film keeps its genres as the
-- API shows them (by title), so that a page of films reads one column instead of joining and
-- aggregating every film's genres on every request. Kept by the triggers below, in the
-- transaction that changes them; `json`, the text itself, which is sent as it is stored.
alter table films add column genres json not null default '[]';

create function film_genres_json(film bigint) returns json
    language sql stable parallel safe
    return coalesce((select json_agg(json_build_object('id', g.id, 'title', g.title) order by lower(g.title), g.id)
                     from film_genres fg join genres g on g.id = fg.genre_id
                     where fg.film_id = film), '[]');

update films set genres = film_genres_json(id);

-- Recomputes the genres of the films in `changed` (film ids). The films are locked first and read
-- in a statement of their own, whose snapshot is taken after the lock: it sees whatever a
-- concurrent change of the same films committed while this one waited.
create function refresh_film_genres(changed bigint[]) returns void
    language plpgsql
as $$
begin
    perform 1 from films where id = any(changed) order by id for no key update;
    update films set genres = film_genres_json(id) where id = any(changed);
end
$$;

-- A film's genres added or taken off (once per statement, however many rows).
create function film_genres_changed() returns trigger
    language plpgsql
as $$
begin
    perform refresh_film_genres(array(select distinct film_id from changed));
    return null;
end
$$;

create trigger film_genres_added after insert on film_genres
    referencing new table as changed for each statement execute function film_genres_changed();
create trigger film_genres_removed after delete on film_genres
    referencing old table as changed for each statement execute function film_genres_changed();

-- A genre renamed: its films show the new title, in their new order. (A genre deleted is taken
-- off its films by the cascade, which the trigger above sees.)
create function genres_renamed() returns trigger
    language plpgsql
as $$
begin
    perform refresh_film_genres(array(
        select distinct fg.film_id from film_genres fg join changed c on c.id = fg.genre_id));
    return null;
end
$$;

create trigger genres_renamed after update on genres
    referencing new table as changed for each statement execute function genres_renamed();

-- A page of films counts up to 200 films past its end (`total`) in title order: with the title
-- itself in the index, that count reads the index alone, not each film's row.
drop index films_title_id_idx;
create index films_title_id_idx on films (lower(title), id) include (title, age_rating);

-- ---- a screening's seat counts from its bookings ---------------------------------------------

-- Each screening of a page counted its seats twice through `ticket_details`, which joins every
-- ticket to its screening and hall to price it, and looked each ticket up in the index of active
-- bookings: about 230 index probes per screening. Now its tickets are counted from the seat
-- index alone, and the seats taken from its bookings (by the screening's index on reservations,
-- then each booking's seats): a screening nobody booked costs two index probes.
create or replace view screening_details as
select s.id,
       s.starts_at,
       s.ends_at,
       s.base_price,
       f.id as film_id,
       f.title as film_title,
       f.age_rating as film_age_rating,
       f.duration_minutes as film_duration_minutes,
       h.id as hall_id,
       h.name as hall_name,
       h.kind as hall_kind,
       seats.total as seats_total,
       seats.total - held.taken as seats_free,
       s.cancelled_at
from screenings s
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id
cross join lateral (select count(*) as total from tickets t where t.screening_id = s.id) seats
cross join lateral (
    -- Per booking, by its own index (`limit`-free aggregates are never turned into a hash join
    -- over every booking's seats, whatever the estimates).
    select coalesce(sum(booked.seats), 0)::bigint as taken
    from reservations r
    cross join lateral (
        select count(*) as seats from reservation_items ri
        where ri.reservation_id = r.id and ri.ticket_id is not null and holds_seat(ri.active, ri.held_until)
    ) booked
    where r.screening_id = s.id
) held
where s.deleted_at is null;

-- ---- sign-in in fewer statements ----------------------------------------------------------------

-- The same rules as migration 0009's, in about half the statements: old counts are tidied once
-- per sign-in (as its account's or device's key is taken) rather than once per key touched; a key with nothing counted gets its row (the
-- attempt pending) in one insert; an attempt ends in one update (or, for an account or device
-- that signed in, one delete), whose row lock is the turn-taking `lock_throttle` gave.
create or replace function throttle_begin(scope text, key bytea, hit_limit integer, "window" interval)
    returns integer
    language plpgsql
as $$
declare
    t throttles;
begin
    -- Counts nobody touched for a day go, a few per attempt (migration 0005): every attempt
    -- that is not refused by its address reaches its account's or device's key.
    if scope <> 'sign_in_address' then
        perform tidy_throttles();
    end if;
    select * into t from throttles
     where throttles.scope = throttle_begin.scope and throttles.key = throttle_begin.key
       for update;
    if not found then
        insert into throttles (scope, key, hits, first_hit, last_hit, pending, pending_since)
        values (scope, key, 0, now(), now(), 1, now())
        on conflict do nothing;
        if found then
            return 0;
        end if;
        -- A concurrent attempt created it meanwhile: take turns with it.
        select * into strict t from throttles
         where throttles.scope = throttle_begin.scope and throttles.key = throttle_begin.key
           for update;
    end if;
    if t.pending_since is null or t.pending_since < now() - interval '1 minute' then
        t.pending := 0;
    end if;
    if t.blocked_until > now() then
        return greatest(1, ceil(extract(epoch from t.blocked_until - now())))::integer;
    end if;
    if greatest(t.last_hit, t.blocked_until) < now() - "window" then
        t.hits := 0;
        t.first_hit := now();
        t.blocked_until := null;
    end if;
    if t.hits + t.pending >= hit_limit and not (t.hits >= hit_limit and t.pending = 0) then
        return 1;
    end if;
    update throttles
       set hits = t.hits, first_hit = t.first_hit, blocked_until = t.blocked_until,
           pending = t.pending + 1, pending_since = now()
     where throttles.scope = t.scope and throttles.key = t.key;
    return 0;
end
$$;

create or replace function throttle_end(scope text, key bytea, failed boolean, hit_limit integer,
                                        first_block interval, max_block interval) returns void
    language plpgsql
as $$
begin
    if not failed and scope in ('sign_in_account', 'sign_in_device') then
        delete from throttles t where t.scope = throttle_end.scope and t.key = throttle_end.key;
        return;
    end if;
    update throttles t
       set pending = greatest(t.pending - 1, 0),
           hits = t.hits + failed::integer,
           last_hit = case when failed then now() else t.last_hit end,
           blocked_until = case
               when failed and t.hits + 1 >= hit_limit
                   then now() + least(max_block, first_block * power(2, least(t.hits + 1 - hit_limit, 30)))
               else t.blocked_until end
     where t.scope = throttle_end.scope and t.key = throttle_end.key;
    -- The row went meanwhile (an account's sign-in succeeded at the same time): a failure still
    -- counts.
    if not found and failed then
        insert into throttles (scope, key, hits, first_hit, last_hit, blocked_until)
        values (scope, key, 1, now(), now(),
                case when hit_limit <= 1 then now() + least(max_block, first_block) end)
        on conflict do nothing;
    end if;
end
$$;

-- ---- a genre's films in title order -------------------------------------------------------------

-- A genre's films were read whole and sorted by title before a page was cut (no index orders one
-- table by another's column). Each film's title, as lists sort it, is kept beside its genres, so
-- that a genre's page walks an index in title order and stops at the count's limit.
alter table film_genres add column sort_title text;
update film_genres fg set sort_title = lower(f.title) from films f where f.id = fg.film_id;
-- Leads with the genre as the index it replaces did.
drop index film_genres_genre_id_idx;
create index film_genres_genre_title_idx on film_genres (genre_id, sort_title, film_id);

create function film_genre_sort_title() returns trigger
    language plpgsql
as $$
begin
    new.sort_title := (select lower(f.title) from films f where f.id = new.film_id);
    return new;
end
$$;

create trigger film_genres_sort_title before insert on film_genres
    for each row execute function film_genre_sort_title();

create function film_retitled() returns trigger
    language plpgsql
as $$
begin
    update film_genres set sort_title = lower(new.title) where film_id = new.id;
    return null;
end
$$;

create trigger films_retitled after update of title on films
    for each row when (old.title is distinct from new.title) execute function film_retitled();
