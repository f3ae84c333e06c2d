//! The payments function against the local Stripe stand-in, called directly and as the
//! functions in the VPC call it: through a signed Lambda Invoke, here a local stand-in of the
//! Invoke API that runs this function's handler.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::PaymentKeys;
use shared::invoke::Invoker;
use shared::stripe::{Answer, Client, Payments, ProviderError};
use shared::testing::stripe as stand_in;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;

fn client() -> Client {
    Client::new(&stand_in::base(), SecretString::from(stand_in::SECRET_KEY)).expect("client")
}

fn create(reservation_id: i64, amount: i64) -> Value {
    json!({"call": "create_intent", "reservation_id": reservation_id, "amount": amount,
           "currency": "eur", "key": format!("checkout-{reservation_id}-{}", rand_suffix())})
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos()
}

fn object(answer: Answer) -> Value {
    match answer {
        Answer::Ok(object) => object,
        Answer::Error(error) => panic!("the provider refused: {error}"),
    }
}

#[tokio::test]
async fn each_call_reaches_the_provider_and_answers_its_object() {
    let client = client();
    let intent = object(payments::handle(create(7, 1520), Some(&client)).await);
    assert_eq!(intent["amount"], 1520);
    assert_eq!(intent["metadata"]["reservation_id"], "7");
    let id = intent["id"].as_str().expect("id").to_owned();
    let read =
        object(payments::handle(json!({"call": "get_intent", "id": id}), Some(&client)).await);
    assert_eq!(read["status"], "requires_payment_method");
    stand_in::pay(&id).await;
    let refund = object(
        payments::handle(
            json!({"call": "create_refund", "payment_intent": id, "attempt": 1}),
            Some(&client),
        )
        .await,
    );
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["amount"], 1520);

    // An unpaid one is cancelled; a paid one cannot be.
    let unpaid = object(payments::handle(create(8, 900), Some(&client)).await);
    let cancelled = object(
        payments::handle(
            json!({"call": "cancel_intent", "id": unpaid["id"]}),
            Some(&client),
        )
        .await,
    );
    assert_eq!(cancelled["status"], "canceled");
    let refused = payments::handle(json!({"call": "cancel_intent", "id": id}), Some(&client)).await;
    assert!(
        matches!(refused, Answer::Error(ProviderError::Refused { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn what_is_not_a_call_is_refused_and_no_key_is_unavailable() {
    let answer = payments::handle(json!({"call": "transfer", "amount": 1}), Some(&client())).await;
    assert!(matches!(
        answer,
        Answer::Error(ProviderError::Refused { status: 400, .. })
    ));
    // An id that could change the path is never sent.
    let answer = payments::handle(
        json!({"call": "get_intent", "id": "../v1/balance"}),
        Some(&client()),
    )
    .await;
    assert!(matches!(
        answer,
        Answer::Error(ProviderError::Refused { status: 400, .. })
    ));
    let answer = payments::handle(json!({"call": "get_intent", "id": "pi_1"}), None).await;
    assert_eq!(
        serde_json::to_value(answer).expect("json"),
        json!({"error": {"kind": "unavailable"}})
    );
}

/// A stand-in of Lambda's Invoke API that runs the payments function's handler; its endpoint.
async fn invoke_api() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some((head, body)) = shared::testing::read_http_request(&mut socket).await
                else {
                    return;
                };
                assert!(
                    head.starts_with(
                        "POST /2015-03-31/functions/cinema-PaymentsFunction/invocations"
                    ),
                    "{head}"
                );
                assert!(
                    head.to_ascii_lowercase()
                        .contains("authorization: aws4-hmac-sha256"),
                    "{head}"
                );
                let event: Value = serde_json::from_str(&body).expect("a call");
                let answer = payments::handle(event, Some(&client())).await;
                let payload = serde_json::to_string(&answer).expect("json");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
                    payload.len()
                );
                socket.write_all(reply.as_bytes()).await.expect("write");
            });
        }
    });
    endpoint
}

#[tokio::test]
async fn a_function_in_the_vpc_reaches_the_provider_through_the_payments_function() {
    let mut settings = shared::Settings::defaults().payments;
    settings.function = Some("cinema-PaymentsFunction".into());
    // The calling function has no route to the provider: only the Invoke API is reachable.
    settings.api_base = "http://192.0.2.1:9".into();
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let invoker = Invoker::new(
        invoke_api().await,
        "eu-west-1".into(),
        SharedCredentialsProvider::new(credentials),
    )
    .expect("invoker");
    let keys = PaymentKeys {
        secret_key: Some(SecretString::from(stand_in::SECRET_KEY)),
        webhook_secret: None,
    };
    let payments = Payments::new(settings, keys, Some(invoker)).expect("payments");
    let intent = payments
        .create_intent(41, 3040, format!("checkout-41-{}", rand_suffix()))
        .await
        .expect("intent");
    assert_eq!(intent.amount, 3040);
    assert_eq!(intent.reservation_id(), Some(41));
    stand_in::pay(&intent.id).await;
    assert!(
        payments
            .intent(&intent.id)
            .await
            .expect("intent")
            .succeeded()
    );
    let refund = payments.refund(&intent.id, 1).await.expect("refund");
    assert_eq!(refund.recorded_status(), "succeeded");
    // The provider's refusal travels back as a refusal.
    let refused = payments.cancel_intent(&intent.id).await;
    assert!(
        matches!(refused, Err(ProviderError::Refused { .. })),
        "{refused:?}"
    );

    // Online sales switched off in a deployment: nothing is called.
    let mut off = shared::Settings::defaults().payments;
    off.function = Some(String::new());
    let keys = PaymentKeys {
        secret_key: Some(SecretString::from(stand_in::SECRET_KEY)),
        webhook_secret: None,
    };
    let payments = Payments::new(off, keys, None).expect("payments");
    assert!(!payments.available());
    assert_eq!(
        payments.intent("pi_1").await.err(),
        Some(ProviderError::Unavailable)
    );
}
