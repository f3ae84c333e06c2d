-- Accounts that hold against abuse: deactivation, refresh-token families, throttling of
-- sign-in and registration, and the check every signed-in statement makes of its caller.
-- Additive only: code built before this migration keeps working on the new schema.

-- A deactivated user cannot sign in or refresh, and their access tokens stop working.
alter table users add column active boolean not null default true;

-- Every refresh token descends from one sign-in: its family. Presenting a rotated token
-- again (a stolen copy, or the victim after the thief) revokes the whole family.
create sequence refresh_token_families as bigint;
alter table refresh_tokens add column family_id bigint;
update refresh_tokens set family_id = nextval('refresh_token_families');
alter table refresh_tokens
    alter column family_id set default nextval('refresh_token_families'),
    alter column family_id set not null;
create index refresh_tokens_family_id_idx on refresh_tokens (family_id);

-- Attempts per account, per client address and per registering address, shared by every
-- instance of the function. `key` is a SHA-256 (of the lower-cased username, or of the
-- address), so the table holds no usernames that were never registered.
create table throttles (
    scope         text        not null,
    key           bytea       not null,
    hits          integer     not null,
    first_hit     timestamptz not null,
    last_hit      timestamptz not null,
    blocked_until timestamptz,
    constraint throttles_pkey primary key (scope, key),
    constraint throttles_scope check (scope in ('sign_in_account', 'sign_in_address', 'registration')),
    constraint throttles_hits_not_negative check (hits >= 0)
);

-- Counts nobody has touched for a day are of no use: each attempt removes a few (bounded work,
-- and rows another request holds are skipped), so the table holds about a day of attempts
-- whatever the number of usernames an attacker tries. Windows are at most a day.
create index throttles_last_hit_idx on throttles (last_hit);

create function tidy_throttles() returns void
    language sql
as $$
    delete from throttles where ctid in (
        select ctid from throttles
         where last_hit < now() - interval '1 day'
           and (blocked_until is null or blocked_until < now() - interval '1 day')
         order by last_hit
         limit 10
           for update skip locked
    );
$$;

-- The row of a throttle, created if need be and locked until the end of the transaction: two
-- attempts under one key take their turns.
create function lock_throttle(scope text, key bytea) returns throttles
    language plpgsql
as $$
declare
    t throttles;
begin
    perform tidy_throttles();
    insert into throttles values (scope, key, 0, now(), now(), null) on conflict do nothing;
    select * into strict t from throttles
     where throttles.scope = lock_throttle.scope and throttles.key = lock_throttle.key
       for update;
    return t;
end
$$;

-- One sign-in attempt (or current-password check) under a throttle. Returns 0 when the attempt
-- may go on: it is counted in advance, so concurrent attempts cannot all slip past the limit
-- while their passwords are being checked; a success takes it back (`throttle_success`).
-- Otherwise returns the seconds to wait. Once `hit_limit` attempts are counted the key is
-- blocked for `first_block`, doubling with every further counted attempt up to `max_block`.
-- Counts reset once `window` has passed since the last attempt or block.
create function throttle_attempt(
    scope text, key bytea, hit_limit integer,
    "window" interval, first_block interval, max_block interval
) returns integer
    language plpgsql
as $$
declare
    t throttles := lock_throttle(scope, key);
begin
    if t.blocked_until > now() then
        return greatest(1, ceil(extract(epoch from t.blocked_until - now())))::integer;
    end if;
    if greatest(t.last_hit, t.blocked_until) < now() - "window" then
        t.hits := 0;
        t.first_hit := now();
    end if;
    t.hits := t.hits + 1;
    t.last_hit := now();
    t.blocked_until := case
        when t.hits >= hit_limit
        then now() + least(max_block, first_block * power(2, least(t.hits - hit_limit, 30)))
    end;
    update throttles set hits = t.hits, first_hit = t.first_hit, last_hit = t.last_hit,
                         blocked_until = t.blocked_until
     where throttles.scope = t.scope and throttles.key = t.key;
    return 0;
end
$$;

-- A sign-in attempt that succeeded: the account starts afresh; the address gets its attempt
-- back (a box office signing in many staff from one address is not an attack).
create function throttle_success(scope text, key bytea, hit_limit integer) returns void
    language sql
as $$
    delete from throttles t where t.scope = $1 and t.key = $2 and $1 = 'sign_in_account';
    update throttles t
       set hits = greatest(t.hits - 1, 0),
           blocked_until = case when t.hits - 1 < $3 then null else t.blocked_until end
     where t.scope = $1 and t.key = $2 and $1 <> 'sign_in_account';
