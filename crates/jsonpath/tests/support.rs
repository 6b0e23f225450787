//! Helpers shared by the integration tests.

use sifr_jsonpath::{Item, JsonPathError, JsonPathValue, get_value};

/// Evaluates a query that must succeed.
pub fn query(json: &str, path: &str) -> JsonPathValue {
    match get_value(json, path) {
        Ok(value) => value,
        Err(error) => panic!("{path} failed: {error}"),
    }
}

/// Evaluates a query that must fail and returns the message SIF reported.
pub fn error(json: &str, path: &str) -> String {
    match get_value(json, path) {
        Ok(value) => panic!("{path} unexpectedly gave {value:?}"),
        Err(error) => error.to_string(),
    }
}

/// Evaluates a query that must fail and returns the error itself.
pub fn failure(json: &str, path: &str) -> JsonPathError {
    match get_value(json, path) {
        Ok(value) => panic!("{path} unexpectedly gave {value:?}"),
        Err(error) => error,
    }
}

pub fn text(value: &str) -> Item {
    Item::Text(value.to_string())
}

pub fn scalar(value: &str) -> JsonPathValue {
    JsonPathValue::Scalar(text(value))
}

pub fn list(values: &[&str]) -> JsonPathValue {
    JsonPathValue::List(values.iter().map(|v| text(v)).collect())
}

pub fn object(value: &str) -> JsonPathValue {
    JsonPathValue::ObjectText(value.to_string())
}

/// The classic Jayway example document.
pub const STORE: &str = r#"{"store":{"book":[
  {"category":"reference","author":"Nigel Rees","title":"Sayings of the Century","price":8.95},
  {"category":"fiction","author":"Evelyn Waugh","title":"Sword of Honour","price":12.99},
  {"category":"fiction","author":"Herman Melville","title":"Moby Dick","isbn":"0-553-21311-3","price":8.99},
  {"category":"fiction","author":"J. R. R. Tolkien","title":"The Lord of the Rings","isbn":"0-395-19395-8","price":22.99}],
  "bicycle":{"color":"red","price":19.95}},"expensive":10}"#;

pub const BOOK_0: &str =
    "{category=reference, author=Nigel Rees, title=Sayings of the Century, price=8.95}";
pub const BOOK_1: &str =
    "{category=fiction, author=Evelyn Waugh, title=Sword of Honour, price=12.99}";
pub const BOOK_2: &str =
    "{category=fiction, author=Herman Melville, title=Moby Dick, isbn=0-553-21311-3, price=8.99}";
pub const BOOK_3: &str = "{category=fiction, author=J. R. R. Tolkien, title=The Lord of the Rings, isbn=0-395-19395-8, price=22.99}";
