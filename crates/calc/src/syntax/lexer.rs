//! Tokens of the formula language.
//!
//! Keywords are matched case-insensitively by longest match at the current position (there is no
//! identifier token, so `true1` is `true` followed by `1`). Blanks and tabs separate tokens and
//! are otherwise skipped; each token remembers whether blanks preceded it.

use super::ast::{Function, NamedOption};

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Function(Function),
    NamedOption(NamedOption),
    Set,
    /// `SOURCE`: reserved, never valid.
    Source,
    Bool(bool),
    Null,
    /// `:name` — a parameter or variable reference.
    Token(String),
    /// `#name` — a call of a stored calculation.
    Custom(String),
    Str(String),
    Number(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Gt,
    Ge,
    Lt,
    Le,
    EqEq,
    Ne,
    Assign,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Newline,
    Eof,
    /// Any character the language does not use; the parser reports it where it appears.
    Other(char),
    /// A backslash escape a string literal does not allow, or a string left open.
    BadString(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
    /// Blanks (spaces or tabs) directly before this token.
    pub spaced: bool,
}

/// Function names, option names and the literal keywords, all matched case-insensitively.
const KEYWORDS: &[(&str, Keyword)] = &[
    ("AS_TIMESTAMP", Keyword::Function(Function::AsTimestamp)),
    (
        "ASSIGN_TO_GROUP",
        Keyword::Function(Function::AssignToGroup),
    ),
    ("GET_VALUE", Keyword::Function(Function::GetValue)),
    ("COALESCE", Keyword::Function(Function::Coalesce)),
    ("CONCAT", Keyword::Function(Function::Concat)),
    ("CONVERT", Keyword::Function(Function::Convert)),
    ("IF", Keyword::Function(Function::If)),
    ("IMPACT", Keyword::Function(Function::Impact)),
    ("LOOKUP", Keyword::Function(Function::Lookup)),
    ("LOWERCASE", Keyword::Function(Function::Lowercase)),
    ("REF", Keyword::Function(Function::Ref)),
    ("CAML", Keyword::Function(Function::Caml)),
    ("SET", Keyword::Set),
    ("SOURCE", Keyword::Source),
    ("SPLIT", Keyword::Function(Function::Split)),
    ("SWITCH", Keyword::Function(Function::Switch)),
    ("UPPERCASE", Keyword::Function(Function::Uppercase)),
    ("SEARCH", Keyword::Function(Function::Search)),
    ("DEFAULT", Keyword::Option(NamedOption::Default)),
    ("GROUP", Keyword::Option(NamedOption::Group)),
    ("IGNORECASE", Keyword::Option(NamedOption::IgnoreCase)),
    ("LOCALE", Keyword::Option(NamedOption::Locale)),
    ("QUALITYKIND", Keyword::Option(NamedOption::QuantityKind)),
    // The documented spelling, accepted as well.
    ("QUANTITYKIND", Keyword::Option(NamedOption::QuantityKind)),
    ("TENANT", Keyword::Option(NamedOption::Tenant)),
    ("TIMEZONE", Keyword::Option(NamedOption::Timezone)),
    ("VERSION", Keyword::Option(NamedOption::Version)),
    ("VERSIONASAT", Keyword::Option(NamedOption::VersionAsAt)),
    ("ROUNDDOWNTO", Keyword::Option(NamedOption::RoundDownTo)),
    ("LIMIT", Keyword::Option(NamedOption::Limit)),
    ("TRUE", Keyword::Bool(true)),
    ("FALSE", Keyword::Bool(false)),
    ("NULL", Keyword::Null),
];

#[derive(Clone)]
enum Keyword {
    Function(Function),
    Option(NamedOption),
    Set,
    Source,
    Bool(bool),
    Null,
}

/// Splits a formula into tokens, ending with `Eof`. Never fails: characters and strings the
/// language does not allow become tokens the parser rejects with their position.
pub fn tokenize(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut spaced = false;
    while pos < bytes.len() {
        let start = pos;
        let b = bytes[pos];
        let tok = match b {
            b' ' | b'\t' => {
                pos += 1;
                spaced = true;
                continue;
            }
            b'\n' => {
                pos += 1;
                Tok::Newline
            }
            b'\r' => {
                pos += if bytes.get(pos + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                Tok::Newline
            }
            b'+' => single(&mut pos, Tok::Plus),
            b'-' => single(&mut pos, Tok::Minus),
            b'*' => single(&mut pos, Tok::Star),
            b'/' => single(&mut pos, Tok::Slash),
            b'^' => single(&mut pos, Tok::Caret),
            b'(' => single(&mut pos, Tok::LParen),
            b')' => single(&mut pos, Tok::RParen),
            b'[' => single(&mut pos, Tok::LBracket),
            b']' => single(&mut pos, Tok::RBracket),
            b',' => single(&mut pos, Tok::Comma),
            b'>' => pair(bytes, &mut pos, Tok::Gt, Tok::Ge),
            b'<' => pair(bytes, &mut pos, Tok::Lt, Tok::Le),
            b'=' => pair(bytes, &mut pos, Tok::Assign, Tok::EqEq),
            b'!' if bytes.get(pos + 1) == Some(&b'=') => {
                pos += 2;
                Tok::Ne
            }
            b'\'' => string(source, &mut pos),
            b':' if bytes.get(pos + 1).is_some_and(|&c| is_token_start(c)) => {
                token_name(source, &mut pos)
            }
            b'#' if bytes
                .get(pos + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_') =>
            {
                pos += 1;
                let name_start = pos;
                while bytes
                    .get(pos)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    pos += 1;
                }
                Tok::Custom(source[name_start..pos].to_owned())
            }
            b'0'..=b'9' => number(source, &mut pos),
            _ => match keyword(&source[pos..]) {
                Some((len, kw)) => {
                    pos += len;
                    match kw {
                        Keyword::Function(f) => Tok::Function(f),
                        Keyword::Option(o) => Tok::NamedOption(o),
                        Keyword::Set => Tok::Set,
                        Keyword::Source => Tok::Source,
                        Keyword::Bool(v) => Tok::Bool(v),
                        Keyword::Null => Tok::Null,
                    }
                }
                None => {
                    let c = source[pos..].chars().next().unwrap_or('\u{fffd}');
                    pos += c.len_utf8();
                    Tok::Other(c)
                }
            },
        };
        tokens.push(Token {
            tok,
            start,
            end: pos,
            spaced,
        });
        spaced = false;
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: bytes.len(),
        end: bytes.len(),
        spaced,
    });
    tokens
}

fn single(pos: &mut usize, tok: Tok) -> Tok {
    *pos += 1;
    tok
}

/// `>` or `>=` (likewise `<`, `=`/`==`).
fn pair(bytes: &[u8], pos: &mut usize, one: Tok, with_equals: Tok) -> Tok {
    if bytes.get(*pos + 1) == Some(&b'=') {
        *pos += 2;
        with_equals
    } else {
        *pos += 1;
        one
    }
}

fn keyword(rest: &str) -> Option<(usize, Keyword)> {
    KEYWORDS
        .iter()
        .filter(|(word, _)| {
            rest.len() >= word.len()
                && rest.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
        })
        .max_by_key(|(word, _)| word.len())
        .map(|(word, kw)| (word.len(), kw.clone()))
}

fn is_token_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_token_end(c: u8) -> bool {
    is_token_start(c) || c == b':' || c == b'#'
}

/// `:name`: a name character, then name characters, `:`, `#` and single inner blanks; the name
/// never ends with a blank (`:my param` is one token, `:a + 1` is `:a` then `+ 1`).
fn token_name(source: &str, pos: &mut usize) -> Tok {
    let bytes = source.as_bytes();
    let name_start = *pos + 1;
    let mut end = name_start + 1;
    let mut scan = end;
    while let Some(&c) = bytes.get(scan) {
        if is_token_end(c) {
            scan += 1;
            end = scan;
        } else if c == b' ' {
            scan += 1;
        } else {
            break;
        }
    }
    *pos = end;
    Tok::Token(source[name_start..end].to_owned())
}

/// `'...'`: `\'` stands for a quote; `\\`, `\(` and `\)` are kept as written; any other
/// backslash, or a missing closing quote, makes the literal invalid.
fn string(source: &str, pos: &mut usize) -> Tok {
    let start = *pos;
    let mut value = String::new();
    let mut chars = source[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\'' => {
                *pos = start + 1 + offset + 1;
                return Tok::Str(value);
            }
            '\\' => match chars.next() {
                Some((_, '\'')) => value.push('\''),
                Some((_, escaped @ ('\\' | '(' | ')'))) => {
                    value.push('\\');
                    value.push(escaped);
                }
                other => {
                    *pos = start
                        + 1
                        + other.map_or(source.len() - start - 1, |(o, c)| o + c.len_utf8());
                    return Tok::BadString(
                        "a backslash in a string may only precede ', \\, ( or )".to_owned(),
                    );
                }
            },
            c => value.push(c),
        }
    }
    *pos = source.len();
    Tok::BadString("the string is not closed with '".to_owned())
}

