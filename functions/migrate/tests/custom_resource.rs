//! The migration custom resource through a stack's life: Create, Update, a rollback's Update
//! with the previous build's code, Delete, and answers that must go out in time whatever the
//! migration or the response URL does. A local HTTP server stands in for the pre-signed S3 URL.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use migrate::custom_resource::{Request, handle};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A response URL that records every answer `PUT` to it; `answer: false` accepts the
/// connection and the request but never replies.
async fn response_url(answer: bool) -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/answer?X-Amz-Signature=abc",
        listener.local_addr().expect("addr")
    );
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                let Some((_, body)) = shared::testing::read_http_request(&mut socket).await else {
                    return;
                };
                let _ = sender.send(serde_json::from_str(&body).unwrap_or(Value::Null));
                if !answer {
                    // Hold the connection open without a reply.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (url, receiver)
}

fn request(kind: &str, url: &str) -> Request {
    Request::from_event(&json!({
        "RequestType": kind, "ResponseURL": url, "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/cinema/1",
        "RequestId": format!("request-{kind}"), "LogicalResourceId": "SchemaMigration",
        "ResourceType": "Custom::SchemaMigration", "PhysicalResourceId": "cinema-database-schema",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:migrate:3",
        "ResourceProperties": {"CodeVersion": "3"}, "OldResourceProperties": {"CodeVersion": "2"}
    }))
    .expect("a custom resource request")
}

async fn migration(migrator: &Migrator, pool: &PgPool) -> anyhow::Result<Value> {
    let report = migrate::run_with(migrator, pool, None, 4).await?;
    Ok(serde_json::to_value(report)?)
}

/// The build before the newest migration: what a rollback runs.
fn previous_build(ignore_missing: bool) -> Migrator {
    let current = migrate::migrator();
    let mut older = current.migrations.to_vec();
    older.pop();
    Migrator {
        migrations: Cow::Owned(older),
        ignore_missing,
        ..current
    }
}

#[sqlx::test(migrations = false)]
async fn create_update_rollback_and_delete_each_answer_success(pool: PgPool) {
    let (url, mut answers) = response_url(true).await;
    let budget = Duration::from_secs(60);
    let current = migrate::migrator();
    let versions: Vec<i64> = current.iter().map(|m| m.version).collect();

    let sent = handle(&request("Create", &url), budget, migration(&current, &pool))
        .await
        .expect("answered");
    let created = answers.recv().await.expect("an answer");
    assert_eq!(created, serde_json::to_value(&sent).expect("json"));
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    // Attributes are text (Fn::GetAtt): the report's values as JSON.
    assert_eq!(
        created["Data"]["applied"],
        json!(json!(versions).to_string())
    );
    assert_eq!(created["PhysicalResourceId"], "cinema-database-schema");

    handle(&request("Update", &url), budget, migration(&current, &pool))
        .await
        .expect("answered");
    let updated = answers.recv().await.expect("an answer");
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["Data"]["applied"], "[]");

    // A rollback re-sends Update with the previous build, which does not know the newest
    // migration: a strict migrator would refuse the schema (and the rollback would stick).
    let strict = migrate::run_with(&previous_build(false), &pool, None, 4)
        .await
        .expect_err("a strict older migrator refuses the newer schema");
    assert!(
        format!("{strict:#}").contains("previously applied"),
        "{strict:#}"
    );
    handle(
        &request("Update", &url),
        budget,
        migration(&previous_build(true), &pool),
    )
    .await
    .expect("answered");
    let rolled_back = answers.recv().await.expect("an answer");
    assert_eq!(rolled_back["Status"], "SUCCESS", "{rolled_back}");
    assert_eq!(
        rolled_back["Data"]["current_version"],
        json!(json!(versions.last()).to_string()),
        "the schema stays at the newer version"
    );

    // Delete never touches the database: the data outlives the stack.
    handle(&request("Delete", &url), budget, async {
        panic!("Delete must not migrate")
    })
    .await
    .expect("answered");
    let deleted = answers.recv().await.expect("an answer");
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(deleted["RequestId"], "request-Delete");
}

#[tokio::test]
async fn a_failed_migration_answers_failed_with_the_reason() {
    let (url, mut answers) = response_url(true).await;
    handle(&request("Create", &url), Duration::from_secs(30), async {
        Err(anyhow::anyhow!(
            "connecting to the database failed: timed out"
        ))
    })
    .await
    .expect("answered");
    let answer = answers.recv().await.expect("an answer");
    assert_eq!(answer["Status"], "FAILED");
    assert_eq!(
        answer["Reason"],
        "connecting to the database failed: timed out"
    );
}

#[tokio::test]
async fn a_migration_that_outlasts_its_budget_is_cut_off_and_answered_in_time() {
    let (url, mut answers) = response_url(true).await;
    let budget = Duration::from_secs(4);
    let started = Instant::now();
    handle(&request("Update", &url), budget, async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Value::Null)
    })
    .await
    .expect("answered");
    assert!(started.elapsed() < budget, "{:?}", started.elapsed());
    let answer = answers.recv().await.expect("an answer");
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        answer["Reason"]
            .as_str()
            .is_some_and(|r| r.contains("did not finish")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_response_url_that_never_answers_does_not_hold_the_function() {
    let (url, mut answers) = response_url(false).await;
    let budget = Duration::from_secs(4);
    let started = Instant::now();
    let error = handle(&request("Delete", &url), budget, async { Ok(Value::Null) })
        .await
        .expect_err("no answer could be delivered");
    assert!(started.elapsed() <= budget, "{:?}", started.elapsed());
    assert!(format!("{error:#}").contains("did not answer"), "{error:#}");
    // It did try, twice.
    assert_eq!(answers.recv().await.expect("first")["Status"], "SUCCESS");
    assert_eq!(answers.recv().await.expect("second")["Status"], "SUCCESS");
}

#[sqlx::test(migrations = false)]
async fn the_migration_session_sets_its_own_time_limits(pool: PgPool) {
    let mut settings = shared::testing::settings();
    settings.db_statement_timeout = Some(Duration::from_secs(240));
    settings.db_lock_timeout = Some(Duration::from_secs(30));
    let options = (*pool.connect_options()).clone();
    let migration_pool = migrate::connect(options, &settings).await.expect("connect");
    let limits: (String, String) = sqlx::query_as(
        "select current_setting('statement_timeout'), current_setting('lock_timeout')",
    )
    .fetch_one(&migration_pool)
    .await
    .expect("settings");
    assert_eq!(limits, ("4min".to_owned(), "30s".to_owned()));
}
