//! The payments function: the one function that talks to the card payment provider.
//!
//! | invoked by | with |
//! |---|---|
//! | the reservations function, through Lambda's Invoke API (the VPC's Lambda endpoint) | a [`Call`] |
//!
//! The functions that reach the database run in subnets with no route to the internet; this
//! one runs outside the VPC, reads the provider's secret key (the application secret's
//! `stripe_secret_key`) and makes the call it is given, answering the provider's object or why
//! there is none ([`Answer`]). It decides nothing: what to call, and what an answer means, is
//! the reservations function's.

use serde_json::Value;
use shared::stripe::{Answer, Call, Client};

/// Makes the call `event` describes with `client` (none: no key is configured); anything that
/// is not a call is refused in the answer.
pub async fn handle(event: Value, client: Option<&Client>) -> Answer {
    let call: Call = match serde_json::from_value(event) {
        Ok(call) => call,
        Err(error) => {
            return Answer::Error(shared::stripe::ProviderError::Refused {
                status: 400,
                code: format!("not a call: {error}"),
            });
        }
    };
    let Some(client) = client else {
        return Answer::Error(shared::stripe::ProviderError::Unavailable);
    };
    match client.call(&call).await {
        Ok(object) => Answer::Ok(object),
        Err(error) => {
            tracing::warn!(%error, "provider call failed");
            Answer::Error(error)
        }
    }
}
