-- What a careless admin, a seat hoarder and an attacker must not be able to do: erase paid
-- reservations, hold a whole screening unpaid, or lock the box office out of sign-in.
-- Additive for the code of the previous release (it keeps working until its functions are
-- replaced): old functions stay, new ones are added beside them.

-- ---- history is never erased ----------------------------------------------------------------

-- A cancelled screening stays, shown as cancelled, with every reservation cancelled; a deleted
-- one that had (unpaid, cancelled or lapsed) reservations stays as their record, hidden from
-- the schedule, its tickets withdrawn. Neither holds its hall's time any more.
alter table screenings
    add column cancelled_at timestamptz,
    add column deleted_at   timestamptz;

alter table screenings drop constraint screenings_no_overlap;
alter table screenings add constraint screenings_no_overlap exclude using gist (
    hall_id with =,
    tstzrange(starts_at, ends_at) with &&
) where (cancelled_at is null and deleted_at is null);

-- Deleting a screening never takes its reservations with it: the database refuses, whatever
-- the code does (the API hides such a screening instead).
alter table reservations drop constraint reservations_screening_id_fkey;
alter table reservations add constraint reservations_screening_id_fkey
    foreign key (screening_id) references screenings (id);

-- A screening as the API shows it: deleted ones are gone from the schedule.
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
       (select count(*) from ticket_details td where td.screening_id = s.id) as seats_total,
       (select count(*) from ticket_details td where td.screening_id = s.id and not td.reserved) as seats_free,
       s.cancelled_at
from screenings s
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id
where s.deleted_at is null;

-- ---- hold limits ------------------------------------------------------------------------------

-- A customer's holds that may still be paid: the hold limit counts them from here.
create index reservations_user_holds_idx on reservations (user_id, pay_by) where status = 'active';

-- Whether holding `wanted` more seats of `screening` unpaid would take `customer` past a limit:
-- null when it would not, else 'screening' (seats of that screening) or 'total' (seats of
-- every screening that has not started). The customer's row is locked first, so that their
-- concurrent bookings take turns; being volatile, each statement below reads with a snapshot
-- taken after that lock, which sees every hold a booking that held it committed.
create function hold_limit_exceeded(customer bigint, screening bigint, wanted integer,
                                    total_limit integer, screening_limit integer) returns text
    language plpgsql volatile
as $$
declare
    held_total bigint;
    held_here  bigint;
begin
    perform 1 from users where id = customer for no key update;
    select count(*), count(*) filter (where r.screening_id = screening)
      into held_total, held_here
      from reservations r
      join reservation_items ri on ri.reservation_id = r.id
     where r.user_id = customer and r.status = 'active' and r.pay_by > now()
       and ri.active and ri.held_until > now();
    if held_here + wanted > screening_limit then
        return 'screening';
    elsif held_total + wanted > total_limit then
        return 'total';
    end if;
    return null;
end
$$;

-- ---- sign-in throttling that strangers cannot turn against the owner ------------------------

-- A device that signed in to an account: presented again at later sign-ins (`Device-Token`),
-- it makes them trusted, counted apart from strangers' failures. Only its SHA-256 is stored.
create table device_tokens (
    id          bigint generated always as identity primary key,
    user_id     bigint      not null references users (id) on delete cascade,
    token_hash  bytea       not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    revoked_at  timestamptz,
    constraint device_tokens_token_hash_key unique (token_hash),
    constraint device_tokens_expiry_after_creation check (expires_at > created_at)
);
create index device_tokens_user_id_idx on device_tokens (user_id) where revoked_at is null;

-- Attempts whose password is being checked (`pending`, since `pending_since`) are counted
-- apart from failures (`hits`): a failure is recorded when it is known, never in advance, so a
-- correct sign-in can never lock, or lock again, what it is counted under.
alter table throttles
    add column pending       integer     not null default 0,
    add column pending_since timestamptz;
alter table throttles drop constraint throttles_scope;
alter table throttles add constraint throttles_scope
    check (scope in ('sign_in_account', 'sign_in_address', 'sign_in_device', 'registration'));

-- An attempt under a throttle begins: 0 when it may go on (it is then pending), or the seconds
-- to wait. Refused while a block lasts; below the limit, as many attempts at once as failures
-- remain before it; at the limit (its block over), one at a time. Failures are forgotten once
-- `window` has passed since the last one (or the end of the last block). A pending attempt
-- older than a minute was cut off (no sign-in takes that long) and no longer counts.
create function throttle_begin(scope text, key bytea, hit_limit integer, "window" interval)
    returns integer
    language plpgsql
as $$
declare
    t throttles := lock_throttle(scope, key);
begin
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

-- A pending attempt ends. A failure is counted, and at `hit_limit` failures the key is blocked
-- for `first_block`, doubled by each further failure up to `max_block`. A success changes
-- nothing but the pending count, except that an account (or device) starts afresh: a correct
-- sign-in never extends or re-arms a lock.
create function throttle_end(scope text, key bytea, failed boolean, hit_limit integer,
                             first_block interval, max_block interval) returns void
    language plpgsql
