//! Path functions.

use sifr_jsonpath::{Item, JsonPathValue};

use crate::support::{STORE, error, list, query, scalar};

const DATA: &str = r#"{"nums":[1,2,3,4],"mixed":[1,"x",2.5,null],"one":[5],"empty":[],
  "strs":["a","b",3,null],"obj":{"a":1,"b":[1,2]},"n":7,"s":"text"}"#;

#[test]
fn length_and_size_count_elements_and_entries() {
    assert_eq!(query(DATA, "$.nums.length()"), scalar("4"));
    assert_eq!(query(DATA, "$.nums.size()"), scalar("4"));
    assert_eq!(query(DATA, "$.obj.length()"), scalar("2"));
    assert_eq!(query(DATA, "$.empty.length()"), scalar("0"));
    // Scalars have no length.
    assert_eq!(
        query(DATA, "$.s.length()"),
        JsonPathValue::Scalar(Item::Null)
    );
    assert_eq!(query(STORE, "$.store.book.length()"), scalar("4"));
}

#[test]
fn length_after_deep_scan_counts_the_children_of_every_match() {
    assert_eq!(query(STORE, "$..book.length()"), scalar("4"));
    assert_eq!(query(STORE, "$..bicycle.length()"), scalar("2"));
}

#[test]
fn numeric_aggregations_answer_doubles() {
    assert_eq!(query(DATA, "$.nums.sum()"), scalar("10.0"));
    assert_eq!(query(DATA, "$.nums.avg()"), scalar("2.5"));
    assert_eq!(query(DATA, "$.nums.min()"), scalar("1.0"));
    assert_eq!(query(DATA, "$.nums.max()"), scalar("4.0"));
    assert_eq!(query(DATA, "$.nums.stddev()"), scalar("1.118033988749895"));
    // Non-numbers are ignored.
    assert_eq!(query(DATA, "$.mixed.sum()"), scalar("3.5"));
    assert_eq!(query(DATA, "$.mixed.max()"), scalar("2.5"));
}

#[test]
fn aggregations_take_numeric_arguments_too() {
    assert_eq!(query(DATA, "$.nums.sum(10)"), scalar("20.0"));
    assert_eq!(query(DATA, "$.nums.sum($.n)"), scalar("17.0"));
    assert_eq!(query(DATA, "$.nums.max(-1, 9)"), scalar("9.0"));
    assert_eq!(query(DATA, "$.empty.avg(2, 4)"), scalar("3.0"));
}

#[test]
fn aggregation_after_deep_scan_covers_all_matches() {
    assert_eq!(query(STORE, "$..price.sum()"), scalar("73.87"));
    assert_eq!(query(STORE, "$..price.min()"), scalar("8.95"));
}

#[test]
fn aggregation_without_numbers_fails() {
    let message = "Aggregation function attempted to calculate value using empty array";
    assert_eq!(error(DATA, "$.empty.sum()"), message);
    assert_eq!(error(DATA, "$.n.avg()"), message);
    // After a wildcard the function applies to each element, here a number.
    assert_eq!(error(STORE, "$.store.book[*].price.sum()"), message);
}

#[test]
fn first_last_and_index() {
    assert_eq!(query(DATA, "$.nums.first()"), scalar("1"));
    assert_eq!(query(DATA, "$.nums.last()"), scalar("4"));
    assert_eq!(query(DATA, "$.nums.index(1)"), scalar("2"));
    assert_eq!(query(DATA, "$.nums.index(-2)"), scalar("3"));
    assert_eq!(query(DATA, "$.one.first()"), scalar("5"));
    assert_eq!(query(DATA, "$.obj.b.last()"), scalar("2"));
}

#[test]
fn sequence_functions_keep_jayway_failures() {
    assert_eq!(
        error(DATA, "$.empty.first()"),
        "Index 0 out of bounds for length 0"
    );
    assert_eq!(
        error(DATA, "$.nums.index(9)"),
        "Index 9 out of bounds for length 4"
    );
    // Jayway requires a position above zero when counting from the end.
    assert_eq!(
        error(DATA, "$.one.last()"),
        "Target index:-1 larger than object count:1"
    );
    assert_eq!(
        error(DATA, "$.n.first()"),
        "Aggregation function attempted to calculate value using empty array"
    );
}

#[test]
fn concat_joins_strings() {
    assert_eq!(query(DATA, "$.strs.concat()"), scalar("ab"));
    assert_eq!(query(DATA, r#"$.strs.concat("-", "z")"#), scalar("ab-z"));
    // Array arguments contribute every element's text.
    assert_eq!(
        query(DATA, r#"$.strs.concat("-", $.nums)"#),
        scalar("ab-1234")
    );
}

#[test]
fn append_adds_arguments_to_an_array() {
    assert_eq!(
        query(DATA, "$.nums.append(5)"),
        list(&["1", "2", "3", "4", "5"])
    );
    assert_eq!(
        query(DATA, r#"$.one.append("x", 1.5, {"k":1})"#),
        list(&["5", "x", "1.5", "{k=1}"])
    );
}

#[test]
fn keys_answer_the_java_key_set_text() {
    assert_eq!(query(DATA, "$.obj.keys()"), scalar("[a, b]"));
    assert_eq!(
        query(DATA, "$.nums.keys()"),
        JsonPathValue::Scalar(Item::Null)
    );
}

#[test]
fn functions_after_indefinite_paths_apply_per_element() {
    assert_eq!(
        query(r#"[[1,2],[3],{"a":1}]"#, "$[*].length()"),
        list(&["2", "1", "1"])
    );
}

#[test]
fn unknown_functions_are_reported() {
    assert_eq!(
        error(DATA, "$.nums.median()"),
        "Function with name: median does not exist."
    );
}

#[test]
fn invalid_json_arguments_are_json_errors() {
    assert_eq!(
        error(DATA, "$.nums.append({x:})"),
        "Unable to parse json: Unexpected character (}) at position 3."
    );
    assert_eq!(
        error(DATA, "$.nums.append({x)"),
        "Arguments to function: 'append' are not closed properly."
    );
}
