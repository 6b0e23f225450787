//! Jayway's `PathCompiler`: path text to a token chain.
//!
//! The scanner mirrors Jayway's `CharacterIndex` (a cursor with a trimmed end) so that the same
//! texts are accepted, the same quirks survive (text after a closing `]` at the very end is
//! ignored, `#x` means `$.#x`) and errors carry the same messages. Digits are ASCII digits;
//! positions count Unicode scalar values.

use std::fmt;
use std::sync::Arc;

use crate::JsonPathError;
use crate::filter::Filter;

/// Total tokens (including those of paths nested in filters and function arguments) and nesting
/// levels one path may have. Java has no such limits; they bound recursion so that no path can
/// exhaust the stack.
const MAX_TOKENS: usize = 64;
const MAX_NESTING: usize = 16;

/// A compiled path: a root (`$` or `@`) followed by tokens.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub(crate) root: char,
    pub(crate) tokens: Vec<Token>,
    /// The root was `$` (filters evaluate such paths against the document, others against the
    /// current item).
    pub(crate) is_root_path: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Token {
    /// `.name`, `['name']`, `['a','b']`
    Property { names: Vec<String>, delimiter: char },
    /// `[0]`, `[-1]`, `[0,2]`
    Index(Vec<i32>),
    /// `[1:3]`, `[:2]`, `[-2:]`
    Slice { from: Option<i32>, to: Option<i32> },
    /// `[*]`, `.*`
    Wildcard,
    /// `..`
    Scan,
    /// `[?(...)]`
    Predicate(Arc<Filter>),
    /// `.name()` / `.name(args)`; `params` is `None` for an empty argument list.
    Function {
        name: String,
        params: Option<Vec<Param>>,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Param {
    Path(Path),
    Json(String),
}

impl Token {
    fn is_definite(&self, is_leaf: bool) -> bool {
        match self {
            Token::Property { names, .. } => names.len() == 1 || is_leaf,
            Token::Index(indexes) => indexes.len() == 1,
            Token::Function { .. } => true,
            Token::Slice { .. } | Token::Wildcard | Token::Scan | Token::Predicate(_) => false,
        }
    }

    fn write_fragment(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Property { names, delimiter } => {
                out.write_str("[")?;
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        out.write_str(",")?;
                    }
                    let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
                    write!(out, "{delimiter}{escaped}{delimiter}")?;
                }
                out.write_str("]")
            }
            Token::Index(indexes) => {
                let list: Vec<String> = indexes.iter().map(i32::to_string).collect();
                write!(out, "[{}]", list.join(","))
            }
            Token::Slice { from, to } => {
                let bound = |b: &Option<i32>| b.map(|v| v.to_string()).unwrap_or_default();
                write!(out, "[{}:{}]", bound(from), bound(to))
            }
            Token::Wildcard => out.write_str("[*]"),
            Token::Scan => out.write_str(".."),
            Token::Predicate(_) => out.write_str("[?]"),
            Token::Function { name, params } => {
                let args = if params.as_ref().is_some_and(|p| !p.is_empty()) {
                    "(...)"
                } else {
                    "()"
                };
                write!(out, ".{name}{args}")
            }
        }
    }
}

impl Path {
    pub(crate) fn is_leaf(&self, index: usize) -> bool {
        index + 1 == self.tokens.len()
    }

    pub(crate) fn token_is_definite(&self, index: usize) -> bool {
        self.tokens[index].is_definite(self.is_leaf(index))
    }

    /// Every token before `index` is definite.
    pub(crate) fn upstream_is_definite(&self, index: usize) -> bool {
        (0..index).all(|i| self.token_is_definite(i))
    }

    pub(crate) fn is_definite(&self) -> bool {
        (0..self.tokens.len()).all(|i| self.token_is_definite(i))
    }

    pub(crate) fn is_function_path(&self) -> bool {
        matches!(self.tokens.last(), Some(Token::Function { .. }))
    }

    /// Jayway's normalised text of the tokens from `index` on (a token's `toString()`).
    pub(crate) fn fragments_from(&self, index: usize) -> String {
        Fragments(&self.tokens[index..]).to_string()
    }

    /// Jayway's normalised text of one token (its `getPathFragment()`).
    pub(crate) fn fragment(&self, index: usize) -> String {
        Fragments(&self.tokens[index..=index]).to_string()
    }

    /// This path with `[*]` appended, as `length()` reads its path argument.
    pub(crate) fn with_wildcard(&self) -> Path {
        let mut path = self.clone();
        path.tokens.push(Token::Wildcard);
        path
    }

