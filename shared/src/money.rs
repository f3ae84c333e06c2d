//! Money: exact decimals, at most two places, sent as JSON strings such as `"525.00"`.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// The largest base price of a seat: with the largest surcharge (500 %) a seat then costs at
/// most 5,999,999.94, and a booking of ten seats still fits in `NUMERIC(10,2)`.
pub const MAX_PRICE: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 2); // 999999.99

/// An amount as a client sends it: a JSON string of digits with an optional sign and
/// fraction (`"525.00"`; the pattern the API description gives), never a number (a float has
/// no exact cents). Anything else — `525`, `"NaN"`, `"1e400"`, `" 5"`, `"1_000"`, words — does
/// not deserialize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let problem = || serde::de::Error::custom("must be a decimal string such as \"525.00\"");
        let text = serde_json::Value::deserialize(deserializer)?;
        text.as_str()
            .filter(|text| is_plain_decimal(text))
            .and_then(|text| Decimal::from_str_exact(text).ok())
            .map(Amount)
            .ok_or_else(problem)
    }
}

/// `^-?[0-9]+(\.[0-9]+)?$`: what [`Amount`] accepts as text.
const PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";

fn is_plain_decimal(text: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(PATTERN))
            .examples(["525.00"])
            .description(Some("A decimal amount as a string, such as \"525.00\""))
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

/// The problem with a base price, if any: from 0 to 999999.99, at most two decimal places.
pub fn price_problem(amount: Decimal) -> Option<String> {
    if amount.is_sign_negative() && !amount.is_zero() {
        Some("must not be negative".into())
    } else if amount.normalize().scale() > 2 {
        Some("must have at most two decimal places".into())
    } else if amount > MAX_PRICE {
        Some(format!("must be at most {MAX_PRICE}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn amount(json: &str) -> Result<Decimal, serde_json::Error> {
        serde_json::from_str::<Amount>(json).map(|a| a.0)
    }

    #[test]
    fn amounts_come_as_decimal_strings_and_nothing_else() {
        assert_eq!(
            amount("\"525.00\"").expect("string"),
            Decimal::from_str("525.00").expect("d")
        );
        assert_eq!(amount("\"7\"").expect("whole"), Decimal::from(7));
        for bad in [
            "12.5",
            "7",
            "\"NaN\"",
            "\"abc\"",
            "\"\"",
            "true",
            "null",
            "[1]",
            "1e400",
            "\" 5\"",
            "\"+5\"",
            "\"5.\"",
            "\".5\"",
            "\"1_000\"",
            "\"1e3\"",
            "\"--1\"",
        ] {
            assert!(amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prices_are_bounded_to_numeric_10_2() {
        let d = |s: &str| Decimal::from_str(s).expect("decimal");
        assert_eq!(price_problem(d("0")), None);
        assert_eq!(price_problem(d("525.00")), None);
        assert_eq!(MAX_PRICE.to_string(), "999999.99");
        assert_eq!(price_problem(d("999999.99")), None);
        assert!(price_problem(d("1000000.00")).is_some());
        assert_eq!(price_problem(d("1.500")), None, "trailing zeros are fine");
        assert!(price_problem(d("-0.01")).is_some());
        assert!(price_problem(d("0.001")).is_some());
        assert!(price_problem(d("100000000.00")).is_some());
        assert!(price_problem(d("999999999999")).is_some(), "12 digits");
    }
}
