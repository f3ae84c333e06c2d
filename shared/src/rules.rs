//! The bounds of each request field, stated once. The validators check them; utoipa's schema
//! attributes accept only literals, so the docs function's tests check every bound the OpenAPI
//! document states against these.

/// Inclusive bounds of a length, a count or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds<T> {
    /// The least allowed.
    pub min: T,
    /// The most allowed.
    pub max: T,
}

impl<T: PartialOrd> Bounds<T> {
    /// Whether `value` is within the bounds.
    pub fn contains(&self, value: &T) -> bool {
        *value >= self.min && *value <= self.max
    }
}

const fn between<T>(min: T, max: T) -> Bounds<T> {
    Bounds { min, max }
}

/// Characters of a username.
pub const USERNAME: Bounds<usize> = between(3, 32);
/// Characters of a password.
pub const PASSWORD: Bounds<usize> = between(8, 64);
/// Characters of a full name.
pub const FULL_NAME: Bounds<usize> = between(2, 100);
/// Characters of a genre's title.
pub const GENRE_TITLE: Bounds<usize> = between(1, 50);
/// Characters of a film's title.
pub const FILM_TITLE: Bounds<usize> = between(1, 200);
/// Characters of a film's description.
pub const FILM_DESCRIPTION: Bounds<usize> = between(0, 2000);
/// A film's running time in minutes.
pub const FILM_DURATION_MINUTES: Bounds<i64> = between(1, 600);
/// The first year a film can have been released (the upper bound is next year).
pub const FIRST_RELEASE_YEAR: i64 = 1888;
/// Genres of one film.
pub const FILM_GENRES_MAX: usize = 20;
/// Characters of a hall's name.
pub const HALL_NAME: Bounds<usize> = between(1, 100);
/// Rows of a hall, and seats per row.
pub const HALL_LAYOUT: Bounds<i64> = between(1, 100);
/// Seats of one booking.
pub const BOOKING_SEATS: Bounds<usize> = between(1, 10);
