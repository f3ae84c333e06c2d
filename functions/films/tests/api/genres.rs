//! Genres: `/genres*`.

use super::*;

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_admin_creates_renames_and_deletes_a_genre(pool: PgPool) {
    let c = catalogue(pool).await;
    let created = c
        .app
        .post("/genres", Some(&c.admin), json!({"title": "  Drama "}))
        .await;
    let id = created.expect(StatusCode::CREATED)["id"]
        .as_i64()
        .expect("id");
    assert_eq!(created.body["title"], "Drama");

    let renamed = c
        .app
        .patch(
            &format!("/genres/{id}"),
            Some(&c.admin),
            json!({"title": "Tragedy"}),
        )
        .await;
    assert_eq!(renamed.expect(StatusCode::OK)["title"], "Tragedy");
    assert_eq!(
        c.app
            .get(&format!("/genres/{id}"), None)
            .await
            .expect(StatusCode::OK)["title"],
        "Tragedy"
    );

    c.app
        .delete(&format!("/genres/{id}"), Some(&c.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    c.app
        .get(&format!("/genres/{id}"), None)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    c.app
        .delete(&format!("/genres/{id}"), Some(&c.admin))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn genre_writes_are_for_admins_only(pool: PgPool) {
    let c = catalogue(pool).await;
    let id = c.genre("Drama").await;
    for (token, status, code) in [
        (None, StatusCode::UNAUTHORIZED, "not_authenticated"),
        (Some(c.user.as_str()), StatusCode::FORBIDDEN, "forbidden"),
        (Some(c.cashier.as_str()), StatusCode::FORBIDDEN, "forbidden"),
    ] {
        c.app
            .post("/genres", token, json!({"title": "Comedy"}))
            .await
            .expect_error(status, code);
        c.app
            .patch(&format!("/genres/{id}"), token, json!({"title": "Comedy"}))
            .await
            .expect_error(status, code);
        c.app
            .delete(&format!("/genres/{id}"), token)
            .await
            .expect_error(status, code);
    }
    let rows: Vec<String> = sqlx::query_scalar("select title from genres")
        .fetch_all(c.app.db())
        .await
        .expect("titles");
    assert_eq!(rows, ["Drama"]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn genre_titles_are_unique_regardless_of_case_and_checked(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let comedy = c.genre("Comedy").await;
    c.app
        .post("/genres", Some(&c.admin), json!({"title": "DRAMA"}))
        .await
        .expect_error(StatusCode::CONFLICT, "genre_title_taken");
    c.app
        .patch(
            &format!("/genres/{comedy}"),
            Some(&c.admin),
            json!({"title": "drama"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT, "genre_title_taken");
    for bad in [
        json!({"title": ""}),
        json!({"title": "   "}),
        json!({"title": "x".repeat(51)}),
        json!({"title": "a\u{0}b"}),
        json!({}),
        json!({"title": 5}),
    ] {
        c.app
            .post("/genres", Some(&c.admin), bad.clone())
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        c.app
            .patch(&format!("/genres/{drama}"), Some(&c.admin), bad)
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    assert_eq!(c.count("genres").await, 2);
    let title: String = sqlx::query_scalar("select title from genres where id = $1")
        .bind(comedy)
        .fetch_one(c.app.db())
        .await
        .expect("title");
    assert_eq!(title, "Comedy");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn genres_are_listed_by_title_and_filtered_by_substring(pool: PgPool) {
    let c = catalogue(pool).await;
    for title in ["Science Fiction", "Drama", "Fiction 100%", "comedy"] {
        c.genre(title).await;
    }
    let all = c
        .app
        .get("/genres", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(
        titles(&all),
        ["comedy", "Drama", "Fiction 100%", "Science Fiction"]
    );
    assert_eq!(all["total"], 4);
    let fiction = c
        .app
        .get("/genres?title=FICTION", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(titles(&fiction), ["Fiction 100%", "Science Fiction"]);
    // Wildcards in the filter are plain characters.
    let percent = c
        .app
        .get("/genres?title=%25", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(titles(&percent), ["Fiction 100%"]);
    let underscore = c
        .app
        .get("/genres?title=_", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(underscore["total"], 0);
    let page = c
        .app
        .get("/genres?limit=1&offset=1", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(titles(&page), ["Drama"]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn deleting_a_genre_takes_it_off_its_films(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let war = c.genre("War").await;
    let film = c.film("Paths of Glory", &[drama, war]).await;
    c.app
        .delete(&format!("/genres/{drama}"), Some(&c.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    let after = c
        .app
        .get(&format!("/films/{}", film["id"]), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(after["genres"], json!([{"id": war, "title": "War"}]));
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn renaming_a_genre_renames_it_on_its_films_in_title_order(pool: PgPool) {
    let c = catalogue(pool).await;
    let drama = c.genre("Drama").await;
    let war = c.genre("War").await;
    let film = c.film("Paths of Glory", &[drama, war]).await;
    let other = c.film("Zulu", &[war]).await;
    assert_eq!(
        film["genres"],
        json!([{"id": drama, "title": "Drama"}, {"id": war, "title": "War"}])
    );
    c.app
        .patch(
            &format!("/genres/{drama}"),
            Some(&c.admin),
            json!({"title": "Yearning"}),
        )
        .await
        .expect(StatusCode::OK);
    let renamed = json!([{"id": war, "title": "War"}, {"id": drama, "title": "Yearning"}]);
    let read = c
        .app
        .get(&format!("/films/{}", film["id"]), None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(read["genres"], renamed);
    let page = c
        .app
        .get("/films", None)
        .await
        .expect(StatusCode::OK)
        .clone();
    assert_eq!(page["items"][0]["genres"], renamed);
    assert_eq!(
        page["items"][1]["genres"],
        json!([{"id": war, "title": "War"}])
    );
    assert_eq!(page["items"][1]["id"], other["id"]);
    // What the films keep is what their genres say, for every film.
    let stale: i64 = sqlx::query_scalar(
        "select count(*) from films where genres::text is distinct from film_genres_json(id)::text",
    )
    .fetch_one(c.app.db())
    .await
    .expect("count");
    assert_eq!(stale, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_genres_films_follow_their_titles_when_a_film_is_renamed(pool: PgPool) {
    let c = catalogue(pool).await;
    let noir = c.genre("Noir").await;
    let alpha = c.film("Alphaville", &[noir]).await;
    c.film("Brick", &[noir]).await;
    let uri = format!("/films?genre_id={noir}");
    let before = c.app.get(&uri, None).await.expect(StatusCode::OK).clone();
    assert_eq!(titles(&before), ["Alphaville", "Brick"]);
    c.app
        .patch(
            &format!("/films/{}", alpha["id"]),
            Some(&c.admin),
            json!({"title": "Zazie"}),
        )
        .await
        .expect(StatusCode::OK);
    let after = c.app.get(&uri, None).await.expect(StatusCode::OK).clone();
    assert_eq!(titles(&after), ["Brick", "Zazie"]);
    // A genre added later takes the film's current title.
    let late = c.genre("Late").await;
    c.app
        .patch(
            &format!("/films/{}", alpha["id"]),
            Some(&c.admin),
            json!({"genre_ids": [noir, late]}),
        )
        .await
        .expect(StatusCode::OK);
    let stale: i64 = sqlx::query_scalar(
        "select count(*) from film_genres fg join films f on f.id = fg.film_id
         where fg.sort_title is distinct from lower(f.title)",
    )
    .fetch_one(c.app.db())
    .await
    .expect("count");
    assert_eq!(stale, 0);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn titles_are_the_same_when_they_read_the_same(pool: PgPool) {
    let c = catalogue(pool).await;
    c.genre("Straße").await;
    c.genre("ＡＢＣ").await;
    for same in ["STRASSE", "strasse", "abc", "ABC", "ａｂｃ"] {
        c.app
            .post("/genres", Some(&c.admin), json!({"title": same}))
            .await
            .expect_error(StatusCode::CONFLICT, "genre_title_taken");
    }
    c.film("Σίσυφος", &[]).await;
    c.app
        .post("/films", Some(&c.admin), film_body("ΣΊΣΥΦΟΣ", &[]))
        .await
        .expect_error(StatusCode::CONFLICT, "film_title_taken");
    // Titles that show as nothing, or hide characters, are refused; a number is a title.
    for nothing in [
        "\u{3164}",
        "\u{3164}\u{3164}",
        "\u{301}\u{301}",
        "Star\u{34F}Wars",
        "Star Wars\u{FE0F}",
        "Star\u{E000}Wars",
        "Star Wars\u{FFFF}",
        "Star\u{2028}Wars",
        "Star\u{2029}Wars",
    ] {
        let refused = c
            .app
            .post("/genres", Some(&c.admin), json!({"title": nothing}))
            .await;
        let body = refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert_eq!(body["errors"][0]["field"], "title", "{nothing:?}");
    }
    c.film("1917", &[]).await;
    assert_eq!(c.count("genres").await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn ids_are_written_one_way_and_bodies_are_objects(pool: PgPool) {
    let c = catalogue(pool).await;
    let id = c.genre("Drama").await;
    c.app
        .get(&format!("/genres/{id}"), None)
        .await
        .expect(StatusCode::OK);
    for odd in [
        format!("+{id}"),
        format!("0{id}"),
        format!("%2B{id}"),
        format!("00{id}"),
    ] {
        c.app
            .get(&format!("/genres/{odd}"), None)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        c.app
            .delete(&format!("/genres/{odd}"), Some(&c.admin))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    let refused = c
        .app
        .post("/genres", Some(&c.admin), json!(["Comedy"]))
        .await;
    let body = refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(body["errors"][0]["field"], "body");
    let refused = c.app.get("/genres?title=a&title=b", None).await;
    let body = refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(body["errors"][0]["field"], "title");
    assert_eq!(c.count("genres").await, 1);
}
