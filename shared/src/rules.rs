//! The bounds of each request field, stated once. The validators check them; utoipa's schema
//! attributes accept only literals, so the docs function's tests check every bound the OpenAPI
//! document states against these.

use std::ops::RangeInclusive;

/// Characters of a username.
pub const USERNAME: RangeInclusive<usize> = 3..=32;
/// Characters of a password.
pub const PASSWORD: RangeInclusive<usize> = 8..=64;
/// Characters of a full name.
pub const FULL_NAME: RangeInclusive<usize> = 2..=100;
/// Characters of a genre's title.
pub const GENRE_TITLE: RangeInclusive<usize> = 1..=50;
/// Characters of a film's title.
pub const FILM_TITLE: RangeInclusive<usize> = 1..=200;
/// Characters of a film's description.
pub const FILM_DESCRIPTION: RangeInclusive<usize> = 0..=2000;
/// A film's running time in minutes.
pub const FILM_DURATION_MINUTES: RangeInclusive<i64> = 1..=600;
/// The first year a film can have been released (the upper bound is next year).
pub const FIRST_RELEASE_YEAR: i64 = 1888;
/// Genres of one film.
pub const FILM_GENRES_MAX: usize = 20;
/// Characters of a hall's name.
pub const HALL_NAME: RangeInclusive<usize> = 1..=100;
/// Rows of a hall, and seats per row.
pub const HALL_LAYOUT: RangeInclusive<i64> = 1..=100;
/// Seats of one booking.
pub const BOOKING_SEATS: RangeInclusive<usize> = 1..=10;
/// Minutes before a screening's start from which its passes are admitted (until it ends).
pub const CHECK_IN_OPENS_MINUTES: i32 = 60;
/// Characters of a pass code (128 bits, URL-safe base64 without padding).
pub const PASS_CODE_LENGTH: usize = 22;
/// Days a sales report may span.
pub const REPORT_DAYS_MAX: i64 = 366;
