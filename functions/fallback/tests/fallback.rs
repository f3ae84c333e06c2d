//! The `$default` route's function against a local stand-in for Lambda's Invoke API.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fallback::{Invoker, Routes, handle};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What the stand-in received: the request line, its headers, and the body.
struct Received {
    head: String,
    body: Value,
}

/// Answers every invocation with `answer` (and `error` as `X-Amz-Function-Error`).
async fn invoke_api(answer: Value, error: bool) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let Some((head, body)) = shared::testing::read_http_request(&mut socket).await else {
                continue;
            };
            let _ = sender.send(Received {
                head,
                body: serde_json::from_str(&body).expect("json"),
            });
            let payload = answer.to_string();
            let extra = if error {
                "x-amz-function-error: Unhandled\r\n"
            } else {
                ""
            };
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{payload}",
                payload.len()
            );
            socket.write_all(reply.as_bytes()).await.expect("write");
        }
    });
    (endpoint, receiver)
}

fn invoker(endpoint: String) -> Invoker {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    Invoker::new(
        endpoint,
        "eu-west-1".to_owned(),
        SharedCredentialsProvider::new(credentials),
    )
    .expect("invoker")
}

fn event(path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "limit=5",
        "headers": {"accept": "application/json"},
        "requestContext": {"http": {"method": "GET", "path": path, "sourceIp": "203.0.113.7"}, "stage": "$default"},
        "isBase64Encoded": false
    })
}

fn routes() -> Routes {
    Routes::parse(r#"{"/genres": "cinema-FilmsFunction-abc", "/docs": "cinema-DocsFunction-def"}"#)
        .expect("routes")
}

#[tokio::test]
async fn a_served_path_with_a_trailing_slash_is_handed_to_its_function_unchanged() {
    let films_answer = json!({"statusCode": 200, "headers": {"content-type": "application/json"},
                              "body": "{\"items\":[],\"total\":0,\"limit\":5,\"offset\":0}"});
    let (endpoint, mut received) = invoke_api(films_answer.clone(), false).await;
    let answer = handle(event("/genres/"), &routes(), &invoker(endpoint)).await;
    assert_eq!(answer, films_answer, "the function's answer, as it is");
    let call = received.recv().await.expect("an invocation");
    assert!(
        call.head.starts_with(
            "POST /2015-03-31/functions/cinema-FilmsFunction-abc/invocations HTTP/1.1"
        ),
        "{}",
        call.head
    );
    let head = call.head.to_ascii_lowercase();
    assert!(
        head.contains("authorization: aws4-hmac-sha256 credential=akidexample/")
            && head.contains("/eu-west-1/lambda/aws4_request"),
        "signed for Lambda in the function's region: {}",
        call.head
    );
    assert_eq!(
        call.body,
        event("/genres/"),
        "the event is handed on unchanged"
    );
}

#[tokio::test]
async fn anything_else_gets_the_api_404_without_invoking_anything() {
    let (endpoint, mut received) = invoke_api(json!({}), false).await;
    let invoker = invoker(endpoint);
    for path in ["/", "/nope", "/genresx/", "/nope/deeper/"] {
        let answer = handle(event(path), &routes(), &invoker).await;
        assert_eq!(answer["statusCode"], 404, "{path}: {answer}");
        assert_eq!(answer["headers"]["content-type"], "application/json");
        let body: Value =
            serde_json::from_str(answer["body"].as_str().expect("body")).expect("json body");
        assert_eq!(body["code"], "not_found", "{path}");
        assert!(body["detail"].is_string());
    }
    assert!(received.try_recv().is_err(), "nothing was invoked");
}

#[tokio::test]
async fn a_failing_or_unreachable_function_gets_the_api_error_body() {
    let (endpoint, _received) = invoke_api(json!({"errorMessage": "boom"}), true).await;
    let answer = handle(event("/docs/"), &routes(), &invoker(endpoint)).await;
    assert_eq!(answer["statusCode"], 500, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().expect("body")).expect("json");
    assert_eq!(
        body,
        json!({"detail": "internal server error", "code": "internal_error"})
    );

    // Nothing listens there.
    let answer = handle(
        event("/genres/"),
        &routes(),
        &invoker("http://127.0.0.1:9".to_owned()),
    )
    .await;
    assert_eq!(answer["statusCode"], 500, "{answer}");
}
