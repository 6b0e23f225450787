//! Argument substitution for calculation calls.
//!
//! A call `#name(a, b)` evaluates the calculation's formula with every reference to a declared
//! parameter replaced by the argument's text: quoted for `string` parameters, as written for
//! `number` and `boolean` ones, and empty for other types. Replacement works on whole
//! `:name` tokens, so `:a` never rewrites part of `:ab`, and quotes inside string arguments are
//! escaped.

use crate::resources::Calculation;
use crate::syntax::{Tok, tokenize};

pub(crate) fn substitute(calculation: &Calculation, args: &[String]) -> String {
    let formula = calculation.formula.as_str();
    let mut out = String::with_capacity(formula.len() + 16);
    let mut copied = 0;
    for token in tokenize(formula) {
        let Tok::Token(name) = &token.tok else {
            continue;
        };
        let Some(position) = calculation.parameters.iter().position(|p| &p.key == name) else {
            continue;
        };
        out.push_str(&formula[copied..token.start]);
        let arg = &args[position];
        match calculation.parameters[position].kind.as_str() {
            "string" => {
                out.push('\'');
                out.push_str(&arg.replace('\'', "\\'"));
                out.push('\'');
            }
            "number" | "boolean" => out.push_str(arg),
            _ => {}
        }
        copied = token.end;
    }
    out.push_str(&formula[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::CalculationParameter;

    fn calculation(formula: &str, parameters: &[(&str, &str)]) -> Calculation {
        Calculation {
            id: "c".into(),
            name: "c".into(),
            version: 1,
            formula: formula.into(),
            parameters: parameters
                .iter()
                .map(|(key, kind)| CalculationParameter {
                    key: (*key).into(),
                    kind: (*kind).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn replaces_whole_tokens_only() {
        let c = calculation(":a+:ab", &[("a", "number"), ("ab", "number")]);
        assert_eq!(substitute(&c, &["1".into(), "2".into()]), "1+2");
    }

    #[test]
    fn quotes_strings_and_escapes_quotes() {
        let c = calculation("concat(:s,:n)", &[("s", "string"), ("n", "number")]);
        assert_eq!(
            substitute(&c, &["it's $1".into(), "5".into()]),
            r"concat('it\'s $1',5)"
        );
    }

    #[test]
    fn leaves_undeclared_tokens_alone() {
        let c = calculation(":x*:caller", &[("x", "number")]);
        assert_eq!(substitute(&c, &["3".into()]), "3*:caller");
    }
}
