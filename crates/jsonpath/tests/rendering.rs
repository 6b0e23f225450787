//! How values print: Java's `toString` of the class json-smart chose.

use sifr_jsonpath::{Item, JsonPathValue};

use crate::support::{list, object, query, scalar};

fn value_of(literal: &str) -> JsonPathValue {
    query(&format!("{{\"v\":{literal}}}"), "$.v")
}

#[test]
fn integers_print_exactly() {
    assert_eq!(value_of("7"), scalar("7"));
    assert_eq!(value_of("007"), scalar("7"));
    assert_eq!(value_of("-0"), scalar("0"));
    assert_eq!(value_of("2147483648"), scalar("2147483648"));
    assert_eq!(
        value_of("-9223372036854775808"),
        scalar("-9223372036854775808")
    );
    assert_eq!(
        value_of("123456789012345678901234567890"),
        scalar("123456789012345678901234567890")
    );
}

#[test]
fn decimals_print_as_java_doubles() {
    assert_eq!(value_of("1.50"), scalar("1.5"));
    assert_eq!(value_of("1e3"), scalar("1000.0"));
    assert_eq!(value_of("1E7"), scalar("1.0E7"));
    assert_eq!(value_of("0.001"), scalar("0.001"));
    assert_eq!(value_of("0.0001"), scalar("1.0E-4"));
    assert_eq!(value_of("-2.50e-10"), scalar("-2.5E-10"));
    assert_eq!(value_of("1e400"), scalar("Infinity"));
    assert_eq!(value_of("-0.0"), scalar("-0.0"));
    // Java 17's own digits, not the shortest round-trip form.
    assert_eq!(
        value_of("72783015336280.13"),
        scalar("7.278301533628012E13")
    );
    assert_eq!(
        value_of("58715605414862872."),
        scalar("5.8715605414862872E16")
    );
}

#[test]
fn long_decimal_literals_stay_exact_big_decimals() {
    assert_eq!(
        value_of("1.0000000000000000000"),
        scalar("1.0000000000000000000")
    );
    assert_eq!(
        value_of("0.14300000000000002"),
        scalar("0.14300000000000002")
    );
    assert_eq!(
        value_of("1234567890.1234567890"),
        scalar("1234567890.1234567890")
    );
    assert_eq!(
        value_of("1.00000000000000000e-10"),
        scalar("1.00000000000000000E-10")
    );
    assert_eq!(
        value_of("58715605414862872.0"),
        scalar("58715605414862872.0")
    );
}

#[test]
fn bare_nan_is_a_float() {
    assert_eq!(value_of("NaN"), scalar("NaN"));
}

#[test]
fn objects_print_as_java_maps_and_arrays_as_json() {
    let json =
        r#"{"o":{"s":"a/b \"q\"","n":1.0,"x":null,"arr":[1,"a/b",{"k":"v"},null,true],"e":{}}}"#;
    assert_eq!(
        query(json, "$.o"),
        object(r#"{s=a/b "q", n=1.0, x=null, arr=[1,"a\/b",{"k":"v"},null,true], e={}}"#)
    );
    assert_eq!(
        query(json, "$.o.arr"),
        JsonPathValue::List(vec![
            Item::Text("1".to_string()),
            Item::Text("a/b".to_string()),
            Item::Text("{k=v}".to_string()),
            Item::Null,
            Item::Text("true".to_string()),
        ])
    );
    assert_eq!(
        query(json, "$.o.*"),
        JsonPathValue::List(vec![
            Item::Text(r#"a/b "q""#.to_string()),
            Item::Text("1.0".to_string()),
            Item::Null,
            Item::Text(r#"[1,"a\/b",{"k":"v"},null,true]"#.to_string()),
            Item::Text("{}".to_string()),
        ])
    );
}

#[test]
fn json_text_escapes_control_and_special_characters() {
    let json = "[[\"tab\\there\", \"\\u2028\", \"\\u0085\", \"é\", \"\\\\\"]]";
    assert_eq!(
        query(json, "$[0]"),
        list(&["tab\there", "\u{2028}", "\u{85}", "é", "\\"])
    );
    assert_eq!(
        query(json, "$[*]"),
        list(&[r#"["tab\there","\u2028","\u0085","é","\\"]"#])
    );
}

#[test]
fn permissive_documents_are_accepted() {
    assert_eq!(query("{'a':'x'}", "$.a"), scalar("x"));
    assert_eq!(
        query("{a: hello world , b:[1,,2,]}", "$"),
        object("{a=hello world, b=[1,2]}")
    );
    assert_eq!(query(r#"{"a":1} trailing text"#, "$.a"), scalar("1"));
    assert_eq!(query(r#"{"a":1,"a":2}"#, "$"), object("{a=2}"));
    assert_eq!(query(r#"["\x41\u0042\q"]"#, "$[0]"), scalar("AB"));
}
