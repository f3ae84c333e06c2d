//! Films: `/films*`, and what the whole function shares (routes, old tokens, text rules).

use super::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_admin_creates_a_film_with_its_genres(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let crime = c.genre("Crime").await;
    let film = c.film("  Heat ", &[drama, crime, drama]).await;
    assert_eq!(film["title"], "Heat");
    assert_eq!(film["description"], "A film.\nIn two lines.");
    assert_eq!(film["age_rating"], "PG-13");
    assert_eq!(film["duration_minutes"], 121);
    assert_eq!(film["release_year"], 1999);
    assert_eq!(
        film["genres"],
        json!([{"id": crime, "title": "Crime"}, {"id": drama, "title": "Drama"}])
    );
    let fetched = c
        .app
        .get(&format!("/films/{}", film["id"]), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(fetched, film);
    assert_eq!(c.count("film_genres").await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn unknown_genres_are_named_and_nothing_is_written(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let response = c
        .app
        .post(
            "/films",
            Some(&c.admin),
            film_body("Heat", &[drama, 999, 4242]),
        )
        .await;
    let body = response.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(body["errors"][0]["field"], "genre_ids");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("999")
            && message.contains("4242")
            && !message.contains(&drama.to_string()),
        "{message}"
    );
    assert_eq!(c.count("films").await, 0);
    assert_eq!(c.count("film_genres").await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn film_titles_are_unique_regardless_of_case(pool: PgPool) {
    let c = catalogue(pool).await;
    c.film("Heat", &[]).await;
    let other = c.film("Ronin", &[]).await;
    c.app
        .post("/films", Some(&c.admin), film_body("HEAT", &[]))
        .await
        .expect_error(StatusCode::CONFLICT, "film_title_taken");
    c.app
        .patch(
            &format!("/films/{}", other["id"]),
            Some(&c.admin),
            json!({"title": "heat"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "film_title_taken");
    assert_eq!(c.count("films").await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn simultaneous_films_with_one_title_create_one(pool: PgPool) {
    let c = catalogue(pool).await;
    let attempts: Vec<_> = (0..10)
        .map(|_| {
            let (app, admin) = (c.app.clone(), c.admin.clone());
            tokio::spawn(async move {
                app.post("/films", Some(&admin), film_body("Heat", &[]))
                    .await
                    .status
            })
        })
        .collect();
    let statuses = join_all(attempts).await;
    assert_eq!(
        count_status(&statuses, StatusCode::CREATED),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert_eq!(c.count("films").await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn bad_film_bodies_get_a_4xx_and_write_nothing(pool: PgPool) {
    let c = catalogue(pool).await;
    let with = |key: &str, value: Value| {
        let mut body = film_body("Heat", &[]);
        body[key] = value;
        body
    };
    let next_year = chrono::Datelike::year(&chrono::Utc::now()) + 1;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty title", with("title", json!("")), "title"),
        ("blank title", with("title", json!("   ")), "title"),
        (
            "10,000-character title",
            with("title", json!("x".repeat(10_000))),
            "title",
        ),
        ("NUL in title", with("title", json!("He\u{0}at")), "title"),
        (
            "title of the wrong type",
            with("title", json!(["Heat"])),
            "title",
        ),
        (
            "2,001-character description",
            with("description", json!("d".repeat(2001))),
            "description",
        ),
        (
            "NUL in description",
            with("description", json!("a\u{0}")),
            "description",
        ),
        (
            "unknown age rating",
            with("age_rating", json!("X")),
            "age_rating",
        ),
        (
            "zero duration",
            with("duration_minutes", json!(0)),
            "duration_minutes",
        ),
        (
            "601-minute duration",
            with("duration_minutes", json!(601)),
            "duration_minutes",
        ),
        (
            "fractional duration",
            with("duration_minutes", json!(90.5)),
            "duration_minutes",
        ),
        (
            "duration past 2^63",
            with("duration_minutes", json!(9_223_372_036_854_775_808u64)),
            "duration_minutes",
        ),
        (
            "year before cinema",
            with("release_year", json!(1887)),
            "release_year",
        ),
        (
            "year after next",
            with("release_year", json!(next_year + 1)),
            "release_year",
        ),
        (
            "year as text",
            with("release_year", json!("1999")),
            "release_year",
        ),
        (
            "genre id past 2^63",
            with("genre_ids", json!([9_223_372_036_854_775_808u64])),
            "genre_ids[0]",
        ),
        (
            "genre ids not a list",
            with("genre_ids", json!(3)),
            "genre_ids",
        ),
        (
            "21 genres",
            with("genre_ids", json!((1..=21).collect::<Vec<i64>>())),
            "genre_ids",
        ),
        (
            "missing title",
            json!({"age_rating": "R", "duration_minutes": 90, "release_year": 1999}),
            "title",
        ),
    ];
    for (case, body, field) in cases {
        let response = c.app.post("/films", Some(&c.admin), body).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{case}: {}",
            response.body
        );
        assert_eq!(
            response.body["errors"][0]["field"], field,
            "{case}: {}",
            response.body
        );
    }
    let everything_missing = c.app.post("/films", Some(&c.admin), json!({})).await;
    let errors = everything_missing
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error")["errors"]
        .clone();
    assert_eq!(errors.as_array().map(Vec::len), Some(4), "{errors}");

    let malformed = Request::post("/films")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", c.admin))
        .body(Body::from("{\"title\": \"Heat\""))
        .expect("request");
    c.app
        .raw(malformed)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "malformed_body");
    let huge = with("description", json!("d".repeat(70_000)));
    c.app
        .post("/films", Some(&c.admin), huge)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(c.count("films").await, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn film_writes_are_for_admins_only_and_reads_for_everyone(pool: PgPool) {
    let c = catalogue(pool).await;
    let film = c.film("Heat", &[]).await;
    let uri = format!("/films/{}", film["id"]);
    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "not_authenticated"),
        (Some(c.user.as_str()), StatusCode::FORBIDDEN, "forbidden"),
        (Some(c.cashier.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        c.app
            .post("/films", token, film_body("Ronin", &[]))
            .await
            .expect_error(status, code);
        c.app
            .patch(&uri, token, json!({"title": "Ronin"}))
            .await
            .expect_error(status, code);
        c.app.delete(&uri, token).await.expect_error(status, code);
    }
    for token in [
        None,
        Some(c.user.as_str()),
        Some(c.cashier.as_str()),
        Some(c.admin.as_str()),
    ] {
        c.app.get(&uri, token).await.expect(StatusCode::OK);
        c.app.get("/films", token).await.expect(StatusCode::OK);
        c.app.get("/genres", token).await.expect(StatusCode::OK);
    }
    // A bad token is a 401 even where no token is needed: it is never silently ignored.
    c.app
        .get("/films", Some("forged"))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let stored: Vec<String> = sqlx::query_scalar("select title from films")
        .fetch_all(c.app.db())
        .await
        .expect("titles");
    assert_eq!(stored, ["Heat"]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn patching_a_film_changes_only_what_is_given(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let crime = c.genre("Crime").await;
    let war = c.genre("War").await;
    let film = c.film("Heat", &[drama, crime]).await;
    let uri = format!("/films/{}", film["id"]);

    let patched = c
        .app
        .patch(&uri, Some(&c.admin), json!({"duration_minutes": 170}))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(patched["duration_minutes"], 170);
    assert_eq!(patched["title"], "Heat");
    assert_eq!(patched["genres"], film["genres"]);

    let regenred = c
        .app
        .patch(&uri, Some(&c.admin), json!({"genre_ids": [war, crime]}))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        regenred["genres"],
        json!([{"id": crime, "title": "Crime"}, {"id": war, "title": "War"}])
    );

    // An unknown genre changes nothing, not even the other fields of the same request.
    c.app
        .patch(
            &uri,
            Some(&c.admin),
            json!({"title": "Cold", "genre_ids": [drama, 777]}),
        )
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    let unchanged = c.app.get(&uri, None).await.expect(StatusCode::OK).clone();
    assert_eq!(unchanged, regenred);

    let cleared = c
        .app
        .patch(&uri, Some(&c.admin), json!({"genre_ids": []}))
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(cleared["genres"], json!([]));

    for missing in [
        "/films/999999",
        "/films/9223372036854775808",
        "/films/abc",
        "/films/0",
    ] {
        c.app
            .patch(missing, Some(&c.admin), json!({"title": "X"}))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        c.app
            .get(missing, None)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        c.app
            .delete(missing, Some(&c.admin))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn deleting_a_film_removes_it_and_its_genre_links(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let film = c.film("Heat", &[drama]).await;
    c.app
        .delete(&format!("/films/{}/", film["id"]), Some(&c.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(c.count("films").await, 0);
    assert_eq!(c.count("film_genres").await, 0);
    assert_eq!(c.count("genres").await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn films_are_listed_by_title_with_filters_that_combine(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let crime = c.genre("Crime").await;
    let rated = |title: &str, rating: &str, genres: &[i64]| {
        let mut body = film_body(title, genres);
        body["age_rating"] = json!(rating);
        body
    };
    for body in [
        rated("The Godfather", "R", &[drama, crime]),
        rated("heat", "R", &[crime]),
        rated("Amélie", "R", &[]),
        rated("The Godfather Part II", "R", &[drama, crime]),
        rated("Godfather Parody", "PG", &[crime]),
    ] {
        c.app
            .post("/films", Some(&c.admin), body)
            .await
            .expect(StatusCode::CREATED);
    }
    let all = c
        .app
        .get("/films", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        titles(&all),
        [
            "Amélie",
            "Godfather Parody",
            "heat",
            "The Godfather",
            "The Godfather Part II"
        ]
    );
    assert_eq!(all["total"], 5);

    let combined = c
        .app
        .get(
            &format!("/films?title=godFATHER&genre_id={crime}&age_rating=R"),
            None,
        )
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        titles(&combined),
        ["The Godfather", "The Godfather Part II"]
    );
    assert_eq!(combined["total"], 2);
    let by_genre = c
        .app
        .get(&format!("/films?genre_id={drama}&limit=1&offset=1"), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(titles(&by_genre), ["The Godfather Part II"]);
    assert_eq!(by_genre["total"], 2);
    let pg13 = c
        .app
        .get("/films?age_rating=PG-13", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(pg13["total"], 0);
    let past_the_end = c
        .app
        .get("/films?offset=10", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        (past_the_end["items"].clone(), past_the_end["total"].clone()),
        (json!([]), json!(5))
    );

    for query in [
        "limit=0",
        "limit=101",
        "limit=x",
        "offset=-1",
        "offset=9223372036854775808",
        "age_rating=X",
        "genre_id=abc",
        "genre_id=9223372036854775808",
        "title=%00",
    ] {
        c.app
            .get(&format!("/films?{query}"), None)
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn reading_films_takes_one_statement_however_many_films_and_genres(pool: PgPool) {
    let c = catalogue(pool).await;
    let genres = [
        c.genre("Drama").await,
        c.genre("Crime").await,
        c.genre("War").await,
    ];
    let mut counts = Vec::new();
    for batch in 0..2 {
        for i in 0..25 {
            c.film(&format!("Film {batch}-{i:02}"), &genres).await;
        }
        let (response, statements) = count_statements(c.app.get("/films?limit=100", None)).await;
        assert_eq!(
            response.expect(StatusCode::OK)["items"]
                .as_array()
                .map(Vec::len),
            Some(25 * (batch + 1))
        );
        assert!(
            response.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .all(|f| f["genres"].as_array().map(Vec::len) == Some(3))
        );
        counts.push(statements);
    }
    assert_eq!(counts, [1, 1], "statements for 25 and 50 films");
    let (response, single) = count_statements(c.app.get("/films/1", None)).await;
    response.expect(StatusCode::OK);
    assert_eq!(single, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn wrong_methods_and_unknown_routes_get_our_error_body(pool: PgPool) {
    let c = catalogue(pool).await;
    c.app
        .send(
            axum::http::Method::PUT,
            "/films",
            Some(&c.admin),
            Some(json!({})),
        )
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    c.app
        .get("/films/1/extra", None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_film_with_screenings_cannot_be_deleted(pool: PgPool) {
    let c = catalogue(pool).await;
    let film = c.film("Heat", &[]).await;
    sqlx::query(
        "insert into screenings (film_id, hall_id, starts_at, ends_at, base_price)
         values ($1, 1, now() + interval '1 day', now() + interval '1 day 3 hours', 10)",
    )
    .bind(film["id"].as_i64().expect("id"))
    .execute(c.app.db())
    .await
    .expect("screening");
    c.app
        .delete(&format!("/films/{}", film["id"]), Some(&c.admin))
        .await
        .expect_error(StatusCode::CONFLICT, "film_has_screenings");
    // Its screenings end at start + duration: the duration is fixed while they exist.
    let uri = format!("/films/{}", film["id"]);
    c.app
        .patch(&uri, Some(&c.admin), json!({"duration_minutes": 200}))
        .await
        .expect_error(StatusCode::CONFLICT, "film_has_screenings");
    c.app
        .patch(
            &uri,
            Some(&c.admin),
            json!({"duration_minutes": 121, "title": "Heat (1995)"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(c.count("films").await, 1);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_demoted_or_deactivated_admins_old_token_writes_nothing(pool: PgPool) {
    use axum::http::Method;
    let c = catalogue(pool).await;
    let genre = c.genre("Drama").await;
    let film = c.film("Heat", &[genre]).await["id"].as_i64().expect("id");
    c.app
        .assert_current_role_is_checked(
            Role::Admin,
            Role::User,
            &[
                (
                    Method::POST,
                    "/genres".into(),
                    Some(json!({"title": "Noir"})),
                ),
                (
                    Method::PATCH,
                    format!("/genres/{genre}"),
                    Some(json!({"title": "Noir"})),
                ),
                (Method::DELETE, format!("/genres/{genre}"), None),
                (Method::DELETE, "/genres/999999".into(), None),
                (
                    Method::POST,
                    "/films".into(),
                    Some(film_body("Ronin", &[genre])),
                ),
                (
                    Method::PATCH,
                    format!("/films/{film}"),
                    Some(json!({"title": "Heat 2"})),
                ),
                (
                    Method::PATCH,
                    format!("/films/{film}"),
                    Some(json!({"duration_minutes": 99})),
                ),
                (Method::DELETE, format!("/films/{film}"), None),
            ],
        )
        .await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn titles_are_nfc_so_one_title_typed_two_ways_is_one_title(pool: PgPool) {
    let c = catalogue(pool).await;
    let composed = c.film("Caf\u{e9} Society", &[]).await;
    assert_eq!(composed["title"], "Caf\u{e9} Society");
    c.app
        .post(
            "/films",
            Some(&c.admin),
            film_body("CAFE\u{301} society", &[]),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "film_title_taken");
    let genre = c
        .app
        .post("/genres", Some(&c.admin), json!({"title": "Com\u{e9}die"}))
        .await;
    genre.expect(StatusCode::CREATED);
    c.app
        .post(
            "/genres",
            Some(&c.admin),
            json!({"title": "Come\u{301}die"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "genre_title_taken");
    // Stored decomposed input comes back composed.
    let stored = c
        .app
        .post(
            "/genres",
            Some(&c.admin),
            json!({"title": "Re\u{301}alisme"}),
        )
        .await;
    assert_eq!(stored.expect(StatusCode::CREATED)["title"], "R\u{e9}alisme");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn invisible_characters_are_refused_in_titles(pool: PgPool) {
    let c = catalogue(pool).await;
    let before = c.app.snapshot().await;
    for title in [
        "Heat\u{200B}",
        "\u{202E}taeH",
        "He\u{2060}at",
        "Heat\u{FEFF}",
    ] {
        let response = c
            .app
            .post("/films", Some(&c.admin), film_body(title, &[]))
            .await;
        let errors =
            response.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error")["errors"]
                .clone();
        assert_eq!(errors[0]["field"], "title", "{title:?}");
        c.app
            .post("/genres", Some(&c.admin), json!({"title": title}))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    assert_eq!(c.app.snapshot().await, before);
}