    /// Jayway rewrites `$..x.fn()` to `$.fn($..x)` so that the function sees all scan results.
    fn invert_scan_function(self) -> Path {
        if !(self.is_function_path() && matches!(self.tokens.first(), Some(Token::Scan))) {
            return self;
        }
        let Path {
            root,
            mut tokens,
            is_root_path,
        } = self;
        let Some(at) = tokens
            .iter()
            .position(|t| matches!(t, Token::Function { .. }))
        else {
            return Path {
                root,
                tokens,
                is_root_path,
            };
        };
        let mut rest = tokens.split_off(at);
        let scanned = Path {
            root,
            tokens,
            is_root_path: true,
        };
        if let Some(Token::Function { params, .. }) = rest.first_mut() {
            *params = Some(vec![Param::Path(scanned)]);
        }
        Path {
            root: '$',
            tokens: rest,
            is_root_path,
        }
    }
}

struct Fragments<'a>(&'a [Token]);

impl fmt::Display for Fragments<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|t| t.write_fragment(f))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.root, Fragments(&self.tokens))
    }
}

/// A failure while scanning: Jayway's `InvalidPathException`, or another Java exception (an
/// index out of range, a number that does not parse) whose `toString()` Jayway reports.
#[derive(Debug)]
pub(crate) enum Fault {
    Invalid(String),
    Other(String),
}

impl Fault {
    pub(crate) fn message(self) -> String {
        match self {
            Fault::Invalid(message) | Fault::Other(message) => message,
        }
    }

    /// Jayway's `PathCompiler` reports every failure as an `InvalidPathException`.
    pub(crate) fn into_error(self) -> JsonPathError {
        JsonPathError::InvalidPath(self.message())
    }
}

pub(crate) fn invalid<T>(message: impl Into<String>) -> Result<T, Fault> {
    Err(Fault::Invalid(message.into()))
}

/// Limits shared by a path and everything nested in it.
#[derive(Debug)]
pub(crate) struct Budget {
    tokens: usize,
    nesting: usize,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget {
            tokens: 0,
            nesting: 0,
        }
    }

    fn take_token(&mut self) -> Result<(), Fault> {
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return invalid(format!(
                "Path is too long: at most {MAX_TOKENS} tokens are supported"
            ));
        }
        Ok(())
    }

    /// Runs `nested` one nesting level deeper.
    pub(crate) fn nested<T>(
        &mut self,
        nested: impl FnOnce(&mut Budget) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        self.enter()?;
        let result = nested(self);
        self.leave();
        result
    }

    pub(crate) fn enter(&mut self) -> Result<(), Fault> {
        if self.nesting >= MAX_NESTING {
            return invalid(format!(
                "Path is nested too deeply: at most {MAX_NESTING} levels of filters, groups and function arguments are supported"
            ));
        }
        self.nesting += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.nesting -= 1;
    }
}

/// Jayway's `CharacterIndex`: a cursor over the text with an adjustable end.
pub(crate) struct CharIndex {
    chars: Vec<char>,
    pub(crate) position: i64,
    end: i64,
}

