//! Running as a CloudFormation custom resource, so that every deploy migrates the schema
//! before the API functions are updated, and a failed migration fails the deploy.
//!
//! CloudFormation invokes the function with a request and waits for the answer at the
//! request's pre-signed `ResponseURL` (an HTTPS `PUT`), not for the invocation's result.
//! An answer that never arrives keeps the stack waiting until the resource's
//! `ServiceTimeout`, so one is always sent, and in time: the migration gets the invocation's
//! time minus what answering needs, and each attempt to answer has a timeout of its own.
//! Delete (the stack is going away, or a replaced resource is cleaned up) touches nothing
//! and answers at once; a rollback re-sends Update with the older code, whose migrator
//! accepts a schema newer than it knows (migrations only ever add).

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The schema is one resource whatever happens to the stack: the id never changes, so an
/// update never makes CloudFormation "replace" (and then delete) it.
const PHYSICAL_RESOURCE_ID: &str = "cinema-database-schema";

/// What CloudFormation asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// The stack was created.
    Create,
    /// The stack was updated (the migrate function's code, and so its migrations, changed).
    Update,
    /// The stack is being deleted: the data outlives it; nothing is done.
    Delete,
}

/// A custom resource request (the fields this function uses), read with `aws_lambda_events`'
/// types.
#[derive(Debug, Clone)]
pub struct Request {
    /// Create, Update or Delete.
    pub request_type: RequestType,
    /// Where the answer goes.
    pub response_url: String,
    /// Echoed back.
    pub stack_id: String,
    /// Echoed back.
    pub request_id: String,
    /// Echoed back.
    pub logical_resource_id: String,
}

/// The answer CloudFormation reads.
pub type Response = CloudFormationCustomResourceResponse;

impl Request {
    /// Reads a custom resource request out of an invocation's payload, if it is one.
    pub fn from_event(event: &Value) -> Option<Self> {
        use CloudFormationCustomResourceRequest::{Create, Delete, Update};
        let request: CloudFormationCustomResourceRequest =
            serde_json::from_value(event.clone()).ok()?;
        let (request_type, response_url, stack_id, request_id, logical_resource_id) = match request
        {
            Create(r) => (
                RequestType::Create,
                r.response_url,
                r.stack_id,
                r.request_id,
                r.logical_resource_id,
            ),
            Update(r) => (
                RequestType::Update,
                r.response_url,
                r.stack_id,
                r.request_id,
                r.logical_resource_id,
            ),
            Delete(r) => (
                RequestType::Delete,
                r.response_url,
                r.stack_id,
                r.request_id,
                r.logical_resource_id,
            ),
            _ => return None,
        };
        Some(Self {
            request_type,
            response_url,
            stack_id,
            request_id,
            logical_resource_id,
        })
    }

    /// The answer to this request, from what the migration did (or why it failed). The
    /// report's fields become the resource's attributes (`Fn::GetAtt`), as text.
    pub fn answer(&self, outcome: Result<Value, String>) -> Response {
        let mut response = Response::default();
        match outcome {
            Ok(report) => {
                response.status = CloudFormationCustomResourceResponseStatus::Success;
                response.reason = Some("schema migrated".to_owned());
                if let Value::Object(fields) = report {
                    response.data = fields
                        .into_iter()
                        .map(|(key, value)| match value {
                            Value::String(text) => (key, text),
                            other => (key, other.to_string()),
                        })
                        .collect();
                }
            }
            Err(error) => {
                response.status = CloudFormationCustomResourceResponseStatus::Failed;
                response.reason = Some(error);
            }
        }
        response.physical_resource_id = PHYSICAL_RESOURCE_ID.to_owned();
        response.stack_id = self.stack_id.clone();
        response.request_id = self.request_id.clone();
        response.logical_resource_id = self.logical_resource_id.clone();
        response
    }
}

/// How long one attempt to answer may take, at most.
pub const ANSWER_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// What the invocation keeps back from the migration for answering (at most half of it).
pub const ANSWER_RESERVE: Duration = Duration::from_secs(25);

