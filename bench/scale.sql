-- A cinema's data at any scale, generated in the database (generate_series, no round trip per
-- row): `select pg_temp.seed_cinema(users, films, days_back, days_ahead)` on a freshly migrated
-- database. Nine halls of 7 x 10 seats (the migrations' halls), three screenings a day in each
-- hall from `days_back` days ago to `days_ahead` days ahead, a ticket for every seat, and
-- bookings of two seats: 85 % of the seats of past screenings, 30 % of future ones (the last
-- future screening of each day is left empty, for bookings to take), one in ten cancelled,
-- one in five made by a cashier (customer_1); past screenings' paid (four in five of their
-- passes admitted) or lapsed, future ones' paid or held; `manager` is an admin. Five years:
--   seed_cinema(20000, 5000, 1840, 14): 50,058 screenings, 3.5 M tickets, 1.46 M reservations.
-- The function lives in the session's temporary schema: it leaves nothing behind.
create function pg_temp.seed_cinema(users integer, films integer, days_back integer, days_ahead integer)
    returns void
    language plpgsql
as $$
declare
    first_user bigint;
    first_film bigint;
begin
    -- The data is consistent by construction; foreign-key triggers would only slow it down.
    -- (For this transaction only.)
    perform set_config('session_replication_role', 'replica', true);

    -- customer_1 is the box office's cashier.
    insert into users (username, password_hash, full_name, role, created_at)
    select 'customer_' || n,
           -- Not a password anyone knows (bcrypt of a random string).
           '$2b$04$mr7cgkqTfq8vqB5kxVZL7uXWnE2bm/4wG4h2F9GBiK1s6rJq8Xv7y',
           'Customer ' || n,
           case when n = 1 then 'cashier'::user_role else 'user' end,
           now() - make_interval(days => days_back) + make_interval(mins => n)
    from generate_series(1, users) n;
    select min(id) into first_user from users where username like 'customer\_%';
    -- And the manager, an admin.
    insert into users (username, password_hash, full_name, role)
    values ('manager', '$2b$04$mr7cgkqTfq8vqB5kxVZL7uXWnE2bm/4wG4h2F9GBiK1s6rJq8Xv7y', 'Cinema Manager', 'admin');

    insert into genres (title)
    select 'Genre ' || n from generate_series(1, 20) n
    on conflict do nothing;

    -- Titles of made-up words, so that a search for part of one matches a few films.
    insert into films (title, description, age_rating, duration_minutes, release_year)
    select initcap(substr(md5(n::text), 1, 7)) || ' ' || initcap(substr(md5((n * 7)::text), 9, 5)) || ' ' || n,
           'A film of a large catalogue.',
           (enum_range(null::age_rating))[1 + n % 6],
           80 + n % 100,
           1950 + n % 76
    from generate_series(1, films) n;
    select min(id) into first_film from films where description = 'A film of a large catalogue.';

    insert into film_genres (film_id, genre_id)
    select f.id, g.id
    from films f
    join genres g on g.title in ('Genre ' || (1 + f.id % 20), 'Genre ' || (1 + (f.id * 7 + 3) % 20))
    where f.id >= first_film
    on conflict do nothing;

    -- Screenings start at 10:00, 14:00 and 18:00 (plus 0-2 hours by hall), so none overlap.
    insert into screenings (film_id, hall_id, starts_at, ends_at, base_price, created_at)
    select first_film + (abs(hashint4(d * 27 + h * 3 + k)) % films),
           h,
           starts_at,
           starts_at + make_interval(mins => 80 + ((first_film + (abs(hashint4(d * 27 + h * 3 + k)) % films)) % 100)::integer),
           8 + (h + k) % 8,
           starts_at - interval '30 days'
    from generate_series(-days_back, days_ahead - 1) d,
         generate_series(1, 9) h,
         generate_series(0, 2) k,
         lateral (select date_trunc('day', now()) + make_interval(days => d, hours => 10 + 4 * k + h % 3) as starts_at) t
    order by starts_at, h;

    insert into tickets (screening_id, row_number, seat_number)
    select s.id, r, n from screenings s, generate_series(1, 7) r, generate_series(1, 10) n
    order by s.id, r, n;

    -- Booking j of a screening takes seats 2j and 2j + 1 (counted along the rows). One in ten
    -- is cancelled; of the rest, past screenings' are paid (most admitted at the door) or
    -- lapsed, upcoming ones' paid or held until 30 minutes before the start.
    create temporary table seeded_bookings on commit drop as
    select row_number() over (order by s.id, j) + coalesce((select max(id) from reservations), 0) as id,
           s.id as screening_id, s.starts_at, s.base_price, h.surcharge_percent, j,
           first_user + 1 + abs(hashint4(s.id::integer * 35 + j)) % (users - 1) as user_id,
           case when j % 10 = 9 then 'cancelled'
                when s.starts_at < now() and j % 10 = 8 then 'lapsed'
                when s.starts_at >= now() and j % 3 = 0 then 'active'
                else 'paid' end::reservation_status as status,
           s.starts_at - make_interval(days => 1 + j % 14, mins => j) as created_at
    from screenings s
    join halls h on h.id = s.hall_id
    cross join lateral generate_series(0, case
        when s.starts_at < now() then 29
        when extract(hour from s.starts_at) >= 18 then -1
        else 10 end) j;

    insert into reservations (id, user_id, booked_by, booked_by_role, screening_id, status, total_price, created_at,
                              cancelled_at, pay_by, paid_at, paid_by, payment_method, admitted_at)
    overriding system value
    select b.id, b.user_id,
           case when j % 5 = 4 then first_user else b.user_id end,
           case when j % 5 = 4 then 'cashier'::user_role else 'user' end,
           b.screening_id,
           b.status,
           2 * seat_price(b.base_price, b.surcharge_percent),
           b.created_at,
           case when b.status = 'cancelled' then b.starts_at - interval '12 hours' end,
           b.starts_at - interval '30 minutes',
           case when b.status = 'paid' then b.created_at + interval '1 hour' end,
           case when b.status = 'paid' then first_user end,
           case when b.status = 'paid' then (array['cash', 'card'])[1 + j % 2]::payment_method end,
           case when b.status = 'paid' and b.starts_at < now() and j % 5 <> 3 then b.starts_at - interval '10 minutes' end
    from seeded_bookings b;
    perform setval(pg_get_serial_sequence('reservations', 'id'), (select max(id) from reservations));

    -- Every other cancelled reservation was bought online and refunded through the provider:
    -- its checkout and its refund.
    with online as (
        update reservations r
        set paid_at = r.created_at + interval '5 minutes', payment_method = 'online', refunded = true
        from seeded_bookings b
        where r.id = b.id and b.status = 'cancelled' and b.j % 20 = 19
        returning r.id, r.total_price, r.created_at
    ), checkout as (
        insert into checkouts (reservation_id, payment_intent_id, client_secret, amount, currency,
                               created_at, closed_at, outcome)
        select id, 'pi_seed_' || id, 'pi_seed_' || id || '_secret_seed', (total_price * 100)::bigint, 'eur',
               created_at, created_at + interval '5 minutes', 'paid'
        from online
    )
    insert into refunds (reservation_id, payment_intent_id, amount, currency, reason, status,
                         provider_refund_id, attempts, created_at, updated_at)
    select id, 'pi_seed_' || id, (total_price * 100)::bigint, 'eur', 'requested_by_customer', 'succeeded',
           're_seed_' || id, 1, created_at + interval '1 day', created_at + interval '1 day'
    from online;

    insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price, active, held_until,
                                   pass_code, admitted_at)
    select b.id, t.id, t.row_number, t.seat_number, seat_price(b.base_price, b.surcharge_percent),
           b.status in ('active', 'paid'),
           case when b.status in ('active', 'lapsed') then b.starts_at - interval '30 minutes' end,
           case when b.status = 'paid' then new_pass_code() end,
           case when b.status = 'paid' and b.starts_at < now() and j % 5 <> 3 then b.starts_at - interval '10 minutes' end
    from seeded_bookings b
    cross join generate_series(0, 1) p
    join tickets t on t.screening_id = b.screening_id
        and t.row_number = 1 + (2 * b.j + p) / 10 and t.seat_number = 1 + (2 * b.j + p) % 10;
end
$$;
