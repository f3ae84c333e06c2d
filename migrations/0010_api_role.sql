-- The role the API functions connect as when the stack creates the database: it reads and writes
-- rows and runs the schema's functions, and can change nothing of the schema, which only the
-- migrating role (the owner) does. Its time limits are the role's own settings in this
-- database, so every session of it has them, whatever it connects through (RDS Proxy refuses
-- startup options; a role's settings are applied by the server itself). The migrate function
-- gives it LOGIN and its password, from the secret the stack creates for it.

do $$
begin
    if not exists (select from pg_roles where rolname = 'cinema_api') then
        create role cinema_api nologin;
    end if;
exception
    -- Another database of the same cluster migrating at the same moment made it first.
    when duplicate_object or unique_violation then null;
end
$$;

do $$
begin
    -- A statement or lock wait past its budget is cancelled by the server (the API answers 503,
    -- nothing committed) before the function's own timeout; an idle session (a frozen Lambda
    -- instance's) is closed by the server, so that a paused database can stay paused.
    execute format('alter role cinema_api in database %I set statement_timeout = %L', current_database(), '4s');
    execute format('alter role cinema_api in database %I set lock_timeout = %L', current_database(), '2s');
    execute format('alter role cinema_api in database %I set idle_session_timeout = %L', current_database(), '5min');
end
$$;

grant usage on schema public to cinema_api;
grant select, insert, update, delete on all tables in schema public to cinema_api;
grant usage, select on all sequences in schema public to cinema_api;
-- Tables and sequences later migrations create (as this role) are the API's to use too.
alter default privileges in schema public grant select, insert, update, delete on tables to cinema_api;
alter default privileges in schema public grant usage, select on sequences to cinema_api;