/// `12`, `1.5`, `1e3`, `2.5E-3`. A point must be followed by digits and an exponent marker by
/// (optionally signed) digits; otherwise they are not part of the number.
fn number(source: &str, pos: &mut usize) -> Tok {
    let bytes = source.as_bytes();
    let start = *pos;
    let digits = |from: usize| {
        let mut at = from;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    let mut end = digits(start);
    if bytes.get(end) == Some(&b'.') {
        let after = digits(end + 1);
        if after > end + 1 {
            end = after;
        }
    }
    if let Some(b'e' | b'E') = bytes.get(end) {
        let mut at = end + 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        let after = digits(at);
        if after > at {
            end = after;
        }
    }
    *pos = end;
    Tok::Number(source[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(source: &str) -> Vec<Tok> {
        tokenize(source).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn keywords_are_longest_match_and_case_insensitive() {
        assert_eq!(
            toks("iF true1"),
            vec![
                Tok::Function(Function::If),
                Tok::Bool(true),
                Tok::Number("1".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("versionAsAt"),
            vec![Tok::NamedOption(NamedOption::VersionAsAt), Tok::Eof]
        );
    }

    #[test]
    fn token_names_allow_inner_blanks() {
        assert_eq!(
            toks(":my param"),
            vec![Tok::Token("my param".into()), Tok::Eof]
        );
        assert_eq!(toks(":a :b"), vec![Tok::Token("a :b".into()), Tok::Eof]);
        assert_eq!(
            toks(":a + 1"),
            vec![
                Tok::Token("a".into()),
                Tok::Plus,
                Tok::Number("1".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks(":1abc"), vec![Tok::Token("1abc".into()), Tok::Eof]);
        assert_eq!(toks(":a#b"), vec![Tok::Token("a#b".into()), Tok::Eof]);
    }

    #[test]
    fn strings_unescape_only_quotes() {
        assert_eq!(toks(r"'it\'s'"), vec![Tok::Str("it's".into()), Tok::Eof]);
        assert_eq!(
            toks(r"'a\(b\)\\'"),
            vec![Tok::Str(r"a\(b\)\\".into()), Tok::Eof]
        );
        assert!(matches!(toks(r"'a\b'")[0], Tok::BadString(_)));
        assert!(matches!(toks("'open")[0], Tok::BadString(_)));
    }

    #[test]
    fn numbers_stop_before_incomplete_parts() {
        assert_eq!(
            toks("5."),
            vec![Tok::Number("5".into()), Tok::Other('.'), Tok::Eof]
        );
        assert_eq!(
            toks("1e2.5"),
            vec![
                Tok::Number("1e2".into()),
                Tok::Other('.'),
                Tok::Number("5".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks("1.5E-3"), vec![Tok::Number("1.5E-3".into()), Tok::Eof]);
    }
}
