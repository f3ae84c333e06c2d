//! Catalogue types more than one function shows.

use serde::{Deserialize, Serialize};

/// A film's age rating. Stored as the `age_rating` enum.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "age_rating")]
pub enum AgeRating {
    /// General audiences.
    #[serde(rename = "G")]
    #[sqlx(rename = "G")]
    G,
    /// Parental guidance suggested.
    #[serde(rename = "PG")]
    #[sqlx(rename = "PG")]
    Pg,
    /// Parents strongly cautioned.
    #[serde(rename = "PG-13")]
    #[sqlx(rename = "PG-13")]
    Pg13,
    /// Restricted.
    #[serde(rename = "R")]
    #[sqlx(rename = "R")]
    R,
    /// Adults only.
    #[serde(rename = "NC-17")]
    #[sqlx(rename = "NC-17")]
    Nc17,
    /// Mature audiences (television rating).
    #[serde(rename = "TV-MA")]
    #[sqlx(rename = "TV-MA")]
    TvMa,
}

/// A genre as it appears inside a film.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GenreRef {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
}