impl CharIndex {
    pub(crate) fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let end = chars.len() as i64 - 1;
        CharIndex {
            chars,
            position: 0,
            end,
        }
    }

    pub(crate) fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub(crate) fn length(&self) -> i64 {
        self.end + 1
    }

    pub(crate) fn char_at(&self, idx: i64) -> Result<char, Fault> {
        usize::try_from(idx)
            .ok()
            .and_then(|i| self.chars.get(i).copied())
            .ok_or_else(|| {
                Fault::Other(format!(
                    "java.lang.StringIndexOutOfBoundsException: index {idx}, length {}",
                    self.chars.len()
                ))
            })
    }

    pub(crate) fn current_char(&self) -> Result<char, Fault> {
        self.char_at(self.position)
    }

    pub(crate) fn current_char_is(&self, c: char) -> Result<bool, Fault> {
        Ok(self.current_char()? == c)
    }

    pub(crate) fn last_char_is(&self, c: char) -> Result<bool, Fault> {
        Ok(self.char_at(self.end)? == c)
    }

    fn next_char_is(&self, c: char) -> bool {
        self.in_bounds(self.position + 1) && self.char_at(self.position + 1).ok() == Some(c)
    }

    pub(crate) fn increment_end(&mut self, delta: i64) {
        self.end += delta;
    }

    pub(crate) fn in_bounds(&self, idx: i64) -> bool {
        idx >= 0 && idx <= self.end
    }

    pub(crate) fn in_bounds_here(&self) -> bool {
        self.in_bounds(self.position)
    }

    fn current_is_tail(&self) -> bool {
        self.position >= self.end
    }

    fn has_more_characters(&self) -> bool {
        self.in_bounds(self.position + 1)
    }

    pub(crate) fn index_of_next_significant_char(&self, start: i64, c: char) -> Result<i64, Fault> {
        let mut read = start + 1;
        while self.in_bounds(read) && self.char_at(read)? == ' ' {
            read += 1;
        }
        Ok(if self.char_at(read)? == c { read } else { -1 })
    }

    pub(crate) fn next_index_of(&self, start: i64, c: char) -> i64 {
        (start.max(0)..=self.end)
            .find(|&i| self.char_at(i).ok() == Some(c))
            .unwrap_or(-1)
    }

    pub(crate) fn next_index_of_unescaped(&self, start: i64, c: char) -> i64 {
        let mut in_escape = false;
        for read in (start + 1).max(0)..=self.end {
            let Ok(ch) = self.char_at(read) else {
                break;
            };
            if in_escape {
                in_escape = false;
            } else if ch == '\\' {
                in_escape = true;
            } else if ch == c {
                return read;
            }
        }
        -1
    }

    pub(crate) fn next_significant_char_is(&self, start: i64, c: char) -> bool {
        let read = self.skip_spaces_from(start + 1);
        self.in_bounds(read) && self.char_at(read).ok() == Some(c)
    }

    pub(crate) fn next_significant_char(&self, start: i64) -> char {
        let read = self.skip_spaces_from(start + 1);
        if self.in_bounds(read) {
            self.char_at(read).unwrap_or(' ')
        } else {
            ' '
        }
    }

    fn skip_spaces_from(&self, mut read: i64) -> i64 {
        while self.in_bounds(read) && self.char_at(read).ok() == Some(' ') {
            read += 1;
        }
        read
    }

    pub(crate) fn index_of_matching_close_char(
        &self,
        start: i64,
        open: char,
        close: char,
        skip_strings: bool,
        skip_regex: bool,
    ) -> Result<i64, Fault> {
        let first = self.char_at(start)?;
        if first != open {
            return invalid(format!("Expected {open} but found {first}"));
        }
        let mut opened = 1;
        let mut read = start + 1;
        while self.in_bounds(read) {
            if skip_strings {
                let quote = self.char_at(read)?;
                if quote == '\'' || quote == '"' {
                    read = self.next_index_of_unescaped(read, quote);
                    if read == -1 {
                        return invalid(format!(
                            "Could not find matching close quote for {quote} when parsing : {}",
                            self.text()
                        ));
                    }
                    read += 1;
                }
            }
            if skip_regex && self.char_at(read)? == '/' {
                read = self.next_index_of_unescaped(read, '/');
                if read == -1 {
                    return invalid(format!(
                        "Could not find matching close for / when parsing regex in : {}",
                        self.text()
                    ));
                }
                read += 1;
            }
            let ch = self.char_at(read)?;
            if ch == open {
                opened += 1;
            }
            if ch == close {
                opened -= 1;
                if opened == 0 {
                    return Ok(read);
                }
            }
            read += 1;
        }
        Ok(-1)
    }

    pub(crate) fn index_of_previous_significant_char(&self) -> i64 {
        let mut read = self.position - 1;
        while self.in_bounds(read) && self.char_at(read).ok() == Some(' ') {
            read -= 1;
        }
        if self.in_bounds(read) { read } else { -1 }
    }

    pub(crate) fn previous_significant_char(&self) -> char {
        let idx = self.index_of_previous_significant_char();
        if idx == -1 {
            ' '
        } else {
            self.char_at(idx).unwrap_or(' ')
        }
    }

    pub(crate) fn skip_blanks(&mut self) -> &mut Self {
        while self.in_bounds_here()
            && self.position < self.end
            && self.char_at(self.position).ok() == Some(' ')
        {
            self.position += 1;
        }
        self
    }

    pub(crate) fn trim(&mut self) {
        self.skip_blanks();
        while self.in_bounds_here()
            && self.position < self.end
            && self.char_at(self.end).ok() == Some(' ')
        {
            self.end -= 1;
        }
    }

    pub(crate) fn sub(&self, start: i64, end: i64) -> Result<String, Fault> {
        let len = self.chars.len() as i64;
        if start < 0 || end > len || start > end {
            return Err(Fault::Other(format!(
                "java.lang.StringIndexOutOfBoundsException: begin {start}, end {end}, length {len}"
            )));
        }
        Ok(self.chars[start as usize..end as usize].iter().collect())
    }

    pub(crate) fn has_significant_sub_sequence(&mut self, s: &str) -> bool {
        self.skip_blanks();
        let len = s.chars().count() as i64;
        if !self.in_bounds(self.position + len - 1) {
            return false;
        }
        if self.sub(self.position, self.position + len).ok().as_deref() != Some(s) {
            return false;
        }
        self.position += len;
        true
    }

    pub(crate) fn read_significant_char(&mut self, c: char) -> Result<(), Fault> {
        if self.skip_blanks().current_char()? != c {
            return invalid(format!("Expected character: {c}"));
        }
        self.position += 1;
        Ok(())
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// `JsonPath.compile`: the entry point for user paths and for paths inside filters.
pub(crate) fn compile(text: &str, budget: &mut Budget) -> Result<Path, Fault> {
    let mut ci = CharIndex::new(text);
    ci.trim();
    let first = ci.char_at(0)?;
    if first != '$' && first != '@' {
        ci = CharIndex::new(&format!("$.{text}"));
        ci.trim();
    }
    if ci.last_char_is('.')? {
        return invalid("Path must not end with a '.' or '..'");
    }
    PathCompiler { path: ci, budget }.compile()
}

/// A path given as a function argument: compiled without `compile`'s trimming and `$.` prefix.
fn compile_argument(text: &str, budget: &mut Budget) -> Result<Path, Fault> {
    PathCompiler {
        path: CharIndex::new(text),
        budget,
    }
    .compile()
}

struct PathCompiler<'b> {
    path: CharIndex,
    budget: &'b mut Budget,
}

