//! The plans of the heavy lists, on a cinema's data at a twentieth of five years' scale
//! (`bench/scale.sql`): each statement the functions run (their `sql/*.sql` files) is
//! prepared and run under the settings every connection gets from the database (generic plans
//! from the first execution, no JIT), and its `EXPLAIN ANALYZE` must read no table whole and at
//! most a bound of rows that depends on the page and the count's limit, not on the tables. A
//! statement or index change that brings back a scan of a whole table fails here.

use serde_json::Value;
use sqlx::{Connection as _, PgConnection, PgPool};

const SEED: &str = include_str!("../scale.sql");

/// The statements, with the parameter types to prepare them with.
const RESERVATIONS: (&str, &str) = (
    include_str!("../../functions/reservations/sql/reservations.sql"),
    "bigint, bigint, reservation_status, bigint, bigint, bigint, boolean, bigint, text",
);
const TICKETS: (&str, &str) = (
    include_str!("../../functions/screenings/sql/tickets.sql"),
    "bigint, bigint, bigint, bigint",
);
const SCREENINGS: (&str, &str) = (
    include_str!("../../functions/screenings/sql/screenings.sql"),
    "bigint, bigint, timestamptz, timestamptz, bigint, bigint, bigint",
);
const FILMS: (&str, &str) = (
    include_str!("../../functions/films/sql/films.sql"),
    "text, bigint, age_rating, bigint, bigint, bigint",
);
const SALES: (&str, &str) = (
    include_str!("../../functions/reservations/sql/sales.sql"),
    "timestamptz, timestamptz, text, bigint",
);
const USERS: (&str, &str) = (
    include_str!("../../functions/auth/sql/users.sql"),
    "user_role, bigint, bigint, bigint, boolean, bigint",
);

/// Tables small by nature (a cinema's halls, its genres): scanning them whole is fine.
const SMALL_TABLES: &[&str] = &["halls", "genres"];

/// Rows a scan node read: the rows it returned and those its filter removed, every loop.
fn rows_read(node: &Value, scans: &mut Vec<(String, String, f64)>) {
    let node_type = node["Node Type"].as_str().unwrap_or_default();
    if node_type.ends_with("Scan") && node_type != "CTE Scan" && node_type != "Subquery Scan" {
        let loops = node["Actual Loops"].as_f64().unwrap_or_default();
        let rows = node["Actual Rows"].as_f64().unwrap_or_default()
            + node["Rows Removed by Filter"].as_f64().unwrap_or_default();
        let relation = node["Relation Name"]
            .as_str()
            .or(node["Index Name"].as_str())
            .unwrap_or_default();
        scans.push((node_type.to_owned(), relation.to_owned(), rows * loops));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        rows_read(child, scans);
    }
}

#[track_caller]
fn assert_no_table_read_whole(name: &str, scans: &[(String, String, f64)], plan: &str) {
    let whole: Vec<_> = scans
        .iter()
        .filter(|(kind, relation, _)| {
            kind == "Seq Scan" && !SMALL_TABLES.contains(&relation.as_str())
        })
        .collect();
    assert!(
        whole.is_empty(),
        "{name}: a table read whole: {whole:?}\n{plan}"
    );
}

