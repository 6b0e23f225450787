//! Inline filters: operators, logic, existence, and Jayway's comparison rules.

use crate::support::{BOOK_0, BOOK_2, BOOK_3, STORE, list, query};

const ITEMS: &str = r#"{"limit":2,"items":[
  {"id":1,"n":1,"k":"x","tags":["a","b"],"s":"hello"},
  {"id":2,"n":"1","k":"y","tags":["c"],"s":""},
  {"id":3,"n":1.0,"k":"z","tags":[],"s":"abc"},
  {"id":4,"k":null,"flag":true}]}"#;

fn ids(filter: &str) -> sifr_jsonpath::JsonPathValue {
    query(ITEMS, &format!("$.items[?({filter})].id"))
}

#[test]
fn comparisons_of_numbers_and_strings() {
    assert_eq!(ids("@.id < 3"), list(&["1", "2"]));
    assert_eq!(ids("@.id <= 2"), list(&["1", "2"]));
    assert_eq!(ids("@.id > 3"), list(&["4"]));
    assert_eq!(ids("@.id >= 3"), list(&["3", "4"]));
    assert_eq!(ids("@.k > 'x'"), list(&["2", "3"]));
    assert_eq!(ids("@.k == 'y'"), list(&["2"]));
    assert_eq!(ids(r#"@.k == "y""#), list(&["2"]));
    assert_eq!(ids("@.k != 'y'"), list(&["1", "3", "4"]));
    assert_eq!(ids("@.id<=$.limit"), list(&["1", "2"]));
    // Ordering needs two numbers or two strings.
    assert_eq!(ids("@.n > '0'"), list(&["2"]));
}

#[test]
fn equality_converts_between_numbers_and_numeric_strings() {
    // A number equals a string holding the same number, and 1 equals 1.0.
    assert_eq!(ids("@.n == 1"), list(&["1", "2", "3"]));
    assert_eq!(ids("@.n == '1'"), list(&["1", "2", "3"]));
    // A string side compares texts: "1" is not "1.0", but the numbers are.
    assert_eq!(ids("@.n == '1.0'"), list(&["1", "3"]));
    // A missing value is unequal to anything.
    assert_eq!(ids("@.n != 1"), list(&["4"]));
    // Type-safe operators also require the same kind of value.
    assert_eq!(ids("@.n === 1"), list(&["1", "3"]));
    assert_eq!(ids("@.n !== 1"), list(&["2", "4"]));
}

#[test]
fn null_and_boolean_literals() {
    assert_eq!(ids("@.k == null"), list(&["4"]));
    assert_eq!(ids("@.flag == true"), list(&["4"]));
    assert_eq!(ids("@.flag == false"), list(&[]));
}

#[test]
fn existence_tests() {
    assert_eq!(ids("@.tags"), list(&["1", "2", "3"]));
    // A property holding null exists.
    assert_eq!(ids("@.k"), list(&["1", "2", "3", "4"]));
    assert_eq!(ids("!@.tags"), list(&["4"]));
    assert_eq!(ids("@.missing.deeper"), list(&[]));
    assert_eq!(query(STORE, "$..book[?(@.isbn)]"), list(&[BOOK_2, BOOK_3]));
    // An indefinite path exists whenever it can be followed, even to no results.
    assert_eq!(ids("@.tags[?(@ == 'zz')]"), list(&["1", "2", "3"]));
}

#[test]
fn logical_operators_and_grouping() {
    assert_eq!(
        ids("@.id == 1 || @.id == 3 && @.k == 'z'"),
        list(&["1", "3"])
    );
    assert_eq!(ids("(@.id == 1 || @.id == 3) && @.k == 'z'"), list(&["3"]));
    assert_eq!(ids("!(@.id == 1)"), list(&["2", "3", "4"]));
    assert_eq!(ids("@.id > 1 && @.id < 4 && @.k != 'y'"), list(&["3"]));
    assert_eq!(
        query(
            STORE,
            "$.store.book[?(@.category == 'reference' || @.price > 20)].title"
        ),
        list(&["Sayings of the Century", "The Lord of the Rings"])
    );
}

#[test]
fn membership_operators() {
    assert_eq!(ids("@.k in ['x','z']"), list(&["1", "3"]));
    assert_eq!(ids("@.k nin ['x','z']"), list(&["2", "4"]));
    assert_eq!(ids("@.id in [1, 3]"), list(&["1", "3"]));
    assert_eq!(ids("@.tags subsetof ['a','b','c']"), list(&["1", "2", "3"]));
    assert_eq!(ids("@.tags anyof ['b','c']"), list(&["1", "2"]));
    assert_eq!(ids("@.tags noneof ['b','c']"), list(&["3"]));
    assert_eq!(ids("@.tags contains 'a'"), list(&["1"]));
    assert_eq!(ids("@.s contains 'ell'"), list(&["1"]));
    // A right side that is not a JSON array makes the test fail rather than error.
    assert_eq!(ids("@.k in 'x'"), list(&[]));
}

#[test]
fn size_and_empty() {
    assert_eq!(ids("@.tags size 2"), list(&["1"]));
    assert_eq!(ids("@.s size 5"), list(&["1"]));
    assert_eq!(ids("@.tags empty true"), list(&["3"]));
    assert_eq!(ids("@.tags empty false"), list(&["1", "2"]));
    assert_eq!(ids("@.s empty true"), list(&["2"]));
}

#[test]
fn regular_expressions_match_whole_values() {
    assert_eq!(ids("@.s =~ /h.*o/"), list(&["1"]));
    assert_eq!(ids("@.s =~ /ell/"), list(&[]));
    assert_eq!(ids("@.s =~ /H.*O/i"), list(&["1"]));
    // Numbers are matched through their decimal text.
    assert_eq!(ids("@.id =~ /[12]/"), list(&["1", "2"]));
    assert_eq!(
        query(STORE, "$..book[?(@.author =~ /.*REES/i)]"),
        list(&[BOOK_0])
    );
}

#[test]
fn json_literals_compare_with_document_values() {
    assert_eq!(ids("@.tags == ['a','b']"), list(&["1"]));
    assert_eq!(ids("@.tags == ['b','a']"), list(&[]));
}

#[test]
fn a_misfitting_operand_makes_the_whole_filter_false() {
    // `empty` needs a boolean: the failure rejects the element even under `!`.
    assert_eq!(ids("@.s empty 1"), list(&[]));
    assert_eq!(ids("!(@.s empty 1)"), list(&["4"]));
    // `all` never matches: Jayway reads its right side as a list it cannot build.
    assert_eq!(ids("@.tags all ['a']"), list(&[]));
}

#[test]
fn function_results_inside_filters() {
    assert_eq!(ids("@.tags.length() == 2"), list(&["1"]));
    assert_eq!(ids("@.tags.length() > 0"), list(&["1", "2"]));
}

#[test]
fn filters_apply_to_array_elements_and_to_objects() {
    assert_eq!(query("[1,2,3,4]", "$[?(@ > 2)]"), list(&["3", "4"]));
    assert_eq!(
        query(r#"{"o":{"a":1}}"#, "$.o[?(@.a == 1)]"),
        list(&["{a=1}"])
    );
    assert_eq!(query(r#"{"o":{"a":1}}"#, "$.o[?(@.a == 2)]"), list(&[]));
    assert_eq!(
        query(r#"[{"a":1},{"a":2}]"#, "$[?(1 == 1)].a"),
        list(&["1", "2"])
    );
}

#[test]
fn filters_after_deep_scan_find_matches_anywhere() {
    let json = r#"{"a":[{"b":1},{"b":2,"c":{"b":1}}]}"#;
    assert_eq!(query(json, "$..[?(@.b == 1)]"), list(&["{b=1}", "{b=1}"]));
    assert_eq!(
        query(STORE, "$..book[?(@.price <= $['expensive'])].title"),
        list(&["Sayings of the Century", "Moby Dick"])
    );
}