impl PathCompiler<'_> {
    fn compile(mut self) -> Result<Path, Fault> {
        while self.path.in_bounds_here() && is_path_whitespace(self.path.current_char()?) {
            self.path.position += 1;
        }
        let root = self.path.current_char()?;
        if root != '$' && root != '@' {
            return invalid("Path must start with '$' or '@'");
        }
        let mut tokens = Vec::new();
        if !self.path.current_is_tail() {
            self.path.position += 1;
            let c = self.path.current_char()?;
            if c != '.' && c != '[' {
                return invalid(format!(
                    "Illegal character at position {} expected '.' or '['",
                    self.path.position
                ));
            }
            self.read_tokens(&mut tokens)?;
        }
        Ok(Path {
            root,
            tokens,
            is_root_path: root == '$',
        }
        .invert_scan_function())
    }

    fn push(&mut self, tokens: &mut Vec<Token>, token: Token) -> Result<(), Fault> {
        self.budget.take_token()?;
        tokens.push(token);
        Ok(())
    }

    /// Jayway's mutually recursive `readNextToken`, as a loop: every token but `.` ends the path
    /// when the cursor reaches the last character.
    fn read_tokens(&mut self, tokens: &mut Vec<Token>) -> Result<(), Fault> {
        loop {
            let position = self.path.position;
            match self.path.current_char()? {
                '[' => {
                    let token = match self.read_bracket_property()? {
                        Some(token) => Some(token),
                        None => match self.read_array()? {
                            Some(token) => Some(token),
                            None if self.read_wildcard()? => Some(Token::Wildcard),
                            None => match self.read_filter()? {
                                Some(token) => Some(token),
                                None => {
                                    self.reject_placeholder()?;
                                    None
                                }
                            },
                        },
                    };
                    let Some(token) = token else {
                        return invalid(format!(
                            "Could not parse token starting at position {position}. Expected ?, ', 0-9, * "
                        ));
                    };
                    self.push(tokens, token)?;
                }
                '.' => {
                    self.read_dot(tokens)?;
                    continue;
                }
                '*' => {
                    if !self.read_wildcard()? {
                        return invalid(format!(
                            "Could not parse token starting at position {position}"
                        ));
                    }
                    self.push(tokens, Token::Wildcard)?;
                }
                _ => {
                    let Some(token) = self.read_property_or_function()? else {
                        return invalid(format!(
                            "Could not parse token starting at position {position}"
                        ));
                    };
                    self.push(tokens, token)?;
                }
            }
            if self.path.current_is_tail() {
                return Ok(());
            }
        }
    }

    fn read_dot(&mut self, tokens: &mut Vec<Token>) -> Result<(), Fault> {
        if self.path.current_char_is('.')? && self.path.next_char_is('.') {
            self.push(tokens, Token::Scan)?;
            self.path.position += 2;
        } else if !self.path.has_more_characters() {
            return invalid("Path must not end with a '.");
        } else {
            self.path.position += 1;
        }
        if self.path.current_char_is('.')? {
            return invalid(format!(
                "Character '.' on position {} is not valid.",
                self.path.position
            ));
        }
        Ok(())
    }

    fn read_property_or_function(&mut self) -> Result<Option<Token>, Fault> {
        let c = self.path.current_char()?;
        if matches!(c, '[' | '*' | '.' | ' ') {
            return Ok(None);
        }
        let start = self.path.position;
        let mut read = start;
        let mut end = 0;
        let mut is_function = false;
        while self.path.in_bounds(read) {
            match self.path.char_at(read)? {
                ' ' => {
                    return invalid(format!(
                        "Use bracket notion ['my prop'] if your property contains blank characters. position: {}",
                        self.path.position
                    ));
                }
                '.' | '[' => {
                    end = read;
                    break;
                }
                '(' => {
                    is_function = true;
                    end = read;
                    break;
                }
                _ => read += 1,
            }
        }
        if end == 0 {
            end = self.path.length();
        }
        let name = self.path.sub(start, end)?;
        if !is_function {
            self.path.position = end;
            return Ok(Some(Token::Property {
                names: vec![name],
                delimiter: '\'',
            }));
        }
        let mut depth = 1;
        for i in read + 1..self.path.length() {
            match self.path.char_at(i)? {
                ')' => depth -= 1,
                '(' => depth += 1,
                _ => {}
            }
            if depth == 0 {
                break;
            }
        }
        if depth != 0 {
            return invalid(format!(
                "Arguments to function: '{name}' are not closed properly."
            ));
        }
        let mut params = None;
        if self.path.in_bounds(read + 1) {
            if self.path.char_at(read + 1)? != ')' {
                self.path.position = end + 1;
                params = Some(self.read_function_parameters(&name)?);
            } else {
                self.path.position = read + 1;
            }
        } else {
            self.path.position = read;
        }
        Ok(Some(Token::Function { name, params }))
    }

    /// Jayway's `parseFunctionParameters`: splits the argument list on top-level commas; an
    /// argument starting with `$`/`@` is a path, one starting with `{`, a digit, `"` or `-` is
    /// JSON, anything else is ignored.
    fn read_function_parameters(&mut self, name: &str) -> Result<Vec<Param>, Fault> {
        #[derive(Clone, Copy, PartialEq)]
        enum Kind {
            Json,
            Path,
        }
        let mut kind: Option<Kind> = None;
        let (mut paren, mut bracket, mut brace, mut quote) = (1, 0, 0, 0);
        let mut end_of_stream = false;
        let mut prior = '\0';
        let mut params = Vec::new();
        let mut text = String::new();
        while self.path.in_bounds_here() && !end_of_stream {
            let c = self.path.current_char()?;
            self.path.position += 1;
            if kind.is_none() {
                if is_path_whitespace(c) {
                    continue;
                }
                if c == '{' || is_digit(c) || c == '"' || c == '-' {
                    kind = Some(Kind::Json);
                } else if c == '$' || c == '@' {
                    kind = Some(Kind::Path);
                }
            }
            match c {
                '"' => {
                    if prior != '\\' && quote > 0 {
                        quote -= 1;
                    } else {
                        quote += 1;
                    }
                }
                '(' => paren += 1,
                '{' => brace += 1,
                '[' => bracket += 1,
                '}' => {
                    if brace == 0 {
                        return invalid(format!(
                            "Unexpected close brace '}}' at character position: {}",
                            self.path.position
                        ));
                    }
                    brace -= 1;
                }
                ']' => {
                    if bracket == 0 {
                        return invalid(format!(
                            "Unexpected close bracket ']' at character position: {}",
                            self.path.position
                        ));
                    }
                    bracket -= 1;
                }
                ')' | ',' => {
                    if c == ')' {
                        paren -= 1;
                        if paren < 0 || prior == '(' {
                            text.push(c);
                        }
                    }
                    let closes = (paren == 0 && c == ')') || paren == 1;
                    if quote == 0 && brace == 0 && bracket == 0 && closes {
                        end_of_stream = paren == 0;
                        if let Some(k) = kind.take() {
                            let param = match k {
                                Kind::Json => Param::Json(std::mem::take(&mut text)),
                                Kind::Path => {
                                    let arg = std::mem::take(&mut text);
                                    Param::Path(self.budget.nested(|b| compile_argument(&arg, b))?)
                                }
                            };
                            params.push(param);
                        }
                    }
                }
                '\\' => {
                    let next = self.path.current_char()?;
                    if quote == 1 && (next == ',' || next == '"') {
                        text.push(next);
                        self.path.position += 1;
                        prior = '\0';
                        continue;
                    }
                }
                _ => {}
            }
            if kind.is_some() && !(c == ',' && brace == 0 && bracket == 0 && paren == 1) {
                text.push(c);
            }
            prior = c;
        }
        if brace != 0 || paren != 0 || bracket != 0 {
            return invalid(format!(
                "Arguments to function: '{name}' are not closed properly."
            ));
        }
        Ok(params)
    }

    /// `[?]` placeholders need filters passed alongside the path, which GET_VALUE never does.
    fn reject_placeholder(&mut self) -> Result<(), Fault> {
        let p = &self.path;
        let question = p.index_of_next_significant_char(p.position, '?')?;
        if question == -1 {
            return Ok(());
        }
        let next = p.next_significant_char(question);
        if next != ']' && next != ',' {
            return Ok(());
        }
        let end = p.next_index_of(p.position + 1, ']');
        if end == -1 {
            return Ok(());
        }
        let expression = p.sub(p.position + 1, end)?;
        invalid(format!(
            "Not enough predicates supplied for filter [{expression}] at position {}",
            p.position
        ))
    }

    fn read_filter(&mut self) -> Result<Option<Token>, Fault> {
        let p = &self.path;
        if !p.current_char_is('[')? && !p.next_significant_char_is(p.position, '?') {
            return Ok(None);
        }
        let open_statement = p.position;
        let question = p.index_of_next_significant_char(p.position, '?')?;
        if question == -1 {
            return Ok(None);
        }
        let open_paren = p.index_of_next_significant_char(question, '(')?;
        if open_paren == -1 {
            return Ok(None);
        }
        let close_paren = p.index_of_matching_close_char(open_paren, '(', ')', true, true)?;
        if close_paren == -1 || !p.next_significant_char_is(close_paren, ']') {
            return Ok(None);
        }
        let close_statement = p.index_of_next_significant_char(close_paren, ']')?;
        let criteria = p.sub(open_statement, close_statement + 1)?;
        let filter = self
            .budget
            .nested(|b| crate::filter::compile(&criteria, b))?;
        self.path.position = close_statement + 1;
        Ok(Some(Token::Predicate(Arc::new(filter))))
    }

    fn read_wildcard(&mut self) -> Result<bool, Fault> {
        let p = &self.path;
        let in_bracket = p.current_char_is('[')?;
        if in_bracket && !p.next_significant_char_is(p.position, '*') {
            return Ok(false);
        }
        if !p.current_char_is('*')? && !p.in_bounds(p.position + 1) {
            return Ok(false);
        }
        if in_bracket {
            let star = p.index_of_next_significant_char(p.position, '*')?;
            if !p.next_significant_char_is(star, ']') {
                return invalid(format!(
                    "Expected wildcard token to end with ']' on position {}",
                    star + 1
                ));
            }
            let close = p.index_of_next_significant_char(star, ']')?;
            self.path.position = close + 1;
        } else {
            self.path.position += 1;
        }
        Ok(true)
    }

    fn read_array(&mut self) -> Result<Option<Token>, Fault> {
        let p = &self.path;
        if !p.current_char_is('[')? {
            return Ok(None);
        }
        let next = p.next_significant_char(p.position);
        if !is_digit(next) && next != '-' && next != ':' {
            return Ok(None);
        }
        let begin = p.position + 1;
        let end = p.next_index_of(begin, ']');
        if end == -1 {
            return Ok(None);
        }
        let raw = p.sub(begin, end)?;
        let expression = java_trim(&raw);
        if expression == "*"
            || !expression
                .chars()
                .all(|c| is_digit(c) || matches!(c, ',' | '-' | ':' | ' '))
        {
            return Ok(None);
        }
        let token = if expression.contains(':') {
            parse_slice(expression)?
        } else {
            parse_indexes(expression)?
        };
        self.path.position = end + 1;
        Ok(Some(token))
    }

    fn read_bracket_property(&mut self) -> Result<Option<Token>, Fault> {
        let p = &self.path;
        if !p.current_char_is('[')? {
            return Ok(None);
        }
        let delimiter = p.next_significant_char(p.position);
        if delimiter != '\'' && delimiter != '"' {
            return Ok(None);
        }
        let mut names = Vec::new();
        let mut start = p.position + 1;
        let mut read = start;
        let mut end = 0;
        let mut in_property = false;
        let mut in_escape = false;
        let mut last_was_comma = false;
        while p.in_bounds(read) {
            let c = p.char_at(read)?;
            if in_escape {
                in_escape = false;
            } else if c == '\\' {
                in_escape = true;
            } else if c == ']' && !in_property {
                if last_was_comma {
                    return invalid(format!("Found empty property at index {read}"));
                }
                break;
            } else if c == delimiter {
                if in_property {
                    let next = p.next_significant_char(read);
                    if next != ']' && next != ',' {
                        return invalid(format!(
                            "Property must be separated by comma or Property must be terminated close square bracket at index {read}"
                        ));
                    }
                    end = read;
                    let name = unescape(&p.sub(start, end)?).map_err(|m| {
                        Fault::Other(format!("com.jayway.jsonpath.JsonPathException: {m}"))
                    })?;
                    names.push(name);
                    in_property = false;
                } else {
                    start = read + 1;
                    in_property = true;
                    last_was_comma = false;
                }
            } else if c == ',' && !in_property {
                if last_was_comma {
                    return invalid(format!("Found empty property at index {read}"));
                }
                last_was_comma = true;
            }
            read += 1;
        }
        if in_property {
            return invalid(format!(
                "Property has not been closed - missing closing {delimiter}"
            ));
        }
        let close = p.index_of_next_significant_char(end, ']')?;
        if close == -1 {
            return invalid("Property has not been closed - missing closing ]");
        }
        if names.is_empty() {
            return invalid("Empty properties");
        }
        self.path.position = close + 1;
        Ok(Some(Token::Property { names, delimiter }))
    }
}

