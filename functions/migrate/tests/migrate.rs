//! The migrate function against an empty database.

use migrate::{AdminOutcome, run};
use secrecy::SecretString;
use shared::config::AdminCredentials;
use sqlx::PgPool;

fn admin(username: &str, password: &str) -> AdminCredentials {
    AdminCredentials {
        username: username.to_owned(),
        password: SecretString::from(password.to_owned()),
        full_name: "Cinema Administrator".to_owned(),
    }
}

async fn admins(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("select username, password_hash from users where role = 'admin'")
        .fetch_all(pool)
        .await
        .expect("admins")
}

#[sqlx::test(migrations = false)]
async fn migrating_twice_applies_everything_once_and_creates_one_admin(pool: PgPool) {
    let credentials = admin("root", "Adm1n#Secret");
    let first = run(&pool, Some(&credentials), 4).await.expect("first run");
    let expected: Vec<i64> = shared::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(first.applied, expected);
    assert_eq!(first.current_version, expected.last().copied());
    assert_eq!(first.first_admin, AdminOutcome::Created);

    let second = run(&pool, Some(&credentials), 4).await.expect("second run");
    assert!(second.applied.is_empty());
    assert_eq!(second.first_admin, AdminOutcome::AlreadyExists);

    let admins = admins(&pool).await;
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].0, "root");
    assert!(bcrypt::verify("Adm1n#Secret", &admins[0].1).expect("verify"));
}

