//! Every `get_value` vector of the calculator conformance corpus, at the level this crate
//! answers (the caller re-types texts: `"5.304733389"` becomes the number 5.304733389).

use sifr_jsonpath::{Item, JsonPathValue, get_value};

use crate::support::{error, list, object, query, scalar};

/// The document of SIF's GetValueTest.
const COMPONENTS: &str = r#"{"name": "co2e","attributes": {"unit": "kg","isTest":true},"components": [{"key": "co2","value": 5.304733389,"type": "pollutant","label": null,"description": ""},{"key": "ipcc 2016 ar4 gwp 100","value": 4.310182088,"type": "impactFactor","label": "","description": ""}]}"#;

#[test]
fn getvalue_01_top_level_string() {
    assert_eq!(query(COMPONENTS, "$.name"), scalar("co2e"));
}

#[test]
fn getvalue_03_nested_string() {
    assert_eq!(query(COMPONENTS, "$.attributes.unit"), scalar("kg"));
}

#[test]
fn getvalue_04_slice_then_property_is_a_list() {
    assert_eq!(
        query(COMPONENTS, "$.components[:1].value"),
        list(&["5.304733389"])
    );
}

#[test]
fn getvalue_06_boolean() {
    assert_eq!(query(COMPONENTS, "$.attributes.isTest"), scalar("true"));
}

#[test]
fn getvalue_07_missing_key_under_wildcard_is_an_empty_list() {
    assert_eq!(query(COMPONENTS, "$.components[*].missingKey"), list(&[]));
}

#[test]
fn getvalue_err_json_1_unexpected_character() {
    assert_eq!(
        error("{[,}", "$.name"),
        "Unable to parse json: Unexpected character ([) at position 1."
    );
}

#[test]
fn getvalue_err_json_3_unexpected_end() {
    assert_eq!(
        error("{", "$.name"),
        "Unable to parse json: Unexpected End Of File position 0: null"
    );
}

#[test]
fn getvalue_err_json_4_closing_brace_first() {
    assert_eq!(
        error("}", "$.name"),
        "Unable to parse json: Unexpected character (}) at position 0."
    );
}

#[test]
fn getvalue_err_path_1_missing_definite_path() {
    assert_eq!(
        error(COMPONENTS, "$.noneExistingPath"),
        "No results for path: $['noneExistingPath']"
    );
}

#[test]
fn getvalue_err_path_3_path_without_root_is_a_property() {
    assert_eq!(
        error(COMPONENTS, "#invalidPath"),
        "No results for path: $['#invalidPath']"
    );
}

#[test]
fn getvalue_d_01_integer() {
    assert_eq!(query(r#"{"a":1}"#, "$.a"), scalar("1"));
}

#[test]
fn getvalue_d_03_boolean() {
    assert_eq!(query(r#"{"a":true}"#, "$.a"), scalar("true"));
}

#[test]
fn getvalue_d_04_decimal_prints_as_a_java_double() {
    assert_eq!(query(r#"{"a":1.50}"#, "$.a"), scalar("1.5"));
}

#[test]
fn getvalue_d_06_array_index() {
    assert_eq!(query("[1,2,3]", "$[1]"), scalar("2"));
}

#[test]
fn getvalue_d_07_wildcard_is_a_list() {
    assert_eq!(query("[1,2,3]", "$[*]"), list(&["1", "2", "3"]));
}

#[test]
fn getvalue_d_09_filter() {
    assert_eq!(
        query(r#"{"a":[{"k":"x"},{"k":"y"}]}"#, "$.a[?(@.k=='y')].k"),
        list(&["y"])
    );
}

#[test]
fn getvalue_d_obj_01_object_renders_as_java_map() {
    assert_eq!(query(r#"{"a":{"b":1}}"#, "$.a"), object("{b=1}"));
}

#[test]
fn getvalue_d_err_01_missing_property() {
    assert_eq!(error(r#"{"a":1}"#, "$.b"), "No results for path: $['b']");
}

#[test]
fn caml_feat_01_first_match_title() {
    // The JSON text CAML hands to GET_VALUE in that vector.
    let caml = r#"[{"title":"Computer terminals and other computer peripheral equipment manufacturing","naicsCode":"334118","beaCode":"334118","confidence":0.663,"co2ePerDollar":0.199},{"title":"Business support services","naicsCode":"561410","beaCode":"561400","confidence":0.524,"co2ePerDollar":0.14300000000000002}]"#;
    assert_eq!(
        query(caml, "$[0].title"),
        scalar("Computer terminals and other computer peripheral equipment manufacturing")
    );
    assert_eq!(
        query(caml, "$[1].co2ePerDollar"),
        scalar("0.14300000000000002")
    );
}

#[test]
fn json_null_is_a_null_scalar_and_list_item() {
    assert_eq!(
        get_value(COMPONENTS, "$.components[0].label"),
        Ok(JsonPathValue::Scalar(Item::Null))
    );
    assert_eq!(
        get_value(COMPONENTS, "$.components[*].label"),
        Ok(JsonPathValue::List(vec![
            Item::Null,
            Item::Text(String::new())
        ]))
    );
}
