//! The names of the database constraints (and unique indexes) the handlers map to API errors.
//!
//! A violation is recognised by its name ([`crate::ResultExt::on_constraint`]), so each name
//! the code maps lives here once; a test checks every one against the migrated schema, so that
//! a renamed or dropped constraint fails the build's tests instead of becoming a 409 `conflict`.

/// Usernames are unique, case-insensitively.
pub const USERS_USERNAME: &str = "users_username_key";
/// Genre titles are unique.
pub const GENRES_TITLE: &str = "genres_title_key";
/// Film titles are unique.
pub const FILMS_TITLE: &str = "films_title_key";
/// A film's genres exist.
pub const FILM_GENRES_GENRE: &str = "film_genres_genre_id_fkey";
/// Hall names are unique.
pub const HALLS_NAME: &str = "halls_name_key";
/// No two screenings of one hall overlap (an exclusion constraint).
pub const SCREENINGS_NO_OVERLAP: &str = "screenings_no_overlap";
/// A screening's film exists (and a film with screenings cannot be deleted).
pub const SCREENINGS_FILM: &str = "screenings_film_id_fkey";
/// A screening's hall exists (and a hall with screenings cannot be deleted).
pub const SCREENINGS_HALL: &str = "screenings_hall_id_fkey";
/// A reservation's screening exists.
pub const RESERVATIONS_SCREENING: &str = "reservations_screening_id_fkey";
/// A reserved ticket exists.
pub const RESERVATION_ITEMS_TICKET: &str = "reservation_items_ticket_id_fkey";
/// A seat is in at most one active reservation (a partial unique index).
pub const RESERVATION_ITEMS_ACTIVE_TICKET: &str = "reservation_items_active_ticket_key";

/// Every name above, for the schema test.
pub const ALL: &[&str] = &[
    USERS_USERNAME,
    GENRES_TITLE,
    FILMS_TITLE,
    FILM_GENRES_GENRE,
    HALLS_NAME,
    SCREENINGS_NO_OVERLAP,
    SCREENINGS_FILM,
    SCREENINGS_HALL,
    RESERVATIONS_SCREENING,
    RESERVATION_ITEMS_TICKET,
    RESERVATION_ITEMS_ACTIVE_TICKET,
];
