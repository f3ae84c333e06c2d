//! Selling online: what the provider says is applied to reservations, and what the product
//! decides is carried out at the provider.
//!
//! The rules live in the database (`apply_online_payment`, migration 0012): a success is applied
//! once, in any order, under the reservation's row lock, so that a booking freeing its lapsed
//! seats, a till payment and a cancellation each see it or are seen by it. Calls to the provider
//! are made outside any transaction, after the decision has committed; each is safe to repeat,
//! and whatever one leaves undone (the provider unreachable, a webhook that never arrives) the
//! scheduled reconciliation finishes.

use std::time::{Duration, Instant};

use serde::Serialize;
use shared::stripe::{Intent, ProviderError};
use shared::{AppState, Error, Result};

/// What applying a PaymentIntent's success did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The reservation is paid with its seats.
    Paid,
    /// The payment is being returned (the seats were not to be had).
    Refunded,
    /// It was applied before.
    Duplicate,
    /// Not one of our checkouts, or its amount or currency differ.
    Ignored,
}

/// Applies a succeeded PaymentIntent (from the webhook's `event`, or asked of the provider),
/// then makes the refund it calls for.
pub(crate) async fn apply_success(
    state: &AppState,
    intent: &Intent,
    event: Option<(&str, &str)>,
) -> Result<Applied> {
    let Some(reservation_id) = intent.reservation_id() else {
        return Ok(Applied::Ignored);
    };
    let outcome = sqlx::query_scalar!(
        r#"select outcome as "outcome!" from apply_online_payment($1, $2, $3, $4, $5, $6)"#,
        intent.id,
        intent.amount,
        intent.currency,
        reservation_id,
        event.map(|(id, _)| id),
        event.map(|(_, kind)| kind),
    )
    .fetch_one(&state.db)
    .await?;
    let applied = match outcome.as_str() {
        "paid" => Applied::Paid,
        "refund" => Applied::Refunded,
        "duplicate" => Applied::Duplicate,
        _ => Applied::Ignored,
    };
    tracing::info!(
        reservation_id,
        payment_intent = intent.id,
        outcome,
        "online payment applied"
    );
    if applied == Applied::Refunded {
        send_refund(state, &intent.id).await?;
    }
    Ok(applied)
}

/// Makes the pending refund of `payment_intent` at the provider, if no one else is making it,
/// and records what the provider said. An unreachable provider leaves it pending for the next
/// reconciliation.
pub(crate) async fn send_refund(state: &AppState, payment_intent: &str) -> Result<()> {
    let Some(attempt) = sqlx::query_scalar!("select claim_refund($1)", payment_intent)
        .fetch_one(&state.db)
        .await?
    else {
        return Ok(());
    };
    let (status, refund_id) = match state.payments.refund(payment_intent, attempt).await {
        Ok(refund) => (refund.recorded_status(), Some(refund.id)),
        // Refunded already (an earlier attempt whose answer was lost).
        Err(ProviderError::Refused { code, .. }) if code == "charge_already_refunded" => {
            ("succeeded", None)
        }
        Err(error @ ProviderError::Refused { .. }) => {
            tracing::warn!(payment_intent, %error, "refund refused");
            ("failed", None)
        }
        Err(error) => {
            tracing::warn!(payment_intent, %error, "refund not made; reconciliation retries");
            return Ok(());
        }
    };
    record_refund(state, payment_intent, status, refund_id.as_deref()).await?;
    tracing::info!(payment_intent, status, "refund recorded");
    Ok(())
}

/// Records a refund's status as the provider gives it (its answer, or its webhook).
pub(crate) async fn record_refund(
    state: &AppState,
    payment_intent: &str,
    status: &str,
    refund_id: Option<&str>,
) -> Result<()> {
    sqlx::query!(
        "select record_refund($1, $2, $3)",
        payment_intent,
        status,
        refund_id
    )
    .fetch_one(&state.db)
    .await?;
    Ok(())
}