fn is_path_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `String.trim()`: strips characters up to U+0020.
pub(crate) fn java_trim(text: &str) -> &str {
    text.trim_matches(|c: char| c <= ' ')
}

/// `Integer.parseInt`, failing with Java's `NumberFormatException` text.
fn parse_int(text: &str) -> Result<i32, String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("For input string: \"{text}\""));
    }
    text.parse()
        .map_err(|_| format!("For input string: \"{text}\""))
}

/// `[from:to]` (Jayway ignores a third, step, part).
fn parse_slice(expression: &str) -> Result<Token, Fault> {
    let fail = || invalid(format!("Failed to parse SliceOperation: {expression}"));
    if !expression
        .chars()
        .all(|c| is_digit(c) || c == '-' || c == ':')
    {
        return fail();
    }
    // String.split drops trailing empty parts.
    let mut parts: Vec<&str> = expression.split(':').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    let bound = |i: usize| -> Result<Option<i32>, Fault> {
        match parts.get(i) {
            None | Some(&"") => Ok(None),
            Some(text) => parse_int(text)
                .map(Some)
                .map_err(|m| Fault::Other(format!("java.lang.NumberFormatException: {m}"))),
        }
    };
    let (from, to) = (bound(0)?, bound(1)?);
    if from.is_none() && to.is_none() {
        return fail();
    }
    Ok(Token::Slice { from, to })
}