as $$
declare
    t throttles := lock_throttle(scope, key);
begin
    if not failed and scope in ('sign_in_account', 'sign_in_device') then
        delete from throttles where throttles.scope = t.scope and throttles.key = t.key;
        return;
    end if;
    t.pending := greatest(t.pending - 1, 0);
    if failed then
        t.hits := t.hits + 1;
        t.last_hit := now();
        if t.hits >= hit_limit then
            t.blocked_until := now() + least(max_block, first_block * power(2, least(t.hits - hit_limit, 30)));
        end if;
    end if;
    update throttles
       set hits = t.hits, last_hit = t.last_hit, blocked_until = t.blocked_until, pending = t.pending
     where throttles.scope = t.scope and throttles.key = t.key;
end
$$;

-- A sign-in (or a check of the current password) begins, in the statement that reads the
-- account: by `user_id`, or else by `username` (null for a name that cannot exist, which is
-- still counted). `account_key` is the SHA-256 of the lower-cased username (computed here from
-- the account when null). With a valid device token for the account the attempt is trusted
-- and counted under that token alone; otherwise under the client address (if known) and the
-- account, so that strangers' failures lock only attempts without a device token. Unknown and
-- known usernames are counted alike, and a refused attempt reads no account.
create function sign_in_begin(
    p_user_id bigint, p_username text, account_key bytea, address_key bytea, device_hash bytea,
    account_limit integer, address_limit integer, "window" interval
) returns table (wait integer, user_id bigint, username text, password_hash text, role user_role,
                 trusted boolean)
    language plpgsql
as $$
declare
    u users;
    is_trusted boolean;
    waited integer := 0;
begin
    if p_user_id is not null then
        select * into u from users where id = p_user_id and active;
    elsif p_username is not null then
        select * into u from users where lower(users.username) = lower(p_username) and active;
    end if;
    account_key := coalesce(account_key, sha256(convert_to(lower(u.username), 'UTF8')));
    is_trusted := u.id is not null and device_hash is not null and exists (
        select 1 from device_tokens d
         where d.token_hash = device_hash and d.user_id = u.id and d.revoked_at is null
           and d.expires_at > now());
    if is_trusted then
        waited := throttle_begin('sign_in_device', device_hash, account_limit, "window");
    else
        if address_key is not null then
            waited := throttle_begin('sign_in_address', address_key, address_limit, "window");
        end if;
        if waited = 0 then
            waited := throttle_begin('sign_in_account', account_key, account_limit, "window");
            -- The account refused it: the address gets its attempt back.
            if waited > 0 and address_key is not null then
                update throttles t set pending = greatest(t.pending - 1, 0)
                 where t.scope = 'sign_in_address' and t.key = address_key;
            end if;
        end if;
    end if;
    if waited > 0 then
        return query select waited, null::bigint, null::text, null::text, null::user_role, is_trusted;
    else
        return query select 0, u.id, u.username, u.password_hash, u.role, is_trusted;
    end if;
end
$$;

-- The end of what `sign_in_begin` began, once the password is checked.
create function sign_in_end(
    failed boolean, trusted boolean, account_key bytea, address_key bytea, device_hash bytea,
    account_limit integer, address_limit integer, first_block interval, max_block interval
) returns void
    language plpgsql
as $$
begin
    if trusted then
        perform throttle_end('sign_in_device', device_hash, failed, account_limit, first_block, max_block);
        return;
    end if;
    perform throttle_end('sign_in_account', account_key, failed, account_limit, first_block, max_block);
    if address_key is not null then
        perform throttle_end('sign_in_address', address_key, failed, address_limit, first_block, max_block);
    end if;
end
$$;

-- ---- passes of 128 random bits ----------------------------------------------------------------

create extension if not exists pgcrypto;

-- A new pass code: 128 bits from the server's strong random source, URL-safe base64 without
-- padding: 22 characters.
create or replace function new_pass_code() returns text
    language sql volatile parallel safe
    return translate(rtrim(encode(gen_random_bytes(16), 'base64'), '='), '+/', '-_');

-- ---- names compared as people read them ------------------------------------------------------

-- The form in which two titles or names are the same one: NFKC (fullwidth letters, ligatures
-- and other compatibility forms become the plain ones) and Unicode case folding (ICU's full
-- lowercasing, with the folds that lowercasing leaves out: ß and ẞ are ss, final sigma is
-- sigma), NFKC again. `STRASSE` and `Straße`, `ＡＢＣ` and `abc` are one title.
create function fold_key(value text) returns text
    language sql immutable strict parallel safe
    return normalize(
        replace(replace(lower(normalize(value, nfkc) collate "und-x-icu"), 'ß', 'ss'), 'ς', 'σ'),
        nfkc);

drop index genres_title_key;
create unique index genres_title_key on genres (fold_key(title));
drop index films_title_key;
create unique index films_title_key on films (fold_key(title));
drop index halls_name_key;
create unique index halls_name_key on halls (fold_key(name));
