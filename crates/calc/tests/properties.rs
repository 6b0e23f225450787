//! Properties that hold for every input: the parser and evaluator never panic, and printing a
//! syntax tree gives text that parses back to the same tree.

use std::sync::Arc;

use proptest::prelude::*;
use rust_decimal::Decimal;
use sifr_calc::syntax::ast::{BinOp, Call, Expr, ExprKind, Formula, Function, NamedOption, Span};
use sifr_calc::syntax::{parse, print_formula};
use sifr_calc::{NoResources, Program, Row, Schema, Session, Value};

fn expr(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0u64..1_000_000, 0u32..8)
            .prop_map(|(m, s)| expr(ExprKind::Number(Decimal::new(m as i64, s)))),
        "[a-zA-Z0-9 ,.'()é€\n-]{0,8}".prop_map(|s| expr(ExprKind::Str(s))),
        any::<bool>().prop_map(|b| expr(ExprKind::Bool(b))),
        Just(expr(ExprKind::Null)),
        "[a-z_][a-z0-9_]{0,5}".prop_map(|n| expr(ExprKind::Token(n))),
    ]
}

fn binop() -> impl Strategy<Value = BinOp> {
    prop_oneof![
        Just(BinOp::Pow),
        Just(BinOp::Mul),
        Just(BinOp::Div),
        Just(BinOp::Add),
        Just(BinOp::Sub),
        Just(BinOp::Gt),
        Just(BinOp::Ge),
        Just(BinOp::Lt),
        Just(BinOp::Le),
        Just(BinOp::Eq),
        Just(BinOp::Ne),
    ]
}

fn call(function: Function, args: Vec<Expr>, options: Vec<(NamedOption, Expr)>) -> Expr {
    expr(ExprKind::Call(Call {
        function,
        args,
        options,
        index: None,
    }))
}

fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| expr(ExprKind::Neg(Box::new(e)))),
            (binop(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| expr(ExprKind::Binary(
                op,
                Box::new(l),
                Box::new(r)
            ))),
            ("[a-z][a-z0-9]{0,4}", inner.clone())
                .prop_map(|(n, v)| expr(ExprKind::Set(n, Box::new(v)))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, b, c)| call(
                Function::If,
                vec![a, b, c],
                vec![]
            )),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|args| call(
                Function::Concat,
                args,
                vec![]
            )),
            (inner.clone(), inner.clone(), inner.clone(), inner.clone()).prop_map(
                |(a, b, c, d)| {
                    call(
                        Function::Lookup,
                        vec![a, b, c, d],
                        vec![(NamedOption::Version, expr(ExprKind::Number(Decimal::ONE)))],
                    )
                }
            ),
            (
                inner.clone(),
                inner.clone(),
                proptest::option::of(inner.clone())
            )
                .prop_map(|(text, regex, index)| {
                    expr(ExprKind::Call(Call {
                        function: Function::Split,
                        args: vec![text, regex],
                        options: vec![],
                        index: index.map(Box::new),
                    }))
                }),
            (
                "[a-z_][a-z0-9_]{0,4}",
                prop::collection::vec(inner.clone(), 1..3),
                inner
            )
                .prop_map(|(name, args, group)| call(
                    Function::Custom(name),
                    args,
                    vec![(NamedOption::Group, group)],
                )),
        ]
    })
}

fn cleared(mut formula: Formula) -> Formula {
    formula.statements.iter_mut().for_each(Expr::clear_spans);
    formula
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_trees_parse_back_to_themselves(statements in prop::collection::vec(tree(), 1..3)) {
        let formula = Formula { statements };
        let text = print_formula(&formula);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(parsed.ignored, None, "{:?}", text);
        prop_assert_eq!(cleared(parsed.formula), formula, "{:?}", text);
    }

    #[test]
    fn no_text_makes_the_engine_panic(text in "[ -~\t\n\r éß€]{0,64}") {
        check_never_panics(&text);
    }

    #[test]
    fn no_formula_like_text_makes_the_engine_panic(
        parts in prop::collection::vec(prop_oneof![
            Just("if("), Just("concat("), Just("split("), Just("switch("), Just("coalesce("),
            Just("search("), Just("get_value("), Just("as_timestamp("), Just("convert("),
            Just("lookup("), Just("impact("), Just("#c("), Just("set :v = "), Just(":p"), Just(":v"),
            Just(")"), Just(","), Just("'a,b'"), Just("','"), Just("1"), Just("0"), Just("-"),
            Just("^"), Just("/"), Just("*"), Just("+"), Just("=="), Just("<"), Just("null"),
            Just("true"), Just("\n"), Just("["), Just("]"), Just("limit="), Just("default="),
            Just("1e300"), Just("9999999999999999999999999999"), Just("0.0000000001"),
        ], 0..24)
    ) {
        check_never_panics(&parts.concat());
    }
}

fn check_never_panics(text: &str) {
    let schema = Schema::new(["p"]);
    if let Ok(program) = Program::compile(text, &schema) {
        let session = Session::new(Arc::new(NoResources), "/acme");
        let row = [Value::Number(Decimal::new(25, 1))];
        let _ = program.evaluate(&session, Row::new(&row));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let error = Program::compile(&deep, &Schema::default()).unwrap_err();
    assert!(error.message.contains("nests too deeply"), "{error}");
    let minus = format!("{}1", "-".repeat(100_000));
    assert!(Program::compile(&minus, &Schema::default()).is_err());
}