/// Answers `request` within `budget` (the invocation's remaining time): runs `migrate` for
/// Create and Update (cut off in time to answer), nothing for Delete, and `PUT`s the answer,
/// trying twice. Returns the answer sent, or why it could not be sent in time.
pub async fn handle<F>(request: &Request, budget: Duration, migrate: F) -> anyhow::Result<Response>
where
    F: Future<Output = anyhow::Result<Value>>,
{
    // Finish a little before the invocation's own deadline, so the answer is never cut off.
    let deadline = tokio::time::Instant::now()
        + budget.saturating_sub(Duration::from_secs(1).min(budget / 10));
    let outcome = match request.request_type {
        RequestType::Delete => Ok(Value::Object(Default::default())),
        RequestType::Create | RequestType::Update => {
            let allowed = budget.saturating_sub(ANSWER_RESERVE.min(budget / 2));
            match tokio::time::timeout(allowed, migrate).await {
                Ok(Ok(report)) => Ok(report),
                Ok(Err(error)) => {
                    tracing::error!(error = format!("{error:#}"), "migration failed");
                    Err(format!("{error:#}"))
                }
                Err(_) => {
                    tracing::error!(seconds = allowed.as_secs_f64(), "migration ran out of time");
                    Err(format!(
                        "the migration did not finish within {:.0} s",
                        allowed.as_secs_f64()
                    ))
                }
            }
        }
    };
    let answer = request.answer(outcome);
    let mut last_error = anyhow::anyhow!("no time was left to answer");
    for attempt in 0..2 {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let timeout = ANSWER_ATTEMPT_TIMEOUT.min(left / (2 - attempt));
        if timeout.is_zero() {
            break;
        }
        match tokio::time::timeout(timeout, send(&request.response_url, &answer)).await {
            Ok(Ok(())) => return Ok(answer),
            Ok(Err(error)) => last_error = error,
            Err(_) => {
                last_error = anyhow::anyhow!(
                    "CloudFormation's response URL did not answer within {:.1} s",
                    timeout.as_secs_f64()
                )
            }
        }
        tracing::warn!(
            attempt,
            error = format!("{last_error:#}"),
            "answering CloudFormation failed"
        );
    }
    Err(last_error)
}

/// `PUT`s the answer to the request's pre-signed URL (HTTPS in AWS; plain HTTP in tests).
pub async fn send(url: &str, response: &Response) -> anyhow::Result<()> {
    let body = serde_json::to_vec(response)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let request = http::Request::put(url)
        // The URL is signed for an empty content type.
        .header(http::header::CONTENT_TYPE, "")
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body)))?;
    let answer = client.request(request).await?;
    anyhow::ensure!(
        answer.status().is_success(),
        "CloudFormation's response URL answered {}",
        answer.status()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(kind: &str) -> Value {
        json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:migrate",
            "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/x",
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/cinema/1",
            "RequestId": "5d478078-13e9-baf0-464a-7ef285ecc786",
            "LogicalResourceId": "SchemaMigration",
            "ResourceType": "Custom::SchemaMigration",
            "PhysicalResourceId": "cinema-database-schema",
            "ResourceProperties": {"CodeVersion": "3"},
            "OldResourceProperties": {"CodeVersion": "2"}
        })
    }

    #[test]
    fn custom_resource_requests_are_recognised_and_other_events_are_not() {
        let create = Request::from_event(&request("Create")).expect("a request");
        assert_eq!(create.request_type, RequestType::Create);
        assert_eq!(
            Request::from_event(&request("Delete")).map(|r| r.request_type),
            Some(RequestType::Delete)
        );
        assert!(Request::from_event(&json!({})).is_none());
        assert!(Request::from_event(&json!({"RequestType": "Create"})).is_none());
    }

    #[test]
    fn answers_echo_the_request_and_say_why_they_failed() {
        let request = Request::from_event(&request("Update")).expect("a request");
        let ok = request.answer(Ok(json!({"applied": [4], "admin": "created"})));
        assert_eq!(
            ok.status,
            CloudFormationCustomResourceResponseStatus::Success
        );
        assert_eq!(ok.physical_resource_id, PHYSICAL_RESOURCE_ID);
        assert_eq!(ok.request_id, "5d478078-13e9-baf0-464a-7ef285ecc786");
        assert_eq!(ok.data["applied"], "[4]");
        assert_eq!(ok.data["admin"], "created");
        let failed = request.answer(Err("migration 4 failed".into()));
        assert_eq!(
            (failed.status.clone(), failed.reason.as_deref()),
            (
                CloudFormationCustomResourceResponseStatus::Failed,
                Some("migration 4 failed")
            )
        );
        let wire = serde_json::to_value(&failed).expect("json");
        for key in [
            "Status",
            "Reason",
            "PhysicalResourceId",
            "StackId",
            "RequestId",
            "LogicalResourceId",
            "Data",
        ] {
            assert!(wire.get(key).is_some(), "{key} missing from {wire}");
        }
    }
}
