//! Prints the API's OpenAPI document, as `GET /openapi.json` serves it: what the linter and the
//! client generators of `make test` read.

fn main() {
    let document = docs::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    println!("{document}");
}
