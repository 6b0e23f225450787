//! A recursive-descent parser with precedence climbing for binary operators.
//!
//! Precedence, tightest first: calls and atoms; prefix `-` (so `-2^2` is `(-2)^2`); `^`; `* /`;
//! `+ -`; comparisons. All binary operators associate to the left (`2^3^2` is `(2^3)^2`).
//! `set :x = e` may appear wherever an operand may and takes everything to its right.

use std::fmt;

use super::ast::{Arity, BinOp, Call, Expr, ExprKind, Formula, Function, NamedOption, Span};
use super::lexer::{Tok, Token, tokenize};
use crate::number;

/// A formula that does not parse, with the 1-based line and 0-based column of the offending
/// token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line {}:{} {}", self.line, self.column, self.message)
    }
}

/// The outcome of parsing: the formula, and where text after the last complete statement was
/// ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub formula: Formula,
    /// Text that directly follows a complete statement without a blank or line break between
    /// them (`1+2)*3`). Formulas have always been read this way, so the text is ignored rather
    /// than rejected, and reported so that tools can warn about it.
    pub ignored: Option<Span>,
}

pub fn parse(source: &str) -> Result<Parsed, SyntaxError> {
    Parser {
        source,
        tokens: tokenize(source),
        pos: 0,
        depth: 0,
    }
    .formula()
}

/// Line (1-based) and column (0-based, in characters) of a byte offset.
pub fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let mut line = 1;
    let mut line_start = 0;
    let bytes = before.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'\r' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    (line, before[line_start..].chars().count())
}

/// Deepest nesting of operands accepted: far beyond any real formula, well within the stack.
const MAX_DEPTH: usize = 200;

/// Prefix minus binds tighter than every binary operator.
const NEG_PRECEDENCE: u8 = 5;

struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].tok
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::Eof {
            self.pos += 1;
        }
        token
    }

    fn error_at(&self, token: &Token, message: impl Into<String>) -> SyntaxError {
        let (line, column) = position(self.source, token.start);
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }

    /// "unexpected X, expected Y" at the current token.
    fn unexpected(&self, expected: &str) -> SyntaxError {
        let token = self.peek();
        let message = match &token.tok {
            Tok::BadString(why) => format!("invalid string: {why}"),
            Tok::Other(c) if c.is_alphabetic() => {
                let word: String = self.source[token.start..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                format!("unknown name '{word}', expected {expected}")
            }
            _ => format!("unexpected {}, expected {expected}", self.describe(token)),
        };
        self.error_at(token, message)
    }

    fn describe(&self, token: &Token) -> String {
        match token.tok {
            Tok::Eof => "end of formula".to_owned(),
            Tok::Newline => "line break".to_owned(),
            _ => format!("'{}'", &self.source[token.start..token.end]),
        }
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, SyntaxError> {
        if self.peek().tok == tok {
            Ok(self.next())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn formula(mut self) -> Result<Parsed, SyntaxError> {
        self.skip_newlines();
        if self.peek().tok == Tok::Eof {
            return Err(self.error_at(self.peek(), "the formula is empty"));
        }
        let mut statements = Vec::new();
        let mut ignored = None;
        loop {
            statements.push(self.expr(0)?);
            let token = self.peek();
            match token.tok {
                Tok::Eof => break,
                Tok::Newline => {
                    self.skip_newlines();
                    if self.peek().tok == Tok::Eof {
                        break;
                    }
                }
                _ if token.spaced => {
                    return Err(self.unexpected("an operator or the end of the line"));
                }
                _ => {
                    ignored = Some(Span {
                        start: token.start,
                        end: self.source.len(),
                    });
                    break;
                }
            }
        }
        Ok(Parsed {
            formula: Formula { statements },
            ignored,
        })
    }

    fn skip_newlines(&mut self) {
        while self.peek().tok == Tok::Newline {
            self.next();
        }
    }

    fn expr(&mut self, min_precedence: u8) -> Result<Expr, SyntaxError> {
        self.operand_expr(min_precedence).map(|(expr, _)| expr)
    }

    /// An expression and its outer span, which includes parentheses written around it. A
    /// construct's own span leaves its parentheses out (they are its parent's text), so that
    /// `(set :a = 2) + :a` is recorded as `set :a = 2`, while the sum covers `(set :a = 2) + :a`.
    fn operand_expr(&mut self, min_precedence: u8) -> Result<(Expr, Span), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.peek(), "the formula nests too deeply"));
        }
        let (mut lhs, mut outer) = self.unary()?;
        while let Some(op) = binary_operator(&self.peek().tok) {
            if op.precedence() < min_precedence {
                break;
            }
            self.next();
            let (rhs, rhs_outer) = self.operand_expr(op.precedence() + 1)?;
            outer = Span {
                start: outer.start,
                end: rhs_outer.end,
            };
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span: outer,
            };
        }
        self.depth -= 1;
        Ok((lhs, outer))
    }

    fn unary(&mut self) -> Result<(Expr, Span), SyntaxError> {
        if self.peek().tok == Tok::Minus {
            let minus = self.next();
            let (inner, inner_outer) = self.operand_expr(NEG_PRECEDENCE)?;
            let span = Span {
                start: minus.start,
                end: inner_outer.end,
            };
            return Ok((
                Expr {
                    kind: ExprKind::Neg(Box::new(inner)),
                    span,
                },
                span,
            ));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<(Expr, Span), SyntaxError> {
        let token = self.peek().clone();
        let span = Span {
            start: token.start,
            end: token.end,
        };
        let kind = match token.tok {
            Tok::Number(text) => {
                let value = number::parse_literal(&text)
                    .map_err(|e| self.error_at(&self.tokens[self.pos], e.to_string()))?;
                ExprKind::Number(value)
            }
            Tok::Str(text) => ExprKind::Str(text),
            Tok::Bool(value) => ExprKind::Bool(value),
            Tok::Null => ExprKind::Null,
            Tok::Token(name) => ExprKind::Token(name),
            Tok::LParen => {
                self.next();
                let inner = self.expr(0)?;
                let close = self.expect(Tok::RParen, "')'")?;
                let outer = Span {
                    start: token.start,
                    end: close.end,
                };
                return Ok((inner, outer));
            }
            Tok::Set => return self.set().map(with_span),
            Tok::Function(function) => return self.call(function).map(with_span),
            Tok::Custom(name) => return self.call(Function::Custom(name)).map(with_span),
            Tok::Source => {
                return Err(self.error_at(&token, "'source' is a reserved word"));
            }
            _ => return Err(self.unexpected("an expression")),
        };
        self.next();
        Ok((Expr { kind, span }, span))
    }

    fn set(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.next().start;
        let name = match &self.peek().tok {
            Tok::Token(name) => name.clone(),
            _ => return Err(self.unexpected("a variable name such as :total")),
        };
        self.next();
        self.expect(Tok::Assign, "'='")?;
        let (value, value_outer) = self.operand_expr(0)?;
        let span = Span {
            start,
            end: value_outer.end,
        };
        Ok(Expr {
            kind: ExprKind::Set(name, Box::new(value)),
            span,
        })
    }

    fn call(&mut self, function: Function) -> Result<Expr, SyntaxError> {
        let start = self.next().start;
        self.expect(Tok::LParen, &format!("'(' after {}", function.name()))?;
        let mut args = vec![self.expr(0)?];
        match function.arity() {
            Arity::Exactly(count) => {
                while args.len() < count {
                    if self.peek().tok != Tok::Comma {
                        return Err(self.unexpected(&format!(
                            "',' and argument {} of {}, which takes {count}",
                            args.len() + 1,
                            function.name()
                        )));
                    }
                    self.next();
                    args.push(self.expr(0)?);
                }
            }
            Arity::AtLeast(count) => {
                while self.peek().tok == Tok::Comma && !self.option_follows() {
                    self.next();
                    args.push(self.expr(0)?);
                }
                if args.len() < count {
                    return Err(self.unexpected(&format!(
                        "',' and at least {count} arguments for {}",
                        function.name()
                    )));
                }
            }
        }
        let mut options = Vec::new();
        while self.peek().tok == Tok::Comma {
            self.next();
            let allowed = function.options();
            let option = match self.peek().tok {
                Tok::NamedOption(option) if allowed.contains(&option) => option,
                _ => return Err(self.unexpected(&expected_options(&function, allowed))),
            };
            self.next();
            self.expect(Tok::Assign, &format!("'=' after {}", option.name()))?;
            options.push((option, self.expr(0)?));
        }
        let mut end = self.expect(Tok::RParen, "')'")?.end;
        let mut index = None;
        if function == Function::Split && self.peek().tok == Tok::LBracket {
            self.next();
            index = Some(Box::new(self.expr(0)?));
            end = self.expect(Tok::RBracket, "']'")?.end;
        }
        Ok(Expr {
            kind: ExprKind::Call(Call {
                function,
                args,
                options,
                index,
            }),
            span: Span { start, end },
        })
    }

    /// `, name=` follows: the positional arguments of a variadic call end here.
    fn option_follows(&self) -> bool {
        matches!(self.peek_at(1), Tok::NamedOption(_)) && *self.peek_at(2) == Tok::Assign
    }
}

fn with_span(expr: Expr) -> (Expr, Span) {
    let span = expr.span;
    (expr, span)
}

fn expected_options(function: &Function, allowed: &[NamedOption]) -> String {
    if allowed.is_empty() {
        return format!("')': {} takes no named options", function.name());
    }
    let names: Vec<String> = allowed.iter().map(|o| format!("{}=", o.name())).collect();
    format!(
        "one of {} (the options of {})",
        names.join(", "),
        function.name()
    )
}

fn binary_operator(tok: &Tok) -> Option<BinOp> {
    Some(match tok {
        Tok::Caret => BinOp::Pow,
        Tok::Star => BinOp::Mul,
        Tok::Slash => BinOp::Div,
        Tok::Plus => BinOp::Add,
        Tok::Minus => BinOp::Sub,
        Tok::Gt => BinOp::Gt,
        Tok::Ge => BinOp::Ge,
        Tok::Lt => BinOp::Lt,
        Tok::Le => BinOp::Le,
        Tok::EqEq => BinOp::Eq,
        Tok::Ne => BinOp::Ne,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(source: &str) -> String {
        parse(source).unwrap_err().to_string()
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        for (source, prefix) in [
            ("1+2+", "Line 1:4 "),
            ("/3", "Line 1:0 "),
            ("1+-/2", "Line 1:3 "),
            (".5", "Line 1:0 "),
            ("2**3", "Line 1:2 "),
            ("(1+2", "Line 1:4 "),
            ("\"abc\"", "Line 1:0 "),
            ("IF(true,\n1,2)", "Line 1:8 "),
            ("ref()", "Line 1:4 "),
            ("#c()", "Line 1:3 "),
            ("#1abc(1)", "Line 1:0 "),
            ("convert(1,'m','L','length')", "Line 1:18 "),
            ("impact('one','two','three',limit=1)", "Line 1:27 "),
            ("source", "Line 1:0 "),
            ("1 2", "Line 1:2 "),
            ("1 + 2 )", "Line 1:6 "),
            ("   ", "Line 1:3 "),
            ("1\n2 +", "Line 2:3 "),
        ] {
            let message = error(source);
            assert!(message.starts_with(prefix), "{source:?}: {message}");
        }
    }

    #[test]
    fn trailing_text_without_a_blank_is_ignored_and_reported() {
        let parsed = parse("1+2)*3").unwrap();
        assert_eq!(parsed.formula.statements.len(), 1);
        assert_eq!(parsed.ignored, Some(Span { start: 3, end: 6 }));
        assert_eq!(parse("1+2").unwrap().ignored, None);
    }

    #[test]
    fn blank_lines_and_trailing_newlines_separate_statements() {
        assert_eq!(
            parse("set :a = 1\n\n:a\n")
                .unwrap()
                .formula
                .statements
                .len(),
            2
        );
    }

    #[test]
    fn unknown_function_names_are_named() {
        assert!(
            error("abc(1)").contains("unknown name 'abc'"),
            "{}",
            error("abc(1)")
        );
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(position("ab\ncd", 4), (2, 1));
        assert_eq!(position("ab\r\ncd", 5), (2, 1));
        assert_eq!(position("é+x", 3), (1, 2));
    }
}
