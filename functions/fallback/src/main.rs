use fallback::{Invoker, Routes, handle};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_tracing();
    let routes = Routes::parse(&std::env::var("ROUTES").map_err(|_| "ROUTES is not set")?)?;
    let invoker = Invoker::from_env().await?;
    let (routes, invoker) = (&routes, &invoker);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, lambda_runtime::Error>(handle(event.payload, routes, invoker).await)
    }))
    .await
}
