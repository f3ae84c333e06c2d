-- The catalogue: genres, films, and which genres each film has.

create table genres (
    id    bigint generated always as identity primary key,
    title text not null,
    constraint genres_title_length check (char_length(title) between 1 and 50)
);

-- "Drama" and "drama" are one genre.
create unique index genres_title_key on genres (lower(title));

create type age_rating as enum ('G', 'PG', 'PG-13', 'R', 'NC-17', 'TV-MA');

create table films (
    id               bigint generated always as identity primary key,
    title            text        not null,
    description      text        not null default '',
    age_rating       age_rating  not null,
    duration_minutes integer     not null,
    release_year     integer     not null,
    created_at       timestamptz not null default now(),
    constraint films_title_length check (char_length(title) between 1 and 200),
    constraint films_description_length check (char_length(description) <= 2000),
    constraint films_duration_range check (duration_minutes between 1 and 600),
    -- The first film is from 1888; announced films may be dated next year.
    constraint films_release_year_range check (
        release_year between 1888 and extract(year from now())::integer + 1
    )
);

-- Titles are unique regardless of case; the list is ordered by this expression too.
create unique index films_title_key on films (lower(title));
create index films_age_rating_idx on films (age_rating);

create table film_genres (
    film_id  bigint not null references films (id) on delete cascade,
    -- Deleting a genre simply takes it off its films.
    genre_id bigint not null references genres (id) on delete cascade,
    constraint film_genres_pkey primary key (film_id, genre_id)
);

-- Filtering films by genre reads from the genre side.
create index film_genres_genre_id_idx on film_genres (genre_id);
