-- A page of users by id, with the capped count (GET /users), after the caller's current role
-- is checked. One role's users (the role index) or all (the primary key), each in its own
-- branch with a condition on the parameters that is constant for the statement, so that its
-- generic plan reads just the index for the filter and stops after the count's limit ($6).
with matching as materialized (
        (select id from users where $1::user_role is not null and role = $1 and ($5::boolean is null or active = $5)
         order by id limit $6)
        union all
        (select id from users where $1::user_role is null and ($5::boolean is null or active = $5)
         order by id limit $6)
    )
select t.total as "total!", u.id as "id?", u.username as "username?", u.full_name as "full_name?",
       u.role as "role?: Role", u.active as "active?", u.created_at as "created_at?"
from (select count(*) as total from matching) t
    left join lateral (
        select u.id, u.username, u.full_name, u.role, u.active, u.created_at
        from (select id from matching order by id limit $2 offset $3) p
            -- `limit 1` keeps this a lookup per row of the page, whatever the estimates.
            cross join lateral (select * from users u where u.id = p.id limit 1) u
        order by p.id
    ) u on true
where authorize($4, 'admin')