#[sqlx::test(migrations = false)]
async fn without_credentials_no_admin_is_made(pool: PgPool) {
    let report = run(&pool, None, 4).await.expect("run");
    assert_eq!(report.first_admin, AdminOutcome::NotConfigured);
    assert!(admins(&pool).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn a_weak_first_admin_password_is_refused(pool: PgPool) {
    let error = run(&pool, Some(&admin("root", "weakpassword")), 4)
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("registration rules"), "{message}");
    assert!(
        !message.contains("weakpassword"),
        "the password itself is never printed: {message}"
    );
    assert!(admins(&pool).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn an_existing_account_with_the_admin_username_is_never_promoted(pool: PgPool) {
    run(&pool, None, 4).await.expect("schema");
    sqlx::query("insert into users (username, password_hash, full_name) values ('Root', 'x', 'Some Squatter')")
        .execute(&pool)
        .await
        .expect("squatter");
    let error = run(&pool, Some(&admin("root", "Adm1n#Secret")), 4)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("taken"), "{error}");
    assert!(admins(&pool).await.is_empty());
}

#[tokio::test]
async fn the_answer_to_cloudformation_is_put_to_the_response_url() {
    use migrate::custom_resource::Request;
    use tokio::io::AsyncWriteExt;

    // A one-shot HTTP server standing in for the pre-signed S3 URL.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/stack-events/answer?X-Amz-Signature=abc",
        listener.local_addr().expect("addr")
    );
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let (head, body) = shared::testing::read_http_request(&mut socket)
            .await
            .expect("a request");
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .expect("write");
        format!("{head}\r\n\r\n{body}")
    });
    let request = Request::from_event(&serde_json::json!({
        "RequestType": "Create", "ResponseURL": url, "StackId": "stack", "RequestId": "request-1",
        "LogicalResourceId": "SchemaMigration", "ResourceType": "Custom::SchemaMigration",
        "ResourceProperties": {}
    }))
    .expect("request");
    let answer = request.answer(Err("relation already exists".into()));
    migrate::custom_resource::send(&request.response_url, &answer)
        .await
        .expect("sent");

    let received = server.await.expect("server");
    let (head, body) = received.split_once("\r\n\r\n").expect("http");
    assert!(
        head.starts_with("PUT /stack-events/answer?X-Amz-Signature=abc HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("content-type: \r\n"),
        "signed for an empty content type: {head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["Reason"], "relation already exists");
    assert_eq!(body["RequestId"], "request-1");
}

#[sqlx::test(migrations = false)]
async fn every_constraint_the_handlers_map_is_in_the_migrated_schema(pool: PgPool) {
    run(&pool, None, 4).await.expect("schema");
    for &name in shared::constraints::ALL {
        let found: bool = sqlx::query_scalar(
            "select exists (select 1 from pg_constraint where conname = $1)
                 or exists (select 1 from pg_indexes where schemaname = 'public' and indexname = $1)",
        )
        .bind(name)
        .fetch_one(&pool)
        .await
        .expect("catalog");
        assert!(
            found,
            "{name} is mapped by a handler but no migration creates it"
        );
    }
}

/// The box office's migrations on a database at the schema before them, with reservations in
/// it: every existing reservation gets a `pay_by` 30 minutes before its screening and each
/// active seat a hold until then; one past that reads as lapsed (its seat free), one before it
/// stays active (its seat taken), a cancelled one stays cancelled; nothing is lost.
#[sqlx::test(migrations = false)]
async fn the_box_office_migrations_move_existing_reservations_forward(pool: PgPool) {
    let previous = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            shared::MIGRATOR
                .iter()
                .filter(|m| m.version <= 6)
                .cloned()
                .collect(),
        ),
        ..migrate::migrator()
    };
    migrate::run_with(&previous, &pool, None, 4)
        .await
        .expect("the schema before the box office");
    sqlx::raw_sql(
        "insert into users (username, password_hash, full_name) values ('alice', 'x', 'Alice');
         insert into films (title, age_rating, duration_minutes, release_year) values ('Film', 'PG', 100, 2020);
         insert into screenings (film_id, hall_id, starts_at, ends_at, base_price) values
             (1, 1, now() + interval '1 day', now() + interval '1 day 2 hours', 10),
             (1, 2, now() + interval '10 minutes', now() + interval '2 hours', 10);
         insert into tickets (screening_id, row_number, seat_number) values (1, 1, 1), (1, 1, 2), (2, 1, 1);
         insert into reservations (user_id, booked_by, booked_by_role, screening_id, status, total_price, cancelled_at) values
             (1, 1, 'user', 1, 'active', 10, null),
             (1, 1, 'user', 1, 'cancelled', 10, now()),
             (1, 1, 'user', 2, 'active', 10, null);
         insert into reservation_items (reservation_id, ticket_id, row_number, seat_number, price, active) values
             (1, 1, 1, 1, 10, true), (2, 2, 1, 2, 10, false), (3, 3, 1, 1, 10, true);",
    )
    .execute(&pool)
    .await
    .expect("data at the previous schema");

    let report = run(&pool, None, 4)
        .await
        .expect("the box office migrations");
    assert_eq!(report.applied, [7, 8, 9, 10, 11, 12, 13]);

    let rows: Vec<(i64, String, bool, bool, bool)> = sqlx::query_as(
        "select d.id, d.status::text, d.pay_by = s.starts_at - interval '30 minutes',
                d.paid_at is null and not d.refunded,
                (select bool_and(td.reserved) from reservation_items ri
                 join ticket_details td on td.ticket_id = ri.ticket_id where ri.reservation_id = d.id)
         from reservation_details d join screenings s on s.id = d.screening_id order by d.id",
    )
    .fetch_all(&pool)
    .await
    .expect("reservations");
    assert_eq!(
        rows,
        [
            (1, "active".into(), true, true, true),
            (2, "cancelled".into(), true, true, false),
            (3, "lapsed".into(), true, true, false),
        ]
    );
    let holds: Vec<(i64, bool)> = sqlx::query_as(
        "select ri.reservation_id, ri.held_until = r.pay_by from reservation_items ri
         join reservations r on r.id = ri.reservation_id where ri.active order by 1",
    )
    .fetch_all(&pool)
    .await
    .expect("holds");
    assert_eq!(holds, [(1, true), (3, true)]);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_api_role_writes_rows_changes_no_schema_and_has_its_limits_on_every_session(
    pool: PgPool,
) {
    use secrecy::SecretString;
    // What the migrate function does with the secret the stack creates for the role.
    let role = shared::config::RoleCredentials {
        username: migrate::API_ROLE.into(),
        password: SecretString::from("it's-a-Pass\\word"),
    };
    migrate::open_api_role(&pool, &role).await.expect("login");
    let wrong = shared::config::RoleCredentials {
        username: "postgres".into(),
        password: SecretString::from("x"),
    };
    assert!(
        migrate::open_api_role(&pool, &wrong).await.is_err(),
        "only the API role"
    );
    // A connection as the role with no startup options at all, as through a proxy.
    let options = (*pool.connect_options())
        .clone()
        .username(migrate::API_ROLE);
    let api = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("the API role logs in");
    for (setting, value) in [
        ("statement_timeout", "4s"),
        ("lock_timeout", "2s"),
        ("idle_session_timeout", "5min"),
    ] {
        let shown: String = sqlx::query_scalar(&format!("show {setting}"))
            .fetch_one(&api)
            .await
            .expect("show");
        assert_eq!(shown, value, "{setting}");
    }
    sqlx::query("insert into genres (title) values ('Noir')")
        .execute(&api)
        .await
        .expect("rows are the API's to write");
    let count: i64 = sqlx::query_scalar("select count(*) from genres")
        .fetch_one(&api)
        .await
        .expect("and to read");
    assert_eq!(count, 1);
    sqlx::query("select new_pass_code(), fold_key('Noir')")
        .execute(&api)
        .await
        .expect("and the schema's functions to run");
    for ddl in [
        "create table stolen (id int)",
        "drop table users",
        "alter table users add column note text",
        "create index genres_stolen_idx on genres (title)",
        "truncate reservations",
    ] {
        let refused = sqlx::query(ddl).execute(&api).await.expect_err(ddl);
        let code = refused
            .as_database_error()
            .and_then(|error| error.code().map(|code| code.into_owned()));
        assert_eq!(code.as_deref(), Some("42501"), "{ddl}: {refused}");
    }
}
