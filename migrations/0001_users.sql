-- Users, their roles, and the refresh tokens they sign in with.

create type user_role as enum ('user', 'cashier', 'admin');

create table users (
    id            bigint generated always as identity primary key,
    username      text        not null,
    password_hash text        not null,
    full_name     text        not null,
    role          user_role   not null default 'user',
    created_at    timestamptz not null default now(),
    -- The application validates these too; the checks keep hand-written SQL honest.
    constraint users_username_format check (username ~ '^[A-Za-z0-9_.-]{3,32}$'),
    constraint users_full_name_length check (char_length(full_name) between 2 and 100)
);

-- Usernames are unique regardless of case: "Alice" and "alice" are one account.
create unique index users_username_key on users (lower(username));
-- Listing by role and the last-admin rule read this.
create index users_role_idx on users (role);

-- Refresh tokens are random; only their SHA-256 is stored, so a database leak does not
-- leak working tokens. A token is used once: refreshing revokes it and issues a new one.
create table refresh_tokens (
    id          bigint generated always as identity primary key,
    user_id     bigint      not null references users (id) on delete cascade,
    token_hash  bytea       not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    revoked_at  timestamptz,
    constraint refresh_tokens_token_hash_key unique (token_hash),
    constraint refresh_tokens_expiry_after_creation check (expires_at > created_at)
);

create index refresh_tokens_user_id_idx on refresh_tokens (user_id);
