-- Selling online. A customer's hold in checkout has a PaymentIntent at the provider; the
-- provider's word that it succeeded (its webhook, or the answer when we ask) is applied once,
-- whenever it arrives: the reservation is paid if it holds its seats, or takes them back if they
-- are still free, or else is refunded in full. Refunds are made at the provider and tracked
-- here until it says they succeeded.

-- An online payment has no cashier; money received and then refunded keeps its payment.
alter table reservations
    drop constraint reservations_paid_matches_status,
    drop constraint reservations_payment_complete;
alter table reservations
    add constraint reservations_paid_has_payment check (status <> 'paid' or paid_at is not null),
    add constraint reservations_refunded_was_paid check (not refunded or paid_at is not null),
    add constraint reservations_payment_complete
        check ((paid_at is null) = (payment_method is null)
               and (paid_by is null) = (paid_at is null or payment_method = 'online'));

-- A reservation's checkout: one PaymentIntent, open until what became of it is known.
create table checkouts (
    reservation_id    bigint      primary key references reservations (id),
    payment_intent_id text        not null,
    client_secret     text        not null,
    -- In the currency's minor units, from the reservation's total price.
    amount            bigint      not null,
    currency          text        not null,
    created_at        timestamptz not null default now(),
    closed_at         timestamptz,
    -- paid: the reservation was paid with it; refunded: the payment was returned; cancelled:
    -- the PaymentIntent was cancelled unpaid (paid at the till, or lapsed).
    outcome           text,
    constraint checkouts_payment_intent_id_key unique (payment_intent_id),
    constraint checkouts_amount_positive check (amount > 0),
    constraint checkouts_currency check (currency ~ '^[a-z]{3}$'),
    constraint checkouts_outcome check (outcome in ('paid', 'refunded', 'cancelled')),
    constraint checkouts_closed_with_outcome check ((closed_at is null) = (outcome is null))
);
-- Reconciliation reads the open ones only.
create index checkouts_open_idx on checkouts (created_at) where closed_at is null;

-- A payment returned at the provider: in full, once per PaymentIntent.
create table refunds (
    id                 bigint      generated always as identity primary key,
    reservation_id     bigint      not null references reservations (id),
    payment_intent_id  text        not null,
    amount             bigint      not null,
    currency           text        not null,
    reason             text        not null,
    status             text        not null default 'pending',
    provider_refund_id text,
    -- Calls made to the provider for it; a call is claimed (counted) before it is made.
    attempts           integer     not null default 0,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    constraint refunds_payment_intent_id_key unique (payment_intent_id),
    constraint refunds_provider_refund_id_key unique (provider_refund_id),
    constraint refunds_amount_positive check (amount > 0),
    constraint refunds_reason check (reason in ('requested_by_customer', 'lapsed_before_payment',
        'paid_at_till', 'reservation_cancelled', 'screening_cancelled')),
    constraint refunds_status check (status in ('pending', 'succeeded', 'failed'))
);
create index refunds_reservation_id_idx on refunds (reservation_id, id desc);
-- The staff's list (the newest refunds in one state) and reconciliation read by state.
create index refunds_status_idx on refunds (status, created_at desc, id desc);

-- Provider events applied, by their id: a duplicate delivery changes nothing.
create table payment_events (
    event_id    text        primary key,
    type        text        not null,
    received_at timestamptz not null default now()
);
create index payment_events_received_at_idx on payment_events (received_at);

-- The reservation as the API shows it, now with its open checkout and its latest refund.
create or replace view reservation_details as
select r.id,
       current_status(r.status, r.pay_by) as status,
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
                      'ticket_id', ri.ticket_id, 'row', ri.row_number, 'seat', ri.seat_number,
                      'price', ri.price::text, 'code', ri.pass_code)
                  order by ri.row_number, ri.seat_number)
           from reservation_items ri where ri.reservation_id = r.id
       ), '[]') as tickets,
       r.pay_by,
       r.paid_at,
       r.payment_method,
       r.paid_by as paid_by_id,
       p.username as paid_by_username,
       r.refunded,
       (select json_build_object('provider', 'stripe', 'payment_intent_id', c.payment_intent_id,
                                 'client_secret', c.client_secret, 'amount', c.amount,
                                 'currency', c.currency, 'expires_at', r.pay_by)
        from checkouts c
        where c.reservation_id = r.id and c.closed_at is null and r.status = 'active') as checkout,
       (select json_build_object('status', rf.status, 'amount', rf.amount, 'currency', rf.currency,
                                 'reason', rf.reason)
        from refunds rf where rf.reservation_id = r.id order by rf.id desc limit 1) as refund
from reservations r
join users u on u.id = r.user_id
join users b on b.id = r.booked_by
left join users p on p.id = r.paid_by
join screenings s on s.id = r.screening_id
join films f on f.id = s.film_id
join halls h on h.id = s.hall_id;

-- A PaymentIntent that succeeded, applied once (`event_id`: the provider's event, none when we
-- asked the provider ourselves). Answers what it did: `paid` (the reservation holds its seats
-- and is paid), `refund` (the payment must be returned: `refund_amount`), `duplicate` (applied
-- before), or `ignored` (not one of our checkouts, or amount or currency differ).
--
-- The reservation's row lock orders it against a booking that would free the reservation's
-- lapsed seats, a till payment and a cancellation: whichever commits first is seen by the other.
create function apply_online_payment(intent text, paid_amount bigint, paid_currency text,
                                     reservation bigint, event_id text, event_type text)
    returns table (outcome text, refund_amount bigint)
    language plpgsql
