//! Failures and their messages.

use sifr_jsonpath::{JsonPath, JsonPathError, get_value};

use crate::support::{STORE, error, failure};

#[test]
fn invalid_json_reports_json_smart_messages() {
    let cases = [
        ("[1,", "Unexpected End Of File position 2: EOF"),
        (r#"{"a" 1}"#, "Unexpected character (1) at position 4."),
        (r#"{"a":"x" "y"}"#, "Unexpected token \" at position 8."),
        (r#""abc"#, "Unexpected End Of File position 4: null"),
        (r#"{"a":"#, "Unexpected End Of File position 4: EOF"),
        ("[1e+]", "Unexpected token 1e+ at position 4."),
        (
            r#"["\u12G4"]"#,
            "Unexpected unicode escape sequence G at position 6.",
        ),
        ("]", "Unexpected character (]) at position 0."),
    ];
    for (json, message) in cases {
        assert_eq!(
            failure(json, "$"),
            JsonPathError::InvalidJson(message.to_string()),
            "{json}"
        );
    }
}

#[test]
fn json_nested_beyond_400_levels_is_rejected() {
    let deep = format!("{}1{}", "[".repeat(401), "]".repeat(401));
    assert_eq!(
        error(&deep, "$"),
        "Unable to parse json: Malicious payload, having non natural depths, parsing stoped on [ at position 400."
    );
    let limit = format!("{}1{}", "[".repeat(400), "]".repeat(400));
    assert!(get_value(&limit, "$").is_ok());
}

#[test]
fn empty_and_null_arguments() {
    assert_eq!(
        failure("", "$"),
        JsonPathError::InvalidArgument("json string can not be null or empty".to_string())
    );
    assert_eq!(
        failure("null", "$"),
        JsonPathError::InvalidArgument("json can not be null".to_string())
    );
    assert_eq!(
        failure("{}", ""),
        JsonPathError::InvalidArgument("json can not be null or empty".to_string())
    );
}

#[test]
fn json_errors_take_precedence_over_path_errors() {
    assert_eq!(
        error("{", "$["),
        "Unable to parse json: Unexpected End Of File position 0: null"
    );
}

#[test]
fn missing_definite_paths_name_the_normalised_path() {
    assert_eq!(
        error(STORE, "$.store.book[0].missing"),
        "No results for path: $['store']['book'][0]['missing']"
    );
    assert_eq!(
        error(STORE, "$.store.book[10]"),
        "No results for path: $['store']['book'][10]"
    );
    assert_eq!(error(STORE, r#"$["x"]"#), r#"No results for path: $["x"]"#);
    assert_eq!(
        error(r#"{"it's":{}}"#, "$['it\\'s'].x"),
        "No results for path: $['it\\'s']['x']"
    );
}

#[test]
fn definite_steps_report_what_they_met() {
    assert_eq!(
        failure(STORE, "$.store.missing.x"),
        JsonPathError::PathNotFound("Missing property in path $['store']['missing']".to_string())
    );
    assert_eq!(
        error(STORE, "$.store.bicycle.color.x"),
        "Expected to find an object with property ['x'] in path $['store']['bicycle']['color'] but found 'java.lang.String'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'."
    );
    assert_eq!(
        error(STORE, "$.store.bicycle[0]"),
        "Filter: [0] can only be applied to arrays. Current context is: {color=red, price=19.95}"
    );
    assert_eq!(error(r#"{"a":null}"#, "$.a[0]"), "The path $['a'] is null");
    assert_eq!(
        error(r#"{"a":1}"#, "$.a.*.b"),
        "Expected to find an object or array in path $['a'] but found 'java.lang.Integer'. "
    );
    assert_eq!(
        failure(r#"{"a":1}"#, "$.a[?(@ == 1)]"),
        JsonPathError::InvalidPath(
            "Filter: [?] can not be applied to primitives. Current context is: 1".to_string()
        )
    );
}

#[test]
fn invalid_paths_report_jayway_messages() {
    let cases = [
        ("$.", "Path must not end with a '.' or '..'"),
        ("$x", "Illegal character at position 1 expected '.' or '['"),
        ("$...a", "Character '.' on position 3 is not valid."),
        (
            "$.a b",
            "Use bracket notion ['my prop'] if your property contains blank characters. position: 2",
        ),
        (
            "$[x]",
            "Could not parse token starting at position 1. Expected ?, ', 0-9, * ",
        ),
        ("$['a", "Property has not been closed - missing closing '"),
        (
            "$[1 2]",
            "Failed to parse token in ArrayIndexOperation: 1 2",
        ),
        ("$[:]", "Failed to parse SliceOperation: :"),
        (
            "$[?]",
            "Not enough predicates supplied for filter [?] at position 1",
        ),
        (
            "$.a(",
            "Arguments to function: 'a' are not closed properly.",
        ),
        (
            "$.a[?(@.b == 'x)]",
            "Could not find matching close quote for ' when parsing : $.a[?(@.b == 'x)]",
        ),
        ("$.a[?(@.b ==~ 'x')]", "Expected character: )"),
        (
            "$.a[?(@.b == )]",
            "Failed to parse filter: [?(@.b == )], error on position: 10, char: )",
        ),
        (
            "$.a[?(@.b =~ /(/)]",
            "Failed to parse filter: [?(@.b =~ /(/)], error on position: 13, char: )",
        ),
        (
            "$[2147483648]",
            "Failed to parse token in ArrayIndexOperation: 2147483648",
        ),
    ];
    for (path, message) in cases {
        assert_eq!(
            JsonPath::compile(path).map(|p| p.to_string()),
            Err(JsonPathError::InvalidPath(message.to_string())),
            "{path}"
        );
    }
}

#[test]
fn compile_reports_errors_before_any_document() {
    assert!(matches!(
        JsonPath::compile("$.a[?(@.b =="),
        Err(JsonPathError::InvalidPath(_))
    ));
}
