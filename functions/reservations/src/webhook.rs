//! The provider's webhook, and the scheduled reconciliation.

use axum::Json as JsonResponse;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use shared::openapi::{ErrorBody, JsonBody};
use shared::stripe::{Event, Intent, Refund, SignatureError, verify_signature};
use shared::{AppState, Error, Result};
use utoipa::ToSchema;

use crate::online::{self, Applied, Reconciliation};

/// The webhook's answer: the event was received (applied, found a duplicate, or ignored).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Received {
    /// Always `true`.
    received: bool,
    /// `applied`, `duplicate` or `ignored`.
    #[schema(examples("applied"))]
    outcome: &'static str,
}

/// Receive a Stripe event (webhook).
///
/// `POST /payments/stripe` (no token; Stripe signs each event): the card payment provider's
/// events. A `payment_intent.succeeded` pays the reservation it names, takes back its lapsed
/// seats if they are free, or refunds the payment in full; refund updates are recorded; other
/// events are acknowledged and ignored. Each event applies once, in any order.
#[utoipa::path(
    post, path = "/payments/stripe", tag = "payments",
    params(("Stripe-Signature" = String, Header,
            description = "`t=<unix time>,v1=<hex HMAC-SHA256 of \"t.body\" with the endpoint's signing secret>`; within 300 s")),
    request_body(content = serde_json::Value, content_type = "application/json",
                 description = "A Stripe event, exactly as Stripe sent it"),
    security(()),
    responses(
        (status = 200, description = "Received: applied, a duplicate, or ignored", body = Received),
        (status = 400, description = "The signature is missing, wrong or too old (`invalid_signature`), or the body is not an event (`malformed_body`); nothing changed", body = ErrorBody),
        (status = 503, description = "No webhook signing secret is configured (`payments_unavailable`)", body = ErrorBody),
        JsonBody,
    ),
)]
pub(crate) async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<JsonResponse<Received>> {
    let secret = state
        .payments
        .webhook_secret()
        .ok_or(Error::PaymentsUnavailable(
            "online payments are not configured",
        ))?;
    let mut signatures = headers.get_all("stripe-signature").iter();
    let header = match (signatures.next(), signatures.next()) {
        (Some(value), None) => value.to_str().map_err(|_| SignatureError::Malformed),
        _ => Err(SignatureError::Malformed),
    }
    .map_err(Error::InvalidSignature)?;
    verify_signature(secret, header, &body, chrono::Utc::now().timestamp())
        .map_err(Error::InvalidSignature)?;
    let event: Event = serde_json::from_slice(&body)
        .map_err(|_| Error::BadRequest("the body is not a Stripe event".into()))?;
    let outcome = match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let intent: Intent = serde_json::from_value(event.data.object).map_err(|_| {
                Error::BadRequest("the event's object is not a PaymentIntent".into())
            })?;
            match online::apply_success(&state, &intent, Some((&event.id, &event.kind))).await? {
                Applied::Paid | Applied::Refunded => "applied",
                Applied::Duplicate => "duplicate",
                Applied::Ignored => "ignored",
            }
        }
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            let refund: Refund = serde_json::from_value(event.data.object)
                .map_err(|_| Error::BadRequest("the event's object is not a refund".into()))?;
            match &refund.payment_intent {
                Some(intent) => {
                    online::record_refund(
                        &state,
                        intent,
                        refund.recorded_status(),
                        Some(&refund.id),
                    )
                    .await?;
                    "applied"
                }
                None => "ignored",
            }
        }
        _ => "ignored",
    };
    tracing::info!(
        event_id = event.id,
        kind = event.kind,
        outcome,
        "webhook received"
    );
    Ok(JsonResponse(Received {
        received: true,
        outcome,
    }))
}

/// A task the function is invoked with directly (not through API Gateway).
#[derive(Debug, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
enum Task {
    /// The scheduled reconciliation of payments.
    Reconcile,
}

/// `POST /events`: what `lambda_http` makes of an invocation that is not an HTTP request (the
/// schedule's `{"task": "reconcile"}`). Only such an invocation reaches it: a request through
/// API Gateway never carries the pass-through context, and gets the API's 404.
pub(crate) async fn task(
    State(state): State<AppState>,
    request: Request,
) -> Result<JsonResponse<Reconciliation>> {
    let direct = matches!(
        request
            .extensions()
            .get::<lambda_http::request::RequestContext>(),
        Some(lambda_http::request::RequestContext::PassThrough)
    );
    if !direct {
        return Err(Error::NotFound("route"));
    }
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| Error::BadRequest("unreadable task".into()))?;
    match serde_json::from_slice::<Task>(&body) {
        Ok(Task::Reconcile) => Ok(JsonResponse(online::reconcile(&state).await?)),
        Err(_) => Err(Error::BadRequest("unknown task".into())),
    }
}