async fn explain(
    conn: &mut PgConnection,
    (sql, types): (&str, &str),
    args: &str,
) -> (Vec<(String, String, f64)>, String) {
    sqlx::raw_sql(&format!("deallocate all; prepare q({types}) as {sql}"))
        .execute(&mut *conn)
        .await
        .expect("the statement prepares");
    // Once unmeasured: the functions it calls are compiled on first use.
    sqlx::raw_sql(&format!("execute q({args})"))
        .execute(&mut *conn)
        .await
        .expect("the statement runs");
    let (plan,): (Value,) = sqlx::query_as(&format!(
        "explain (analyze, timing off, format json) execute q({args})"
    ))
    .fetch_one(&mut *conn)
    .await
    .expect("explain");
    let mut scans = Vec::new();
    rows_read(&plan[0]["Plan"], &mut scans);
    (scans, serde_json::to_string_pretty(&plan).expect("json"))
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn heavy_lists_read_a_page_not_a_table(pool: PgPool) {
    let options = pool.connect_options();
    let mut conn = PgConnection::connect_with(&options).await.expect("connect");
    // What the migrations make the database give every new connection.
    let settings: Vec<(String,)> = sqlx::query_as(
        "select current_setting('plan_cache_mode') union all select current_setting('jit')",
    )
    .fetch_all(&mut conn)
    .await
    .expect("settings");
    assert_eq!(
        settings,
        [("force_generic_plan".to_owned(),), ("off".to_owned(),)]
    );
    sqlx::raw_sql(SEED)
        .execute(&mut conn)
        .await
        .expect("seed function");
    for statement in [
        "select pg_temp.seed_cinema(5000, 2000, 200, 14)",
        "vacuum analyze",
    ] {
        sqlx::raw_sql(statement)
            .execute(&mut conn)
            .await
            .expect("seed");
    }
    let (customer,): (i64,) = sqlx::query_as(
        "select user_id from reservations group by user_id order by count(*) desc limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a customer");
    let (screening, film, hall): (i64, i64, i64) = sqlx::query_as(
        "select id, film_id, hall_id from screenings where starts_at < now() order by starts_at desc limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a screening");
    let (admin,): (i64,) = sqlx::query_as("select id from users where username = 'manager'")
        .fetch_one(&mut conn)
        .await
        .expect("the manager");

    // The default page (20 from offset 0), and where its count stops.
    let cap = shared::Page::new(None, None)
        .expect("default")
        .count_limit();
    let cases = [
        (
            "reservations, staff",
            RESERVATIONS,
            format!("null, null, null, 20, 0, {admin}, true, {cap}, null"),
        ),
        (
            "reservations with a failed refund",
            RESERVATIONS,
            format!("null, null, null, 20, 0, {admin}, true, {cap}, 'failed'"),
        ),
        (
            "reservations, a customer",
            RESERVATIONS,
            format!("{customer}, null, null, 20, 0, {customer}, false, {cap}, null"),
        ),
        (
            "reservations of a screening",
            RESERVATIONS,
            format!("null, {screening}, null, 20, 0, {admin}, true, {cap}, null"),
        ),
        ("tickets", TICKETS, format!("null, 20, 0, {cap}")),
        (
            "tickets of a screening",
            TICKETS,
            format!("{screening}, 20, 0, {cap}"),
        ),
        (
            "screenings not ended",
            SCREENINGS,
            format!("null, null, null, null, 20, 0, {cap}"),
        ),
        (
            "screenings of a day",
            SCREENINGS,
            format!("null, null, now(), now() + interval '1 day', 20, 0, {cap}"),
        ),
        (
            "screenings of a film",
            SCREENINGS,
            format!("{film}, null, now() - interval '30 days', null, 20, 0, {cap}"),
        ),
        (
            "screenings in a hall",
            SCREENINGS,
            format!("null, {hall}, null, null, 20, 0, {cap}"),
        ),
        ("films", FILMS, format!("null, null, null, 20, 0, {cap}")),
        (
            "films by title",
            FILMS,
            format!("'%abc%', null, null, 20, 0, {cap}"),
        ),
        (
            "films of a genre",
            FILMS,
            format!("null, 3, null, 20, 0, {cap}"),
        ),
        ("users", USERS, format!("null, 20, 0, {admin}, null, {cap}")),
        (
            "users by role",
            USERS,
            format!("'user', 20, 100, {admin}, null, {cap}"),
        ),
    ];
    for (name, statement, args) in cases {
        let (scans, plan) = explain(&mut conn, statement, &args).await;
        assert_no_table_read_whole(name, &scans, &plan);
        // The count's limit, a page and its lookups (each seat of a page of screenings is
        // counted), far below any table's size here (5,778 screenings, 404,460 tickets,
        // 172,982 reservations, 5,001 users).
        let read: f64 = scans.iter().map(|(_, _, rows)| rows).sum();
        assert!(read <= 4_500.0, "{name}: {read} rows read\n{plan}");
    }

    // A sales report reads its period's screenings, and each one's seats and bookings: at most
    // 200 rows per screening (70 seats, 30 bookings of 2 seats, and their index entries).
    let (screenings,): (i64,) = sqlx::query_as(
        "select count(*) from screenings where starts_at >= now() - interval '7 days' and starts_at < now()",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a week's screenings");
    for group in ["day", "screening", "film"] {
        let args = format!("now() - interval '7 days', now(), '{group}', {admin}");
        let (scans, plan) = explain(&mut conn, SALES, &args).await;
        assert_no_table_read_whole(&format!("sales by {group}"), &scans, &plan);
        let read: f64 = scans.iter().map(|(_, _, rows)| rows).sum();
        let bound = 200.0 * screenings as f64;
        assert!(
            screenings > 100 && read <= bound,
            "sales by {group}: {read} rows read for {screenings} screenings\n{plan}"
        );
    }
}
