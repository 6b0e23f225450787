//! How output values are kept in an activity version (as text, so numbers stay exact), and how
//! they come back: as the engine's values for aggregations and metrics, as JSON for the API.

use serde_json::{Number, Value as JsonValue};
use sifr_engine::{Fixed, Stored, ValueType};

/// The stored text of a value: numbers in plain decimal notation, timestamps in epoch seconds;
/// `None` for null and failed cells.
pub(crate) fn stored_text(value: &Stored) -> Option<String> {
    let mut text = String::new();
    write_stored_text(&mut text, value).then_some(text)
}

/// Appends the stored text of a value to `out`; false (appending nothing) for null and failed
/// cells.
pub(crate) fn write_stored_text(out: &mut String, value: &Stored) -> bool {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = match value {
        Stored::Null | Stored::Error(_) => return false,
        Stored::Number(n) => write!(out, "{n}"),
        Stored::Bool(b) => write!(out, "{b}"),
        Stored::Text(t) => write!(out, "{t}"),
        Stored::Timestamp(seconds) => write!(out, "{seconds}"),
    };
    true
}

/// A stored text read back as a value of `kind`; text that does not parse is null.
pub(crate) fn from_stored_text(kind: ValueType, text: &str) -> Stored {
    match kind {
        ValueType::Number => Fixed::parse(text).map_or(Stored::Null, Stored::Number),
        ValueType::Boolean => match text {
            "true" | "1" => Stored::Bool(true),
            "false" | "0" => Stored::Bool(false),
            _ => Stored::Null,
        },
        ValueType::Timestamp => text.parse().map_or(Stored::Null, Stored::Timestamp),
        ValueType::String => Stored::Text(text.into()),
    }
}

/// A stored text as the API shows it: numbers as JSON numbers, timestamps in RFC 3339.
pub(crate) fn json_of(kind: Option<ValueType>, text: &str) -> JsonValue {
    match kind {
        Some(ValueType::Number) => text
            .parse::<Number>()
            .map_or_else(|_| JsonValue::String(text.to_owned()), JsonValue::Number),
        Some(ValueType::Boolean) => JsonValue::Bool(matches!(text, "true" | "1")),
        Some(ValueType::Timestamp) => match text.parse::<i64>() {
            Ok(seconds) => JsonValue::String(timestamp(seconds)),
            Err(_) => JsonValue::String(text.to_owned()),
        },
        Some(ValueType::String) | None => JsonValue::String(text.to_owned()),
    }
}

/// Epoch seconds in RFC 3339 (UTC).
pub(crate) fn timestamp(seconds: i64) -> String {
    let mut out = String::new();
    let _ = sifr_engine::stored::write_timestamp(&mut out, seconds);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_written() {
        let values = [
            (
                ValueType::Number,
                Stored::Number(Fixed::parse("-12.34").unwrap()),
            ),
            (ValueType::Boolean, Stored::Bool(true)),
            (ValueType::Timestamp, Stored::Timestamp(1_641_254_400)),
            (ValueType::String, Stored::Text("natural gas".into())),
        ];
        for (kind, value) in values {
            let text = stored_text(&value).unwrap();
            assert_eq!(from_stored_text(kind, &text), value);
        }
        assert_eq!(stored_text(&Stored::Error("boom".into())), None);
        assert_eq!(
            json_of(Some(ValueType::Timestamp), "1641254400"),
            JsonValue::String("2022-01-04T00:00:00Z".into())
        );
        assert_eq!(
            json_of(Some(ValueType::Number), "2.5"),
            serde_json::json!(2.5)
        );
    }
}
