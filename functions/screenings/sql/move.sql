-- Moving a screening or changing its base price (PATCH /screenings/{id}). A move shifts every
-- unpaid hold's pay-by time by as much as the screening moved, in this statement: a hold that
-- has lapsed (pay_by passed) stays lapsed, and one moved to a pay-by time already past lapses.
-- The handler has locked the screening's row in a statement of its own: a booking of it (which
-- locks it for share) has settled, and its hold is seen here, or starts after, with the new start.
with current as (
        select id, starts_at, cancelled_at is not null as cancelled
        from screenings where id = $1 and deleted_at is null and authorize($4, 'admin') for update
    ),
    updated as (
        update screenings s set
            starts_at = coalesce($2, s.starts_at),
            ends_at = coalesce($2, s.starts_at) + (s.ends_at - s.starts_at),
            base_price = coalesce($3, s.base_price)
        from current
        where s.id = current.id and current.starts_at > now() and not current.cancelled
        returning s.id, s.starts_at - current.starts_at as moved_by
    ),
    holds as (
        update reservations r set pay_by = r.pay_by + updated.moved_by
        from updated
        where r.screening_id = updated.id and updated.moved_by <> interval '0'
          and r.status = 'active' and r.pay_by > now()
        returning r.id, updated.moved_by
    ),
    held_seats as (
        update reservation_items ri set held_until = ri.held_until + holds.moved_by
        from holds
        where ri.reservation_id = holds.id and ri.active and ri.held_until is not null
    )
select exists (select 1 from current) as "found!",
       coalesce((select cancelled from current), false) as "cancelled!",
       exists (select 1 from updated) as "updated!",
       (select count(*) from holds) as "holds_moved!"