as $$
declare
    r reservations;
    c checkouts;
    s screenings;
    state reservation_status;
    taken boolean := false;
    refund_reason text;
begin
    if event_id is not null then
        insert into payment_events (event_id, type) values (event_id, event_type)
        on conflict do nothing;
        if not found then
            return query select 'duplicate', null::bigint;
            return;
        end if;
    end if;
    select * into r from reservations where id = reservation for update;
    select * into c from checkouts
        where checkouts.reservation_id = reservation and payment_intent_id = intent for update;
    if c.reservation_id is null or c.amount <> paid_amount or c.currency <> lower(paid_currency) then
        return query select 'ignored', null::bigint;
        return;
    end if;
    if c.closed_at is not null then
        return query select 'duplicate', null::bigint;
        return;
    end if;
    select * into s from screenings where id = r.screening_id;
    state := current_status(r.status, r.pay_by);

    if state = 'active' then
        -- It holds its seats.
        update reservations set status = 'paid', paid_at = now(), payment_method = 'online'
        where id = r.id;
        update reservation_items set held_until = null, pass_code = new_pass_code()
        where reservation_items.reservation_id = r.id and active;
        update checkouts set closed_at = now(), outcome = 'paid' where checkouts.reservation_id = r.id;
        return query select 'paid', null::bigint;
        return;
    end if;

    if state = 'lapsed' and s.starts_at > now() and s.cancelled_at is null and s.deleted_at is null then
        -- It lapsed: it takes its seats back if they are free. Other lapsed holds on them are
        -- released first, as a booking would; a seat held or sold since is kept by the unique
        -- index on active seats, and then the payment is returned.
        with others as (
            update reservations o set status = 'lapsed'
            where o.id in (select ri.reservation_id
                           from reservation_items mine
                           join reservation_items ri on ri.ticket_id = mine.ticket_id
                           where mine.reservation_id = r.id and ri.reservation_id <> r.id
                             and ri.active and ri.held_until <= now())
              and o.status = 'active' and o.pay_by <= now()
            returning o.id
        )
        update reservation_items set active = false
        where reservation_items.reservation_id in (select id from others) and active;
        if exists (select 1 from reservation_items
                   where reservation_items.reservation_id = r.id and ticket_id is null) then
            taken := true;
        else
            begin
                update reservation_items set active = true, held_until = null, pass_code = new_pass_code()
                where reservation_items.reservation_id = r.id;
            exception when unique_violation then
                taken := true;
            end;
        end if;
        if not taken then
            update reservations set status = 'paid', paid_at = now(), payment_method = 'online'
            where id = r.id;
            update checkouts set closed_at = now(), outcome = 'paid' where checkouts.reservation_id = r.id;
            return query select 'paid', null::bigint;
            return;
        end if;
    end if;

    -- The seats are not to be had: the payment is returned in full.
    refund_reason := case
        when r.status = 'paid' then 'paid_at_till'
        when s.cancelled_at is not null then 'screening_cancelled'
        when r.status = 'cancelled' then 'reservation_cancelled'
        else 'lapsed_before_payment' end;
    if r.status <> 'paid' then
        update reservations
        set status = 'cancelled', cancelled_at = coalesce(cancelled_at, now()), paid_at = now(),
            payment_method = 'online', paid_by = null
        where id = r.id;
        update reservation_items set active = false
        where reservation_items.reservation_id = r.id and active;
    end if;
    insert into refunds (reservation_id, payment_intent_id, amount, currency, reason)
    values (r.id, c.payment_intent_id, c.amount, c.currency, refund_reason)
    on conflict do nothing;
    update checkouts set closed_at = now(), outcome = 'refunded' where checkouts.reservation_id = r.id;
    return query select 'refund', c.amount;
end
$$;

-- A refund call is about to be made for `intent`: claimed (counted) by one caller at a time, and
-- not again within a minute unless it failed. Answers the attempt's number, or nothing when it
-- is settled or another caller has it.
create function claim_refund(intent text) returns integer
    language plpgsql
as $$
declare
    attempt integer;
begin
    update refunds set attempts = attempts + 1, updated_at = now()
    where payment_intent_id = intent and status <> 'succeeded'
      and (attempts = 0 or status = 'failed' or updated_at < now() - interval '1 minute')
    returning attempts into attempt;
    return attempt;
end
$$;

-- What the provider said of a refund: its status and id; a reservation whose payment came back
-- in full reads `refunded`. A refund that succeeded stays succeeded, whatever older news arrives
-- after it (webhooks come in any order).
create function record_refund(intent text, refund_status text, refund_id text) returns void
    language sql volatile
begin atomic
    with refund as (
        update refunds set status = refund_status, provider_refund_id = coalesce(refund_id, provider_refund_id),
                           updated_at = now()
        where payment_intent_id = intent and (status <> 'succeeded' or refund_status = 'succeeded')
        returning reservation_id, status
    )
    update reservations r set refunded = true
    from refund
    where r.id = refund.reservation_id and refund.status = 'succeeded' and r.status = 'cancelled'
      and r.payment_method = 'online';
end;
