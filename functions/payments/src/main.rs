use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::{PaymentKeys, PaymentSettings, ProcessEnv};
use shared::stripe::Client;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    let settings = PaymentSettings::from_env(&ProcessEnv)?;
    // Without a key (deployed before the account's keys are in the secret) every call answers
    // `unavailable`, as the functions that invoke it do themselves.
    let client = match PaymentKeys::load(&ProcessEnv).await?.secret_key {
        Some(key) => Some(Client::new(&settings.api_base, key)?),
        None => None,
    };
    let client = client.as_ref();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, lambda_runtime::Error>(payments::handle(event.payload, client).await)
    }))
    .await
}
