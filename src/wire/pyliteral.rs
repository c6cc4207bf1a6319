//! The Python literal subset that `.npy` headers are written in.
//!
//! NumPy writes the header with `repr` and reads it with `ast.literal_eval`, so the header is
//! Python source text. Only the pieces NumPy (and older writers) produce are accepted: quoted
//! strings with the common escapes, integers (with the Python 2 `L` suffix), `True`, `False`,
//! `None`, tuples, lists and dicts, with trailing commas and free whitespace. Anything else is
//! an error that names the byte where parsing stopped.
//!
//! The parser recurses, but never deeper than [`MAX_DEPTH`] brackets, so hostile input such
//! as ten thousand `(` cannot exhaust the stack; the depth check happens before each descent.

use super::WireError;

/// How many brackets may nest before the header is refused.
pub const MAX_DEPTH: usize = 32;

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyValue {
    /// A `'...'` or `"..."` string.
    Str(String),
    /// An integer; `i128` holds every `u64` and every `i64`.
    Int(i128),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// `(...)`, including `()` and `(x,)`.
    Tuple(Vec<PyValue>),
    /// `[...]`.
    List(Vec<PyValue>),
    /// `{k: v, ...}` in source order (duplicates kept, so callers can refuse them).
    Dict(Vec<(PyValue, PyValue)>),
}

impl PyValue {
    /// A short phrase for error messages: "a string", "a tuple", ...
    pub fn kind_name(&self) -> &'static str {
        match self {
            PyValue::Str(_) => "a string",
            PyValue::Int(_) => "an integer",
            PyValue::Bool(_) => "a boolean",
            PyValue::None => "None",
            PyValue::Tuple(_) => "a tuple",
            PyValue::List(_) => "a list",
            PyValue::Dict(_) => "a dict",
        }
    }
}

/// Parse one Python literal that fills `text` (whitespace around it is allowed). Like
/// Python's `ast.literal_eval`, which `np.load` uses, a NUL byte anywhere is refused.
///
/// # Errors
/// [`WireError::HeaderSyntax`] with the byte position of the first problem, or
/// [`WireError::HeaderTooDeep`] when brackets nest deeper than [`MAX_DEPTH`].
pub fn parse(text: &str) -> Result<PyValue, WireError> {
    if let Some(position) = text.find('\0') {
        return Err(WireError::HeaderSyntax {
            position,
            message: "a NUL byte (Python refuses source text with one)",
        });
    }
    let mut parser = Parser { text, pos: 0 };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos != text.len() {
        return Err(parser.error("unexpected text after the end of the value"));
    }
    Ok(value)
}

/// Write `s` as Python's `repr` would: single quotes unless the text holds a single quote and
/// no double quote, with control characters escaped.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 0x20 || (0x7f..=0xa0).contains(&u32::from(c)) => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Write `s` as Python's `ascii` would: [`repr_str`], with every character past ASCII
/// escaped as `\xNN`, `\uNNNN` or `\UNNNNNNNN`, so the text fits an HTTP header.
pub fn ascii_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in repr_str(s).chars() {
        match u32::from(c) {
            0..=0x7f => out.push(c),
            code @ 0x80..=0xff => out.push_str(&format!("\\x{code:02x}")),
            code @ 0x100..=0xffff => out.push_str(&format!("\\u{code:04x}")),
            code => out.push_str(&format!("\\U{code:08x}")),
        }
    }
    out
}

