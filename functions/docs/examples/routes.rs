//! Prints every route of the API by the function serving it, from the generated documents:
//! `cargo run -q -p docs --example routes`. The template and local-router checks read it.

fn main() {
    println!("{:#}", docs::routes());
}