$$;

-- One request under a plain rate limit: at most `hit_limit` per `window` from its first.
-- Returns 0 (counted) or the seconds until the window ends.
create function rate_attempt(scope text, key bytea, hit_limit integer, "window" interval)
    returns integer
    language plpgsql
as $$
declare
    t throttles := lock_throttle(scope, key);
begin
    if t.first_hit < now() - "window" then
        t.hits := 0;
        t.first_hit := now();
    end if;
    if t.hits >= hit_limit then
        return greatest(1, ceil(extract(epoch from t.first_hit + "window" - now())))::integer;
    end if;
    update throttles set hits = t.hits + 1, first_hit = t.first_hit, last_hit = now()
     where throttles.scope = t.scope and throttles.key = t.key;
    return 0;
end
$$;

-- The caller's role now, read in the statement that acts on it: a demoted cashier's or
-- admin's token stops working for staff actions at once. A deleted or deactivated caller is
-- refused with SQLSTATE CA401 (the API answers 401).
create function caller_role(caller bigint) returns user_role
    language plpgsql stable
as $$
declare
    current_role user_role;
begin
    select role into current_role from users where id = caller and active;
    if not found then
        raise exception 'the caller''s account is deleted or deactivated' using errcode = 'CA401';
    end if;
    return current_role;
end
$$;

-- True when the caller's current role is one of `allowed`; otherwise SQLSTATE CA403 (403).
-- Called with only parameters, it is a one-time filter: it runs once, before any row is read
-- or written.
create function authorize(caller bigint, variadic allowed user_role[]) returns boolean
    language plpgsql stable
as $$
begin
    if not (caller_role(caller) = any (allowed)) then
        raise exception 'the caller''s role does not allow this' using errcode = 'CA403';
    end if;
    return true;
end
$$;

-- A sign-in attempt: the client address's throttle first (an address past its limit does not
-- move any account's count), then the account's. 0, or the seconds to wait.
create function sign_in_attempt(
    account_key bytea, address_key bytea, account_limit integer, address_limit integer,
    "window" interval, first_block interval, max_block interval
) returns integer
    language plpgsql
as $$
declare
    wait integer := 0;
begin
    if address_key is not null then
        wait := throttle_attempt('sign_in_address', address_key, address_limit, "window", first_block, max_block);
    end if;
    if wait = 0 then
        wait := throttle_attempt('sign_in_account', account_key, account_limit, "window", first_block, max_block);
    end if;
    return wait;
end
$$;

create function sign_in_success(account_key bytea, address_key bytea, address_limit integer)
    returns void
    language sql
as $$
    select throttle_success('sign_in_account', $1, 0);
    select throttle_success('sign_in_address', $2, $3) where $2 is not null;
$$;

-- For actions whose scope depends on whether the caller is staff (their own reservations, or
-- everyone's): the token's claim is checked against the role now. A token that claims staff
-- for someone who no longer is staff is refused (CA403); any token of a deleted or
-- deactivated account is refused (CA401).
create function authorize_claim(caller bigint, claims_staff boolean) returns boolean
    language sql stable
as $$
    select case
        when claims_staff then authorize(caller, 'cashier', 'admin')
        else caller_role(caller) is not null
    end
$$;

-- The booker's role when the booking was made: a cashier demoted later still booked as a
-- cashier. Older rows take the booker's role now, the best that is known of them.
alter table reservations add column booked_by_role user_role;
update reservations r set booked_by_role = u.role from users u where u.id = r.booked_by;

create or replace view reservation_details as
select r.id,
       r.status,
       r.total_price,
       r.created_at,
       r.cancelled_at,
       r.user_id,
       u.username as user_username,
       u.full_name as user_full_name,
       r.booked_by as booked_by_id,
       b.username as booked_by_username,
       coalesce(r.booked_by_role, b.role) as booked_by_role,
       r.screening_id,
       s.starts_at as screening_starts_at,
       f.id as film_id,
       f.title as film_title,
       h.id as hall_id,
       h.name as hall_name,
       coalesce((
           select json_agg(json_build_object(
                      'ticket_id', ri.ticket_id, 'row', ri.row_number, 'seat', ri.seat_number, 'price', ri.price::text)
                  order by ri.row_number, ri.seat_number)
           from reservation_items ri where ri.reservation_id = r.id
       ), '[]') as tickets
from reservations r
join users u on u.id = r.user_id
join users b on b.id = r.booked_by
join screenings s on s.id = r.screening_id
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id;