/// Closes a checkout that will not be paid (paid at the till, cancelled, or lapsed): its
/// PaymentIntent is cancelled at the provider. If it succeeded meanwhile, the success is
/// applied instead, which refunds it when the seats are not to be had: exactly one payment is
/// kept.
pub(crate) async fn close_checkout(state: &AppState, payment_intent: &str) -> Result<()> {
    let intent = match state.payments.cancel_intent(payment_intent).await {
        Ok(intent) => intent,
        // Not cancellable: it succeeded (or is being processed); ask what it is now.
        Err(ProviderError::Refused { .. }) => state
            .payments
            .intent(payment_intent)
            .await
            .map_err(unavailable)?,
        Err(error) => return Err(unavailable(error)),
    };
    if intent.succeeded() {
        apply_success(state, &intent, None).await?;
    } else if intent.status == "canceled" {
        sqlx::query!(
            "update checkouts set closed_at = now(), outcome = 'cancelled'
             where payment_intent_id = $1 and closed_at is null",
            payment_intent
        )
        .execute(&state.db)
        .await?;
    }
    Ok(())
}

/// Closes the checkout of `payment_intent`, if there is one; what the provider cannot do now,
/// reconciliation finishes.
pub(crate) async fn close_if_open(state: &AppState, payment_intent: Option<&str>) {
    if let Some(payment_intent) = payment_intent
        && let Err(error) = close_checkout(state, payment_intent).await
    {
        tracing::warn!(payment_intent, %error, "checkout left for reconciliation");
    }
}

/// Asks the provider about an open checkout (a webhook may never arrive) and applies a
/// success. Answers whether anything changed.
pub(crate) async fn refresh(state: &AppState, payment_intent: &str) -> Result<bool> {
    let intent = state
        .payments
        .intent(payment_intent)
        .await
        .map_err(unavailable)?;
    if intent.succeeded() {
        let applied = apply_success(state, &intent, None).await?;
        return Ok(matches!(applied, Applied::Paid | Applied::Refunded));
    }
    Ok(false)
}

/// 503 `payments_unavailable`, the cause logged.
pub(crate) fn unavailable(error: ProviderError) -> Error {
    match error {
        ProviderError::Unavailable => {
            Error::PaymentsUnavailable("online payments are not configured")
        }
        error => {
            tracing::warn!(%error, "payment provider call failed");
            Error::PaymentsUnavailable("the payment provider cannot be reached; try again shortly")
        }
    }
}

/// What a reconciliation run did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub(crate) struct Reconciliation {
    /// Checkouts past their `pay_by` (or no longer active) asked of the provider.
    pub(crate) checkouts: usize,
    /// Refunds sent (again) to the provider.
    pub(crate) refunds: usize,
    /// Calls that failed (left for the next run).
    pub(crate) failures: usize,
}

/// How many of each a run takes on, and how long it may run (the function's timeout is longer).
const BATCH: i64 = 50;
const BUDGET: Duration = Duration::from_secs(6);

/// The scheduled reconciliation: checkouts no longer payable in time are closed at the
/// provider (a success found there is applied: a webhook that never arrived), and refunds the
/// provider has not confirmed are made again. Provider events older than 30 days are forgotten
/// (the provider retries a webhook for 3 days).
pub(crate) async fn reconcile(state: &AppState) -> Result<Reconciliation> {
    let started = Instant::now();
    let mut report = Reconciliation::default();
    let checkouts = sqlx::query_scalar!(
        r#"select c.payment_intent_id as "payment_intent_id!"
           from checkouts c join reservations r on r.id = c.reservation_id
           where c.closed_at is null and (r.pay_by <= now() or r.status <> 'active')
           order by c.created_at limit $1"#,
        BATCH
    )
    .fetch_all(&state.db)
    .await?;
    for payment_intent in checkouts {
        if started.elapsed() > BUDGET {
            break;
        }
        report.checkouts += 1;
        if let Err(error) = close_checkout(state, &payment_intent).await {
            tracing::warn!(payment_intent, %error, "checkout not reconciled");
            report.failures += 1;
        }
    }
    let refunds = sqlx::query_scalar!(
        r#"select payment_intent_id as "payment_intent_id!" from refunds
           where status in ('pending', 'failed') order by updated_at limit $1"#,
        BATCH
    )
    .fetch_all(&state.db)
    .await?;
    for payment_intent in refunds {
        if started.elapsed() > BUDGET {
            break;
        }
        report.refunds += 1;
        if let Err(error) = send_refund(state, &payment_intent).await {
            tracing::warn!(payment_intent, %error, "refund not sent");
            report.failures += 1;
        }
    }
    sqlx::query!("delete from payment_events where received_at < now() - interval '30 days'")
        .execute(&state.db)
        .await?;
    tracing::info!(?report, "payments reconciled");
    Ok(report)
}