fn parse_indexes(expression: &str) -> Result<Token, Fault> {
    if !expression
        .chars()
        .all(|c| is_digit(c) || matches!(c, ',' | ' ' | '-'))
    {
        return invalid(format!("Failed to parse ArrayIndexOperation: {expression}"));
    }
    let is_regex_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r');
    expression
        .split(',')
        .map(|part| {
            let token = part.trim_matches(is_regex_space);
            parse_int(token).map_err(|_| {
                Fault::Invalid(format!(
                    "Failed to parse token in ArrayIndexOperation: {token}"
                ))
            })
        })
        .collect::<Result<Vec<i32>, Fault>>()
        .map(Token::Index)
}

/// Jayway's `Utils.unescape` for quoted property names and filter string literals. `\u`
/// escapes are UTF-16 units, so surrogate pairs combine as in Java.
pub(crate) fn unescape(text: &str) -> Result<String, String> {
    let mut out: Vec<u16> = Vec::with_capacity(text.len());
    let push = |out: &mut Vec<u16>, ch: char| {
        let mut buf = [0u16; 2];
        out.extend_from_slice(ch.encode_utf16(&mut buf));
    };
    let mut chars = text.chars();
    let mut pending_slash = false;
    while let Some(ch) = chars.next() {
        if pending_slash {
            pending_slash = false;
            match ch {
                'r' => push(&mut out, '\r'),
                'f' => push(&mut out, '\u{c}'),
                't' => push(&mut out, '\t'),
                'n' => push(&mut out, '\n'),
                'b' => push(&mut out, '\u{8}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if hex.chars().count() < 4 {
                        // An incomplete sequence at the end of the text is dropped, as in Java.
                        continue;
                    }
                    match u16::from_str_radix(&hex, 16) {
                        Ok(unit) => out.push(unit),
                        Err(_) => return Err(format!("Unable to parse unicode value: {hex}")),
                    }
                }
                other => push(&mut out, other),
            }
        } else if ch == '\\' {
            pending_slash = true;
        } else {
            push(&mut out, ch);
        }
    }
    if pending_slash {
        push(&mut out, '\\');
    }
    Ok(String::from_utf16_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(text: &str) -> String {
        match compile(text, &mut Budget::new()) {
            Ok(path) => path.to_string(),
            Err(fault) => format!("error: {}", fault.into_error()),
        }
    }

    #[test]
    fn paths_normalise_like_jayway() {
        assert_eq!(normalised("$.a.b"), "$['a']['b']");
        assert_eq!(normalised("a.b"), "$['a']['b']");
        assert_eq!(normalised("#invalidPath"), "$['#invalidPath']");
        assert_eq!(normalised("$[\"a\"]"), "$[\"a\"]");
        assert_eq!(normalised("$['a','b']"), "$['a','b']");
        assert_eq!(normalised("$['it\\'s']"), "$['it\\'s']");
        assert_eq!(normalised("$[0][-1][1, 2]"), "$[0][-1][1,2]");
        assert_eq!(normalised("$[1:3][:2][-2:][1:2:3]"), "$[1:3][:2][-2:][1:2]");
        assert_eq!(normalised("$.*[*]..x..*"), "$[*][*]..['x']..[*]");
        assert_eq!(normalised("$.a[?(@.k == 1)]"), "$['a'][?]");
        assert_eq!(normalised("$.a.length()"), "$['a'].length()");
        assert_eq!(normalised("$..a.sum()"), "$.sum(...)");
        assert_eq!(normalised("$.sum(1, $.a)"), "$.sum(...)");
        assert_eq!(normalised("$"), "$");
        assert_eq!(normalised("@.a"), "@['a']");
        assert_eq!(
            normalised("  $.a  "),
            "error: Could not parse token starting at position 2"
        );
        assert_eq!(normalised("$['a']x"), "$['a']");
    }

    #[test]
    fn invalid_paths_report_jayway_messages() {
        let cases = [
            ("$.", "Path must not end with a '.' or '..'"),
            ("$..", "Path must not end with a '.' or '..'"),
            ("$x", "Illegal character at position 1 expected '.' or '['"),
            ("$...a", "Character '.' on position 3 is not valid."),
            (
                "$.a b",
                "Use bracket notion ['my prop'] if your property contains blank characters. position: 2",
            ),
            (
                "$[x]",
                "Could not parse token starting at position 1. Expected ?, ', 0-9, * ",
            ),
            ("$['a", "Property has not been closed - missing closing '"),
            (
                "$['a'",
                "Property must be separated by comma or Property must be terminated close square bracket at index 4",
            ),
            (
                "$[1:x]",
                "Could not parse token starting at position 1. Expected ?, ', 0-9, * ",
            ),
            (
                "$[1 2]",
                "Failed to parse token in ArrayIndexOperation: 1 2",
            ),
            ("$[:]", "Failed to parse SliceOperation: :"),
            ("$[1: 2]", "Failed to parse SliceOperation: 1: 2"),
            (
                "$[?]",
                "Not enough predicates supplied for filter [?] at position 1",
            ),
            (
                "$[* ,]",
                "Expected wildcard token to end with ']' on position 3",
            ),
            (
                "$.a(",
                "Arguments to function: 'a' are not closed properly.",
            ),
            ("$['a',,'b']", "Found empty property at index 6"),
        ];
        for (path, message) in cases {
            assert_eq!(normalised(path), format!("error: {message}"), "{path}");
        }
    }

    #[test]
    fn definiteness_follows_jayway() {
        let definite = |text: &str| {
            compile(text, &mut Budget::new())
                .map(|p| p.is_definite())
                .ok()
        };
        assert_eq!(definite("$.a[0].b"), Some(true));
        assert_eq!(definite("$['a','b']"), Some(true));
        assert_eq!(definite("$['a','b'].c"), Some(false));
        assert_eq!(definite("$[0,1]"), Some(false));
        assert_eq!(definite("$[0:1]"), Some(false));
        assert_eq!(definite("$..a"), Some(false));
        assert_eq!(definite("$.*"), Some(false));
        assert_eq!(definite("$[?(@.a)]"), Some(false));
        assert_eq!(definite("$.a.length()"), Some(true));
        assert_eq!(definite("$..a.length()"), Some(true));
    }

    #[test]
    fn limits_reject_oversized_paths_instead_of_overflowing() {
        let long = format!("${}", ".a".repeat(MAX_TOKENS + 1));
        assert!(normalised(&long).starts_with("error: Path is too long"));
        let nested = format!("$[?({}@{})]", "(".repeat(20), ")".repeat(20));
        assert!(normalised(&nested).starts_with("error: Path is nested too deeply"));
    }
}
