//! Basic path forms, indexes, slices, multiple keys and deep scan.

use sifr_jsonpath::{Item, JsonPath, JsonPathValue};

use crate::support::{BOOK_0, BOOK_1, BOOK_2, BOOK_3, STORE, list, object, query, scalar, text};

#[test]
fn dot_and_bracket_notations_agree() {
    for path in [
        "$.store.bicycle.color",
        "$['store']['bicycle']['color']",
        r#"$["store"]["bicycle"]["color"]"#,
        "$.store['bicycle'].color",
        "store.bicycle.color",
        "@.store.bicycle.color",
    ] {
        assert_eq!(query(STORE, path), scalar("red"), "{path}");
    }
}

#[test]
fn root_alone_returns_the_document() {
    assert_eq!(query("[1,2]", "$"), list(&["1", "2"]));
    assert_eq!(query(r#"{"a":1}"#, "$"), object("{a=1}"));
    assert_eq!(query(r#""text""#, "$"), scalar("text"));
}

#[test]
fn quoted_keys_may_hold_any_character() {
    let json = r#"{"a b":1,"it's":2,"x.y":3,"[k]":4}"#;
    assert_eq!(query(json, "$['a b']"), scalar("1"));
    assert_eq!(query(json, r"$['it\'s']"), scalar("2"));
    assert_eq!(query(json, r#"$["it's"]"#), scalar("2"));
    assert_eq!(query(json, "$['x.y']"), scalar("3"));
    assert_eq!(query(json, "$['[k]']"), scalar("4"));
}

#[test]
fn indexes_count_from_either_end() {
    let json = "[10,11,12,13]";
    assert_eq!(query(json, "$[0]"), scalar("10"));
    assert_eq!(query(json, "$[-1]"), scalar("13"));
    assert_eq!(query(json, "$[-4]"), scalar("10"));
    assert_eq!(query(json, "$[ 2 ]"), scalar("12"));
}

#[test]
fn several_indexes_are_indefinite_and_skip_missing_ones() {
    let json = "[10,11,12,13]";
    assert_eq!(query(json, "$[0,2]"), list(&["10", "12"]));
    assert_eq!(query(json, "$[3, 0]"), list(&["13", "10"]));
    assert_eq!(query(json, "$[1,9]"), list(&["11"]));
}

#[test]
fn definite_path_landing_on_an_array_is_a_list() {
    assert_eq!(
        query(r#"{"a":[1,"x",null]}"#, "$.a"),
        JsonPathValue::List(vec![text("1"), text("x"), Item::Null])
    );
}

#[test]
fn slices_follow_jayway() {
    let json = "[0,1,2,3,4]";
    assert_eq!(query(json, "$[1:3]"), list(&["1", "2"]));
    assert_eq!(query(json, "$[:2]"), list(&["0", "1"]));
    assert_eq!(query(json, "$[-2:]"), list(&["3", "4"]));
    assert_eq!(query(json, "$[3:]"), list(&["3", "4"]));
    assert_eq!(query(json, "$[:-2]"), list(&["0", "1", "2"]));
    assert_eq!(query(json, "$[0:100]"), list(&["0", "1", "2", "3", "4"]));
    assert_eq!(query(json, "$[-100:]"), list(&["0", "1", "2", "3", "4"]));
    assert_eq!(query(json, "$[9:]"), list(&[]));
    assert_eq!(query(json, "$[3:1]"), list(&[]));
    // A third (step) part is ignored.
    assert_eq!(query(json, "$[0:4:2]"), list(&["0", "1", "2", "3"]));
    assert_eq!(query("[]", "$[:1]"), list(&[]));
}

#[test]
fn slices_with_a_negative_end_keep_jayway_arithmetic() {
    let json = "[0,1,2,3,4]";
    // `[from:to]` only clamps `to` to the length, so a negative `to` selects nothing...
    assert_eq!(query(json, "$[1:-1]"), list(&[]));
    // ...unless `from` is negative too: the indexes between are read from the end.
    assert_eq!(query(json, "$[-3:-1]"), list(&["2", "3"]));
    // Indexes below -length address nothing, and the positive ones repeat.
    assert_eq!(
        query(json, "$[-7:2]"),
        list(&["0", "1", "2", "3", "4", "0", "1"])
    );
}

#[test]
fn wildcards_cover_objects_and_arrays() {
    assert_eq!(
        query(r#"{"a":1,"b":[2],"c":{"d":3}}"#, "$.*"),
        list(&["1", "[2]", "{d=3}"])
    );
    assert_eq!(query(r#"{"a":1,"b":2}"#, "$[*]"), list(&["1", "2"]));
    assert_eq!(
        query(STORE, "$.store.book[*].author"),
        list(&[
            "Nigel Rees",
            "Evelyn Waugh",
            "Herman Melville",
            "J. R. R. Tolkien"
        ])
    );
    assert_eq!(
        query(STORE, "$.store.book.*.price"),
        list(&["8.95", "12.99", "8.99", "22.99"])
    );
    // A wildcard on a scalar at the end of a path yields nothing.
    assert_eq!(query(r#"{"a":1}"#, "$.a[*]"), list(&[]));
}

#[test]
fn missing_properties_under_indefinite_steps_are_skipped() {
    assert_eq!(
        query(STORE, "$.store.book[*].isbn"),
        list(&["0-553-21311-3", "0-395-19395-8"])
    );
    assert_eq!(
        query(r#"[{"a":{"b":1}},{"c":2},3]"#, "$[*].a.b"),
        list(&["1"])
    );
}

#[test]
fn several_keys_at_the_end_merge_into_one_object() {
    let json = r#"{"a":1,"b":2,"c":3}"#;
    assert_eq!(query(json, "$['a','b']"), object("{a=1, b=2}"));
    assert_eq!(query(json, "$['c','a']"), object("{c=3, a=1}"));
    assert_eq!(query(json, "$['a','zz']"), object("{a=1}"));
    assert_eq!(
        query(STORE, "$.store.book[*]['author','price']"),
        list(&[
            "{author=Nigel Rees, price=8.95}",
            "{author=Evelyn Waugh, price=12.99}",
            "{author=Herman Melville, price=8.99}",
            "{author=J. R. R. Tolkien, price=22.99}",
        ])
    );
    assert!(JsonPath::compile("$['a','b']").is_ok_and(|p| p.is_definite()));
}

#[test]
fn several_keys_in_the_middle_iterate() {
    let json = r#"{"a":{"v":1},"b":{"v":2},"c":{"w":3}}"#;
    assert_eq!(query(json, "$['a','b','c'].v"), list(&["1", "2"]));
    assert!(JsonPath::compile("$['a','b'].v").is_ok_and(|p| !p.is_definite()));
}

#[test]
fn deep_scan_visits_depth_first() {
    let json = r#"{"x":{"name":"n1","y":[{"name":"n2"},{"z":{"name":"n3"}}]},"name":"n0"}"#;
    assert_eq!(query(json, "$..name"), list(&["n0", "n1", "n2", "n3"]));
    assert_eq!(query(json, "$.x..name"), list(&["n1", "n2", "n3"]));
    assert_eq!(query(json, "$..y[1]"), list(&["{z={name=n3}}"]));
    assert_eq!(query(json, "$..z.name"), list(&["n3"]));
    assert_eq!(query(json, "$..missing"), list(&[]));
}

#[test]
fn deep_scan_over_the_store() {
    assert_eq!(
        query(STORE, "$..author"),
        list(&[
            "Nigel Rees",
            "Evelyn Waugh",
            "Herman Melville",
            "J. R. R. Tolkien"
        ])
    );
    assert_eq!(
        query(STORE, "$.store..price"),
        list(&["8.95", "12.99", "8.99", "22.99", "19.95"])
    );
    assert_eq!(query(STORE, "$..book[2]"), list(&[BOOK_2]));
    assert_eq!(query(STORE, "$..book[-2]"), list(&[BOOK_2]));
    assert_eq!(query(STORE, "$..book[0,1]"), list(&[BOOK_0, BOOK_1]));
    assert_eq!(query(STORE, "$..book[:2]"), list(&[BOOK_0, BOOK_1]));
    assert_eq!(query(STORE, "$..book[-2:]"), list(&[BOOK_2, BOOK_3]));
    assert_eq!(
        query(STORE, "$..['color','price']"),
        list(&["{color=red, price=19.95}"])
    );
}

#[test]
fn deep_scan_wildcard_lists_every_value_parent_first() {
    let json = r#"{"a":{"b":[1,{"c":2}]},"d":3}"#;
    assert_eq!(
        query(json, "$..*"),
        list(&["{b=[1,{\"c\":2}]}", "3", "[1,{\"c\":2}]", "1", "{c=2}", "2"])
    );
}

#[test]
fn deep_scan_index_followed_by_more_path_reads_every_element() {
    // Jayway applies the step after `..[0]` to all elements of each array it finds.
    assert_eq!(
        query(STORE, "$..[0].price"),
        list(&["8.95", "12.99", "8.99", "22.99"])
    );
    assert_eq!(
        query(r#"{"a":[[1,2],[3]]}"#, "$..[0]"),
        list(&["[1,2]", "1", "3"])
    );
}

#[test]
fn text_after_a_final_bracket_is_ignored() {
    assert_eq!(query(r#"{"a":[5]}"#, "$.a[0]x"), scalar("5"));
}

#[test]
fn definiteness_is_reported() {
    let definite = |p: &str| JsonPath::compile(p).map(|p| p.is_definite()).ok();
    assert_eq!(definite("$.a.b[0]"), Some(true));
    assert_eq!(definite("$..a"), Some(false));
    assert_eq!(definite("$.a[*]"), Some(false));
    assert_eq!(definite("$.a.*"), Some(false));
    assert_eq!(definite("$.a[?(@.b)]"), Some(false));
    assert_eq!(definite("$.a[0:1]"), Some(false));
    assert_eq!(definite("$.a[0,1]"), Some(false));
}

#[test]
fn compiled_paths_print_jayway_normalised_text() {
    let text = |p: &str| JsonPath::compile(p).map(|p| p.to_string()).ok();
    assert_eq!(text("a.b[0]").as_deref(), Some("$['a']['b'][0]"));
    assert_eq!(text("$..x[*][1:2]").as_deref(), Some("$..['x'][*][1:2]"));
    assert_eq!(
        text("$.a[?(@.b == 1)].c").as_deref(),
        Some("$['a'][?]['c']")
    );
    assert_eq!(text("$..x.sum()").as_deref(), Some("$.sum(...)"));
}

#[test]
fn compiled_path_is_reusable_across_documents() {
    let path = JsonPath::compile("$.a[?(@ > 1)]").expect("path compiles");
    assert_eq!(path.query("{\"a\":[1,2,3]}"), Ok(list(&["2", "3"])));
    assert_eq!(path.query("{\"a\":[0]}"), Ok(list(&[])));
    let document = sifr_jsonpath::Document::parse("{\"a\":[5]}").expect("document parses");
    assert_eq!(path.read(&document), Ok(list(&["5"])));
}
