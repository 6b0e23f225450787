//! Formula text: tokens, syntax tree, parser and printer.

pub mod ast;
mod lexer;
mod parser;
mod print;

pub(crate) use lexer::{Tok, tokenize};
pub use parser::{Parsed, SyntaxError, parse, position};
pub use print::{print_expr, print_formula};