/// Cursor over the header text; `pos` is always on a char boundary.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &'static str) -> WireError {
        WireError::HeaderSyntax {
            position: self.pos,
            message,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, WireError> {
        match self.peek() {
            None => Err(self.error("the text ends where a value was expected")),
            Some(open @ (b'{' | b'[' | b'(')) => {
                if depth >= MAX_DEPTH {
                    return Err(WireError::HeaderTooDeep {
                        position: self.pos,
                        limit: MAX_DEPTH,
                    });
                }
                self.pos += 1;
                match open {
                    b'{' => self.dict(depth + 1),
                    b'[' => self
                        .sequence(depth + 1, b']')
                        .map(|(items, _)| PyValue::List(items)),
                    _ => self.tuple(depth + 1),
                }
            }
            Some(b'\'' | b'"') => self.string().map(PyValue::Str),
            Some(b'u' | b'U')
                if matches!(self.text.as_bytes().get(self.pos + 1), Some(b'\'' | b'"')) =>
            {
                self.pos += 1;
                self.string().map(PyValue::Str)
            }
            Some(b'0'..=b'9' | b'-' | b'+') => self.integer(),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.name(),
            Some(_) => Err(self.error("unexpected character where a value was expected")),
        }
    }

    /// Items up to `close`, separated by commas, a trailing comma allowed. Also reports
    /// whether any comma was seen, which distinguishes `(x)` from `(x,)`.
    fn sequence(&mut self, depth: usize, close: u8) -> Result<(Vec<PyValue>, bool), WireError> {
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            self.skip_whitespace();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, saw_comma));
            }
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    saw_comma = true;
                    self.pos += 1;
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok((items, saw_comma));
                }
                None => return Err(self.error("the text ends inside brackets")),
                Some(_) => return Err(self.error("expected a comma or a closing bracket")),
            }
        }
    }

    fn tuple(&mut self, depth: usize) -> Result<PyValue, WireError> {
        let (mut items, saw_comma) = self.sequence(depth, b')')?;
        if items.len() == 1 && !saw_comma {
            // `(x)` is just `x` in parentheses, as in Python.
            return Ok(items.remove(0));
        }
        Ok(PyValue::Tuple(items))
    }

    fn dict(&mut self, depth: usize) -> Result<PyValue, WireError> {
        let mut entries = Vec::new();
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(PyValue::Dict(entries));
            }
            let key = self.value(depth)?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after a dict key"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.value(depth)?;
            entries.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(PyValue::Dict(entries));
                }
                None => return Err(self.error("the text ends inside a dict")),
                Some(_) => return Err(self.error("expected ',' or '}' in a dict")),
            }
        }
    }

    fn string(&mut self) -> Result<String, WireError> {
        let start = self.pos;
        let rest = &self.text[start..];
        let mut chars = rest.char_indices();
        let quote = match chars.next() {
            Some((_, q @ ('\'' | '"'))) => q,
            _ => return Err(self.error("expected a quote")),
        };
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            let at = start + i;
            match c {
                c if c == quote => {
                    self.pos = at + c.len_utf8();
                    return Ok(out);
                }
                '\n' | '\r' => {
                    self.pos = at;
                    return Err(self.error("a line break inside a string"));
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else {
                        break;
                    };
                    match e {
                        '\\' | '\'' | '"' => out.push(e),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        '0' => out.push('\0'),
                        'a' => out.push('\x07'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'v' => out.push('\x0b'),
                        '\n' => {}
                        'x' | 'u' | 'U' => {
                            let digits = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let mut code: u32 = 0;
                            for _ in 0..digits {
                                let digit = chars.next().and_then(|(_, d)| d.to_digit(16));
                                let Some(digit) = digit else {
                                    self.pos = at;
                                    return Err(self.error("a bad \\x, \\u or \\U escape"));
                                };
                                code = code * 16 + digit;
                            }
                            let Some(decoded) = char::from_u32(code) else {
                                self.pos = at;
                                return Err(self.error("an escape that is not a Unicode character"));
                            };
                            out.push(decoded);
                        }
                        other => {
                            // Python keeps unknown escapes verbatim.
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
        self.pos = self.text.len();
        Err(self.error("the text ends inside a string"))
    }

    fn integer(&mut self) -> Result<PyValue, WireError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let digits_start = self.pos;
        let mut magnitude: i128 = 0;
        while let Some(&b) = bytes.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            magnitude = match magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
            {
                Some(m) => m,
                None => {
                    self.pos = start;
                    return Err(self.error("an integer too large to represent"));
                }
            };
            self.pos += 1;
        }
        if self.pos == digits_start {
            return Err(self.error("expected digits"));
        }
        match self.peek() {
            Some(b'L' | b'l') => self.pos += 1,
            Some(b'.' | b'e' | b'E' | b'j' | b'J') => {
                return Err(self.error("only integers are allowed, not floats or complex numbers"))
            }
            _ => {}
        }
        Ok(PyValue::Int(if negative { -magnitude } else { magnitude }))
    }

    fn name(&mut self) -> Result<PyValue, WireError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !(b.is_ascii_alphanumeric() || b == b'_') {
                break;
            }
            self.pos += 1;
        }
        match &self.text[start..self.pos] {
            "True" => Ok(PyValue::Bool(true)),
            "False" => Ok(PyValue::Bool(false)),
            "None" => Ok(PyValue::None),
            _ => {
                self.pos = start;
                Err(self.error("an unknown name (only True, False and None are allowed)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(text: &str) -> PyValue {
        PyValue::Str(text.to_string())
    }

    #[test]
    fn nul_bytes_are_refused_like_python_does() {
        // `ast.literal_eval` (behind `np.load`) refuses any NUL; other control characters
        // inside a string are fine.
        for text in ["{'descr': 'a\0b'}", "{'descr': '<f4'}\0", "\0{}"] {
            assert!(
                matches!(parse(text), Err(WireError::HeaderSyntax { .. })),
                "{text:?}"
            );
        }
        assert_eq!(
            parse("{'x': 'a\x01b'}"),
            Ok(PyValue::Dict(vec![(s("x"), s("a\x01b"))]))
        );
        assert_eq!(
            parse("'\\0'"),
            Ok(s("\0")),
            "the escape \\0 is not a NUL byte"
        );
    }

    #[test]
    fn parses_numpy_header() {
        let parsed = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }   \n");
        assert_eq!(
            parsed,
            Ok(PyValue::Dict(vec![
                (s("descr"), s("<f4")),
                (s("fortran_order"), PyValue::Bool(false)),
                (s("shape"), PyValue::Tuple(vec![PyValue::Int(3)])),
            ]))
        );
    }

    #[test]
    fn tuples_follow_python_rules() {
        assert_eq!(parse("()"), Ok(PyValue::Tuple(vec![])));
        assert_eq!(parse("(3)"), Ok(PyValue::Int(3)));
        assert_eq!(parse("(3,)"), Ok(PyValue::Tuple(vec![PyValue::Int(3)])));
        assert_eq!(
            parse("( 2 , 3 )"),
            Ok(PyValue::Tuple(vec![PyValue::Int(2), PyValue::Int(3)]))
        );
        assert_eq!(
            parse("[(1,2,),]"),
            Ok(PyValue::List(vec![PyValue::Tuple(vec![
                PyValue::Int(1),
                PyValue::Int(2)
            ])]))
        );
    }

    #[test]
    fn scalars() {
        assert_eq!(parse("3L"), Ok(PyValue::Int(3)));
        assert_eq!(parse("-7"), Ok(PyValue::Int(-7)));
        assert_eq!(parse("None"), Ok(PyValue::None));
        assert_eq!(parse("True"), Ok(PyValue::Bool(true)));
        assert_eq!(
            parse("18446744073709551615"),
            Ok(PyValue::Int(i128::from(u64::MAX)))
        );
        assert_eq!(parse(r#""it's""#), Ok(s("it's")));
        assert_eq!(parse(r"'a\'b\\c\n\x41\u00e9'"), Ok(s("a'b\\c\nAé")));
        assert_eq!(parse("u'x'"), Ok(s("x")));
        assert_eq!(parse("'é'"), Ok(s("é")));
    }

    #[test]
    fn errors_carry_positions() {
        let syntax_at = |text: &str| match parse(text) {
            Err(WireError::HeaderSyntax { position, .. }) => Some(position),
            _ => None,
        };
        assert_eq!(syntax_at(""), Some(0));
        assert_eq!(syntax_at("{'a' 1}"), Some(5));
        assert_eq!(syntax_at("(1, 2"), Some(5));
        assert_eq!(syntax_at("'abc"), Some(4));
        assert_eq!(syntax_at("1.5"), Some(1));
        assert_eq!(syntax_at("foo"), Some(0));
        assert_eq!(syntax_at("1 2"), Some(2));
        assert_eq!(syntax_at("[1,,]"), Some(3));
        assert_eq!(
            syntax_at("999999999999999999999999999999999999999999"),
            Some(0)
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let hostile = "(".repeat(10_000);
        assert!(matches!(
            parse(&hostile),
            Err(WireError::HeaderTooDeep { position: 32, .. })
        ));
        let fine = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(parse(&deep), Err(WireError::HeaderTooDeep { .. })));
    }

    #[test]
    fn ascii_matches_python() {
        // Python: ascii('t\xe9mp \u6e29 \U0001f600 it\'s')
        assert_eq!(
            ascii_str("témp 温 😀 it's"),
            r#""t\xe9mp \u6e29 \U0001f600 it's""#
        );
        for text in ["x", "é", "日本", "a'b\"", "\u{10ffff}"] {
            let ascii = ascii_str(text);
            assert!(ascii.is_ascii(), "{ascii}");
            assert_eq!(parse(&ascii), Ok(PyValue::Str(text.to_string())), "{text}");
        }
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr_str("x"), "'x'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("a'b\""), "'a\\'b\"'");
        assert_eq!(repr_str("a\\b\n\x01é"), "'a\\\\b\\n\\x01é'");
        for text in ["x", "it's", "a'b\"", "tab\there", "\u{1}\u{7f}", "日本"] {
            assert_eq!(parse(&repr_str(text)), Ok(s(text)), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn bracket_soup_never_panics(text in "[\\[\\](){}:,' 0-9a-zA-Z\\\\]{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn repr_round_trips(text in "\\PC{0,40}") {
            prop_assert_eq!(parse(&repr_str(&text)), Ok(PyValue::Str(text)));
        }
    }
}
