//! No input may panic or exhaust the stack.

use proptest::prelude::*;
use sifr_jsonpath::{JsonPath, JsonPathError, JsonPathValue, get_value};

/// Runs `check` on a thread with a deliberately small stack (smaller than a Tokio worker's).
fn on_small_stack(check: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(check)
        .expect("thread starts");
    assert!(handle.join().is_ok(), "evaluation failed on a 1 MiB stack");
}

#[test]
fn deep_documents_and_long_paths_fit_a_small_stack() {
    on_small_stack(|| {
        let arrays = format!("{}1{}", "[".repeat(400), "]".repeat(400));
        let objects = format!("{}1{}", "{\"a\":".repeat(400), "}".repeat(400));
        for path in ["$", "$..*", "$..[0]", "$..a", "$[?(@ == $)]", "$..[?(@)]"] {
            assert!(get_value(&arrays, path).is_ok(), "{path}");
            assert!(get_value(&objects, path).is_ok(), "{path}");
        }
        let long = format!("${}", "[0]".repeat(63));
        assert!(get_value(&arrays, &long).is_ok());
        let long = format!("${}", ".a".repeat(63));
        assert!(get_value(&objects, &long).is_ok());
        let filters = format!("${}", "[?(@)]".repeat(63));
        assert!(get_value(&objects, &filters).is_ok());
        // Jayway reads the `)` closing each call as a property name, so this one fails.
        let functions = format!("${}", ".length()".repeat(32));
        assert!(get_value(&objects, &functions).is_err());
        assert!(get_value(&objects, &nested_filters(8)).is_ok());
        let groups = format!("$[?({}@.a{})]", "(".repeat(14), ")".repeat(14));
        assert!(get_value(&objects, &groups).is_ok());
    });
}

/// `$[?(@[?(...@.a...)])]` with `depth` filters.
fn nested_filters(depth: usize) -> String {
    let mut nested = String::from("@.a");
    for _ in 1..depth {
        nested = format!("@[?({nested})]");
    }
    format!("$[?({nested})]")
}

#[test]
fn limits_are_reported_as_path_errors() {
    let too_deep = |path: &str| matches!(JsonPath::compile(path), Err(JsonPathError::InvalidPath(m)) if m.starts_with("Path is nested too deeply"));
    assert!(JsonPath::compile(&format!("${}", ".a".repeat(64))).is_ok());
    assert!(matches!(
        JsonPath::compile(&format!("${}", ".a".repeat(65))),
        Err(JsonPathError::InvalidPath(m)) if m.starts_with("Path is too long")
    ));
    assert!(too_deep(&nested_filters(9)));
    assert!(too_deep(&format!(
        "$[?({}@.a{})]",
        "(".repeat(16),
        ")".repeat(16)
    )));
}

#[test]
fn huge_slice_bounds_stay_cheap() {
    assert_eq!(
        get_value("[1,2]", "$[-2147483648:2147483647]"),
        Ok(JsonPathValue::List(
            ["1", "2", "1", "2"]
                .iter()
                .map(|t| sifr_jsonpath::Item::Text(t.to_string()))
                .collect()
        ))
    );
}

fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        "[a-z\"'\\\\/ ]{0,6}".prop_map(|s| format!("{s:?}")),
        "[a-zA-Z0-9 .\\-]{0,6}",
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-c]", inner), 0..5).prop_map(|v| {
                let entries: Vec<String> = v
                    .into_iter()
                    .map(|(k, val)| format!("\"{k}\":{val}"))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

fn path_text() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        Just(".a".to_string()),
        Just(".b".to_string()),
        Just("['c']".to_string()),
        Just("['a','b']".to_string()),
        Just("[0]".to_string()),
        Just("[-1]".to_string()),
        Just("[0,1]".to_string()),
        Just("[*]".to_string()),
        Just(".*".to_string()),
        Just("..a".to_string()),
        Just("..*".to_string()),
        Just("[1:]".to_string()),
        Just("[:-1]".to_string()),
        Just("[?(@.a)]".to_string()),
        Just("[?(@.a > 1 || @.b == 'x')]".to_string()),
        Just("[?(@ in [1,'a'])]".to_string()),
        Just("[?(@.a =~ /.*x/i)]".to_string()),
        Just("[?(@.c size 2 && !(@.a empty true))]".to_string()),
        Just(".length()".to_string()),
        Just(".sum()".to_string()),
        Just(".keys()".to_string()),
        Just(".first()".to_string()),
        Just(".concat(\"x\", $.a)".to_string()),
        Just(".append(1)".to_string()),
    ];
    prop::collection::vec(step, 0..6).prop_map(|steps| format!("${}", steps.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(json in ".{0,40}", path in ".{0,40}") {
        let _ = get_value(&json, &path);
    }

    #[test]
    fn json_like_text_never_panics(
        json in "[\\[\\]{}:,\"'\\\\ 0-9.eE+\\-a-zN\\x{1a}\\x{1}é]{0,30}",
        path in "[$@.\\[\\]*?()'\"=<>!~&|/ 0-9:,\\-a-z]{0,30}",
    ) {
        let _ = get_value(&json, &path);
    }

    #[test]
    fn structured_queries_never_panic_and_compile_once_agrees(
        json in json_value(),
        path in path_text(),
    ) {
        let direct = get_value(&json, &path);
        if let Ok(compiled) = JsonPath::compile(&path) {
            prop_assert_eq!(compiled.query(&json), direct.clone());
            if !compiled.is_definite() && let Ok(value) = &direct {
                prop_assert!(matches!(value, JsonPathValue::List(_)));
            }
        }
    }
}

#[test]
fn compiled_paths_and_documents_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<JsonPath>();
    shareable::<sifr_jsonpath::Document>();
    let path = std::sync::Arc::new(JsonPath::compile("$.a[?(@ =~ /x.*/)]").expect("compiles"));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || path.query(&format!("{{\"a\":[\"x{i}\",\"y\"]}}")))
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        let result = worker.join().expect("worker finishes");
        assert_eq!(
            result,
            Ok(JsonPathValue::List(vec![sifr_jsonpath::Item::Text(
                format!("x{i}")
            )]))
        );
    }
}
