//! The Puppet lexer: source text to tokens, with Puppet's context rules, string interpolation,
//! heredocs and EPP text mode. It never stops early: a lexical error is recorded and lexing
//! goes on from a sensible place, so the parser always gets a token stream.

use crate::depth;
use crate::diag::{Diagnostic, Phase};
use crate::token::{Tok, Token};

/// The output of lexing: tokens (the last is `Eof`) and the problems found.
#[derive(Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub diagnostics: Vec<Diagnostic>,
    /// Index of the token being produced when the first lexical *error* happened. Puppet's
    /// lexer is pulled by its parser, so a syntax error at an earlier token wins over it.
    pub first_error_token: Option<usize>,
}

/// Lexes a Puppet manifest.
pub fn lex(src: &str) -> Lexed {
    let mut lx = Lexer::new(src, None, 0);
    lx.check_bom();
    lx.run();
    lx.finish()
}

/// Lexes an EPP template: text is turned into `RenderString` tokens and the code between tags
/// into ordinary tokens.
pub fn lex_epp(src: &str) -> Lexed {
    let mut lx = Lexer::new(src, None, 0);
    lx.check_bom();
    lx.epp_mode = Some(EppMode::Text);
    lx.push(Tok::EppStart, 0, 0, String::new());
    lx.interpolate_epp(false);
    lx.run();
    if lx.epp_open.is_some() {
        let end = lx.b.len();
        lx.error(
            "Unbalanced epp tag, reached <eof> without closing tag.",
            end,
        );
    }
    lx.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EppMode {
    Text,
    Code,
    Expr,
}

/// How the text of a string is scanned for its end and its interpolations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slurp {
    /// A double-quoted string: ends at an unescaped `"`.
    Dq,
    /// Heredoc text with interpolation where `\$` escapes a dollar.
    UqEscapableDollar,
    /// Heredoc text with interpolation where every `$` interpolates.
    UqPlainDollar,
    /// Heredoc text without interpolation.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Quote,
    DollarBrace,
    Dollar,
    End,
}

/// The set of escapes a string honours (`\\`, `\$`, `\n`, line continuations, ...), as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Escapes(u16);

impl Escapes {
    const ALL: [&'static str; 11] = ["\\", "$", "'", "\"", "r", "n", "t", "s", "u", "\r\n", "\n"];

    fn bit(e: &str) -> u16 {
        Self::ALL.iter().position(|x| *x == e).map_or(0, |i| 1 << i)
    }

    fn has(self, e: &str) -> bool {
        self.0 & Self::bit(e) != 0
    }

    fn push(&mut self, e: &str) {
        self.0 |= Self::bit(e);
    }
}

/// A double-quoted string honours every escape.
const DQ_ESCAPES: Escapes = Escapes((1 << Escapes::ALL.len()) - 1);

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
    diags: Vec<Diagnostic>,
    first_error_token: Option<usize>,
    after: Option<Tok>,
    brace_count: i64,
    line_start: usize,
    newline_jump: Option<usize>,
    epp_mode: Option<EppMode>,
    epp_open: Option<usize>,
    /// For heredoc text: pairs of (offset in this text, offset in the file), one per line.
    map: Option<Vec<(usize, usize)>>,
    tok_base: usize,
    escapes: Escapes,
    slurp: Slurp,
    /// Interpolations (`${`) and heredocs this lexer is inside, counting enclosing lexers.
    depth: u32,
    /// Heredocs this lexer is inside.
    heredoc_depth: u32,
    /// The input nested too deeply: the error is recorded, the rest of the input skipped and
    /// no further problem recorded.
    too_deep: bool,
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, map: Option<Vec<(usize, usize)>>, tok_base: usize) -> Lexer<'a> {
        Lexer {
            src,
            b: src.as_bytes(),
            pos: 0,
            out: Vec::new(),
            diags: Vec::new(),
            first_error_token: None,
            after: None,
            brace_count: 0,
            line_start: 0,
            newline_jump: None,
            epp_mode: None,
            epp_open: None,
            map,
            tok_base,
            escapes: DQ_ESCAPES,
            slurp: Slurp::Dq,
            depth: 0,
            heredoc_depth: 0,
            too_deep: false,
        }
    }

    /// Records a nesting error (once) and skips the rest of the input.
    fn nested_too_deep(&mut self, msg: String, off: usize) {
        if !self.too_deep {
            self.error(msg, off);
            self.too_deep = true;
        }
        self.pos = self.b.len();
    }

    fn finish(mut self) -> Lexed {
        let end = self.global(self.b.len());
        self.out.push(Token {
            kind: Tok::Eof,
            lo: end,
            hi: end,
            value: String::new(),
        });
        Lexed {
            tokens: self.out,
            diagnostics: self.diags,
            first_error_token: self.first_error_token,
        }
    }

    /// Maps an offset in this lexer's text to an offset in the file.
    fn global(&self, off: usize) -> u32 {
        match &self.map {
            None => off as u32,
            Some(map) => {
                let i = match map.binary_search_by(|(t, _)| t.cmp(&off)) {
                    Ok(i) => i,
                    Err(0) => 0,
                    Err(i) => i - 1,
                };
                let (t, g) = map[i];
                (g + off.saturating_sub(t)) as u32
            }
        }
    }

    fn error(&mut self, msg: impl Into<String>, off: usize) {
        if self.too_deep {
            return;
        }
        let g = self.global(off);
        self.diags.push(Diagnostic::error(Phase::Lex, msg, Some(g)));
        if self.first_error_token.is_none() {
            self.first_error_token = Some(self.tok_base + self.out.len());
        }
    }

    fn warning(&mut self, msg: impl Into<String>, off: usize) {
        if self.too_deep {
            return;
        }
        let g = self.global(off);
        self.diags
            .push(Diagnostic::warning(Phase::Lex, msg, Some(g)));
    }

    fn push(&mut self, kind: Tok, lo: usize, hi: usize, value: String) {
        let (lo, hi) = (self.global(lo), self.global(hi));
        self.out.push(Token {
            kind,
            lo,
            hi,
            value,
        });
        self.after = Some(kind);
    }

    /// Emits a fixed-text token of `len` bytes at the current position.
    fn emit(&mut self, kind: Tok, len: usize) {
        let lo = self.pos;
        let end = (lo + len).min(self.b.len());
        let value = self.src.get(lo..end).unwrap_or("").to_string();
        self.push(kind, lo, end, value);
        self.pos = end;
    }

    fn peek(&self, n: usize) -> u8 {
        self.b.get(self.pos + n).copied().unwrap_or(0)
    }

    /// Puppet's "followed by" excerpt: the next five characters and `...`, or `<eof>`.
    fn followed_by(&self, at: usize) -> String {
        if at >= self.b.len() {
            return "<eof>".to_string();
        }
        let rest = self.src.get(at..).unwrap_or("");
        let mut s: String = rest.chars().take(5).collect();
        s.push_str("...");
        s.replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    }

    fn check_bom(&mut self) {
        let b = self.b;
        let get = |i: usize| b.get(i).copied();
        let (name, size) = match (get(0), get(1), get(2), get(3)) {
            (Some(0x00), Some(0x00), Some(0xFE), Some(0xFF)) => ("UTF-32", 4),
            (Some(0xFF), Some(0xFE), Some(0x00), Some(0x00)) => ("UTF-32", 4),
            (Some(0x84), Some(0x31), Some(0x95), Some(0x33)) => ("GB-18030", 4),
            (Some(0xDD), Some(0x73), Some(0x66), Some(0x73)) => ("UTF-EBCDIC", 4),
            (Some(0x0E), Some(0xFE), Some(0xFF), _) => ("SCSU", 3),
            (Some(0xEF), Some(0xBB), Some(0xBF), _) => ("UTF-8", 3),
            (Some(0xF7), Some(0x64), Some(0x4C), _) => ("UTF-1", 3),
            (Some(0xFB), Some(0xEE), Some(0x28), _) => ("BOCU", 3),
            (Some(0xFE), Some(0xFF), _, _) | (Some(0xFF), Some(0xFE), _, _) => ("UTF-16", 2),
            _ => return,
        };
        let bytes: Vec<String> = b[..size].iter().map(|x| format!("{x:X}")).collect();
        self.error(
            format!(
                "Illegal {name} Byte Order mark at beginning of input: [{}] - remove these from the puppet source",
                bytes.join(" ")
            ),
            0,
        );
        // Go on after the mark so the rest still yields a tree.
        self.pos = size.min(self.b.len());
        while !self.src.is_char_boundary(self.pos) {
            self.pos += 1;
        }
    }

    /// Length in bytes of a `[[:blank:]]` or `\r` character at `at`, or 0.
    fn blank_len(&self, at: usize) -> usize {
        match self.b.get(at) {
            Some(b' ' | b'\t' | b'\r') => 1,
            Some(c) if *c >= 0x80 => {
                let ch = self.src.get(at..).and_then(|s| s.chars().next());
                match ch {
                    Some(ch) if is_unicode_blank(ch) => ch.len_utf8(),
                    _ => 0,
                }
            }
            _ => 0,
        }
    }

    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        loop {
            let n = self.blank_len(self.pos);
            if n == 0 {
                break;
            }
            self.pos += n;
        }
        self.pos > start
    }

    fn run(&mut self) {
        self.skip_ws();
        while self.pos < self.b.len() {
            self.lex_one();
        }
    }

    /// Lexes at the current position: pushes zero or more tokens and advances.
    fn lex_one(&mut self) {
        let c = self.b[self.pos];
        match c {
            b'.' => self.emit(Tok::Dot, 1),
            b',' => self.emit(Tok::Comma, 1),
            b'[' => {
                let list = self.pos == 0
                    || matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\r' | b'\n')
                    || self.prev_char_is_unicode_blank();
                self.emit(if list { Tok::ListStart } else { Tok::LBrack }, 1)
            }
            b']' => self.emit(Tok::RBrack, 1),
            b'(' => {
                let ws = self.pos == self.line_start
                    || self.src[self.line_start..self.pos]
                        .chars()
                        .all(|c| c == '\r' || c == ' ' || c == '\t' || is_unicode_blank(c));
                self.emit(if ws { Tok::WsLParen } else { Tok::LParen }, 1)
            }
            b')' => self.emit(Tok::RParen, 1),
            b';' => self.emit(Tok::Semic, 1),
            b'?' => self.emit(Tok::QMark, 1),
            b'*' => self.emit(Tok::Times, 1),
            b'%' => {
                if self.peek(1) == b'>' && self.epp_mode.is_some() {
                    let before = self.pos;
                    self.pos += 2;
                    if self.epp_mode == Some(EppMode::Expr) {
                        self.push(Tok::EppEnd, before, before + 2, "%>".into());
                    }
                    self.epp_mode = Some(EppMode::Text);
                    self.interpolate_epp(false);
                } else {
                    self.emit(Tok::Modulo, 1)
                }
            }
            b'{' => {
                self.brace_count += 1;
                let k = if self.after == Some(Tok::QMark) {
                    Tok::SelBrace
                } else {
                    Tok::LBrace
                };
                self.emit(k, 1)
            }
            b'}' => {
                self.brace_count -= 1;
                self.emit(Tok::RBrace, 1)
            }
            b'@' => match self.peek(1) {
                b'@' => self.emit(Tok::AtAt, 2),
                b'(' => self.heredoc(),
                _ => self.emit(Tok::At, 1),
            },
            b'|' => {
                if self.peek(1) == b'>' {
                    if self.peek(2) == b'>' {
                        self.emit(Tok::RRCollect, 3)
                    } else {
                        self.emit(Tok::RCollect, 2)
                    }
                } else {
                    self.emit(Tok::Pipe, 1)
                }
            }
            b'=' => match self.peek(1) {
                b'=' => self.emit(Tok::IsEqual, 2),
                b'>' => self.emit(Tok::FArrow, 2),
                b'~' => self.emit(Tok::Match, 2),
                _ => self.emit(Tok::Equals, 1),
            },
            b'+' => match self.peek(1) {
                b'=' => self.emit(Tok::Appends, 2),
                b'>' => self.emit(Tok::PArrow, 2),
                _ => self.emit(Tok::Plus, 1),
            },
            b'-' => {
                if self.epp_mode.is_some() && self.peek(1) == b'%' && self.peek(2) == b'>' {
                    let before = self.pos;
                    self.pos += 3;
                    if self.epp_mode == Some(EppMode::Expr) {
                        self.push(Tok::EppEndTrim, before, before + 3, "-%>".into());
                    }
                    self.interpolate_epp(true);
                } else {
                    match self.peek(1) {
                        b'>' => self.emit(Tok::InEdge, 2),
                        b'=' => self.emit(Tok::Deletes, 2),
                        _ => self.emit(Tok::Minus, 1),
                    }
                }
            }
            b'!' => match self.peek(1) {
                b'=' => self.emit(Tok::NotEqual, 2),
                b'~' => self.emit(Tok::NoMatch, 2),
                _ => self.emit(Tok::Not, 1),
            },
            b'~' => {
                if self.peek(1) == b'>' {
                    self.emit(Tok::InEdgeSub, 2)
                } else {
                    self.emit(Tok::Tilde, 1)
                }
            }
            b'#' => {
                while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                    self.pos += 1;
                }
            }
            b'/' => self.slash(),
            b'<' => match (self.peek(1), self.peek(2)) {
                (b'<', b'|') => self.emit(Tok::LLCollect, 3),
                (b'<', _) => self.emit(Tok::LShift, 2),
                (b'=', _) => self.emit(Tok::LessEqual, 2),
                (b'|', _) => self.emit(Tok::LCollect, 2),
                (b'-', _) => self.emit(Tok::OutEdge, 2),
                (b'~', _) => self.emit(Tok::OutEdgeSub, 2),
                _ => self.emit(Tok::LessThan, 1),
            },
            b'>' => match self.peek(1) {
                b'>' => self.emit(Tok::RShift, 2),
                b'=' => self.emit(Tok::GreaterEqual, 2),
                _ => self.emit(Tok::GreaterThan, 1),
            },
            b':' => self.colon(),
            b'$' => self.dollar(),
            b'"' => self.dq_string(),
            b'\'' => self.sq_string(),
            b'\n' => {
                if let Some(j) = self.newline_jump.take() {
                    self.pos = j;
                } else {
                    self.pos += 1;
                }
                self.line_start = self.pos;
            }
            b' ' | b'\t' | b'\r' => {
                self.skip_ws();
            }
            b'0'..=b'9' => self.number(),
            b'a'..=b'z' | b'_' => self.bare_word(),
            b'A'..=b'Z' => self.class_ref(),
            _ => {
                if !self.skip_ws() {
                    // Puppet emits an OTHER token whose value is empty; the parser rejects it.
                    let len = self.src[self.pos..]
                        .chars()
                        .next()
                        .map_or(1, |c| c.len_utf8());
                    let lo = self.pos;
                    self.push(Tok::Other, lo, lo + len, String::new());
                    self.pos += len;
                }
            }
        }
    }

    fn prev_char_is_unicode_blank(&self) -> bool {
        self.src[..self.pos]
            .chars()
            .next_back()
            .is_some_and(is_unicode_blank)
    }

    fn slash(&mut self) {
        let before = self.pos;
        if self.peek(1) == b'*' {
            match find(self.b, before + 2, b"*/") {
                Some(i) => self.pos = i + 2,
                None => {
                    self.error("Unclosed multiline comment", before);
                    self.pos = self.b.len();
                }
            }
            return;
        }
        if self.regexp_acceptable() {
            if let Some(mut end) = find(self.b, before + 1, b"/") {
                // `end` is the index of the closing slash; extend past escaped ones.
                loop {
                    if !escaped_end(&self.b[before + 1..end]) {
                        break;
                    }
                    match find(self.b, end + 1, b"/") {
                        Some(e) => end = e,
                        None => {
                            self.emit(Tok::Div, 1);
                            return;
                        }
                    }
                }
                let body = self.src[before + 1..end].replace("\\/", "/");
                self.push(Tok::Regex, before, end + 1, body);
                self.pos = end + 1;
                return;
            }
        }
        self.emit(Tok::Div, 1)
    }

    fn regexp_acceptable(&self) -> bool {
        !matches!(
            self.after,
            Some(
                Tok::RParen
                    | Tok::RBrack
                    | Tok::RRCollect
                    | Tok::RCollect
                    | Tok::Name
                    | Tok::ClassRef
                    | Tok::Number
                    | Tok::String
                    | Tok::Boolean
                    | Tok::DqPre
                    | Tok::DqMid
                    | Tok::DqPost
                    | Tok::Heredoc
                    | Tok::Regex
                    | Tok::Variable
                    | Tok::Word
            )
        )
    }

    fn colon(&mut self) {
        let before = self.pos;
        if self.peek(1) != b':' {
            return self.emit(Tok::Colon, 1);
        }
        let la2 = self.peek(2);
        if la2.is_ascii_uppercase() {
            let len = match_class_ref(self.b, before);
            let after = before + len;
            if len > 0 && !self.b[after..].starts_with(b"::") {
                let v = self.src[before..after].to_string();
                self.push(Tok::ClassRef, before, after, v);
                self.pos = after;
            } else {
                self.pos = after + 3;
                self.error(
                    "Illegal fully qualified class reference",
                    self.pos.min(self.b.len()),
                );
                self.pos = self.pos.min(self.b.len());
            }
        } else {
            let len = match_bare_word(self.b, before);
            if len > 0 {
                let v = self.src[before..before + len].to_string();
                let k = if is_name(&v) { Tok::Name } else { Tok::Word };
                self.push(k, before, before + len, v);
                self.pos = before + len;
            } else {
                self.pos = before + 2;
                self.error("Illegal fully qualified name", self.pos);
            }
        }
    }

    fn dollar(&mut self) {
        let before = self.pos;
        let len = match_variable(self.b, before + 1);
        if len > 0 {
            let v = self.src[before + 1..before + 1 + len].to_string();
            self.push(Tok::Variable, before, before + 1 + len, v);
            self.pos = before + 1 + len;
        } else {
            self.push(Tok::Variable, before, before + 1, String::new());
            self.pos = before + 1;
        }
    }

    fn number(&mut self) {
        let before = self.pos;
        match match_number(self.b, before) {
            Some(len) => {
                let v = self.src[before..before + len].to_string();
                if let Some(msg) = check_numeric(&v) {
                    self.error(msg, before);
                }
                self.push(Tok::Number, before, before + len, v);
                self.pos = before + len;
            }
            None => {
                let mut end = before;
                while end < self.b.len() && is_word(self.b[end]) {
                    end += 1;
                }
                let v = self.src[before..end].to_string();
                match check_numeric(&v) {
                    Some(msg) => self.error(msg, before),
                    None => self.error(format!("Illegal number '{v}'"), before + 1),
                }
                self.pos = end;
            }
        }
    }

    fn bare_word(&mut self) {
        let before = self.pos;
        let len = match_bare_word(self.b, before).max(1);
        let v = self.src[before..before + len].to_string();
        let kind = if is_name(&v) {
            Tok::keyword(&v).unwrap_or(Tok::Name)
        } else {
            Tok::Word
        };
        self.push(kind, before, before + len, v);
        self.pos = before + len;
    }

    fn class_ref(&mut self) {
        let before = self.pos;
        let len = match_class_ref(self.b, before);
        let after = before + len;
        if self.b[after..].starts_with(b"::") {
            self.error("Illegal class reference", after + 1);
            // Skip the whole qualified word so lexing resumes after it.
            let mut end = after;
            while end < self.b.len() && (is_word(self.b[end]) || self.b[end] == b':') {
                end += 1;
            }
            self.pos = end;
        } else {
            let v = self.src[before..after].to_string();
            self.push(Tok::ClassRef, before, after, v);
            self.pos = after;
        }
    }

    fn sq_string(&mut self) {
        let before = self.pos;
        let start = before + 1;
        let mut i = start;
        while i < self.b.len() {
            match self.b[i] {
                b'\\' => i += 2,
                b'\'' => break,
                _ => i += 1,
            }
        }
        if i >= self.b.len() {
            let fb = self.followed_by(start);
            self.error(
                format!("Unclosed quote after \"'\" followed by '{fb}'"),
                start,
            );
            self.pos = self.b.len();
            return;
        }
        let raw = &self.src[start..i];
        let v = if raw.contains('\\') {
            unescape_sq(raw)
        } else {
            raw.to_string()
        };
        self.push(Tok::String, before, i + 1, v);
        self.pos = i + 1;
    }

    /// Scans string text from the current position up to its terminator and processes its
    /// escapes. `None` when a quoted string has no closing quote.
    fn slurp(&mut self) -> Option<(String, Term)> {
        let start = self.pos;
        let n = self.b.len();
        let mut i = start;
        let (end, term, next) = loop {
            if i >= n {
                if self.slurp == Slurp::Dq {
                    return None;
                }
                break (n, Term::End, n);
            }
            let c = self.b[i];
            match self.slurp {
                Slurp::All => {
                    i = n;
                    continue;
                }
                Slurp::UqPlainDollar => {}
                Slurp::Dq | Slurp::UqEscapableDollar => {
                    if c == b'\\' {
                        i += 1;
                        // Skip the escaped character whole.
                        if i < n {
                            i += self.src[i..].chars().next().map_or(1, |c| c.len_utf8());
                        }
                        continue;
                    }
                }
            }
            if c == b'"' && self.slurp == Slurp::Dq {
                break (i, Term::Quote, i + 1);
            }
            if c == b'$' {
                if self.b.get(i + 1) == Some(&b'{') {
                    break (i, Term::DollarBrace, i + 2);
                }
                break (i, Term::Dollar, i + 1);
            }
            i += 1;
        };
        let raw = &self.src[start..end];
        let text = if raw.contains('\\') {
            self.unescape(raw, start)
        } else {
            raw.to_string()
        };
        self.pos = next;
        Some((text, term))
    }

    fn unescape(&mut self, raw: &str, at: usize) -> String {
        let escapes = self.escapes;
        let has = |e: &str| escapes.has(e);
        let warn_unknown = self.slurp == Slurp::Dq;
        // First pass: unicode escapes, repeated as Puppet does until nothing changes.
        let mut s = raw.to_string();
        if has("u") {
            loop {
                let (next, changed, bad) = replace_unicode(&s);
                if bad {
                    self.error(
                        "Unicode escape '\\u' was not followed by 4 hex digits or 1-6 hex digits in {} or was > 10ffff",
                        at,
                    );
                }
                s = next;
                if !changed {
                    break;
                }
            }
        }
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(&n) = chars.peek() else {
                out.push('\\');
                break;
            };
            if n == '\r' {
                chars.next();
                if chars.peek() == Some(&'\n') {
                    chars.next();
                    if has("\r\n") {
                        continue;
                    }
                    out.push_str("\\\r\n");
                    continue;
                }
                out.push_str("\\\r");
                continue;
            }
            chars.next();
            let key = n.to_string();
            if has(&key) {
                match n {
                    'r' => out.push('\r'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    's' => out.push(' '),
                    'u' => {
                        self.warning(
                            "Unicode escape '\\u' was not followed by 4 hex digits or 1-6 hex digits in {} or was > 10ffff",
                            at,
                        );
                        out.push_str("\\u");
                    }
                    '\n' => {}
                    other => out.push(other),
                }
            } else {
                if warn_unknown {
                    self.warning(format!("Unrecognized escape sequence '\\{n}'"), at);
                }
                out.push('\\');
                out.push(n);
            }
        }
        out
    }

    fn dq_string(&mut self) {
        let before = self.pos;
        self.pos += 1;
        self.slurp = Slurp::Dq;
        self.escapes = DQ_ESCAPES;
        self.interpolate(before, true);
    }

    /// The string body after its opening: emits `String`, or `DqPre` ... `DqPost` with the
    /// interpolated expressions' tokens between.
    fn interpolate(&mut self, mut before: usize, mut first: bool) {
        loop {
            let seg_start = self.pos;
            let Some((mut text, mut term)) = self.slurp() else {
                return self.unclosed_dq(seg_start);
            };
            let mut after = self.pos;
            loop {
                match term {
                    Term::Quote | Term::End => {
                        let kind = if first { Tok::String } else { Tok::DqPost };
                        let pos = self.pos;
                        self.push(kind, before, pos, text);
                        return;
                    }
                    Term::DollarBrace => {
                        let kind = if first { Tok::DqPre } else { Tok::DqMid };
                        let pos = self.pos;
                        self.push(kind, before, pos, text);
                        self.interpolated_expression();
                        break;
                    }
                    Term::Dollar => {
                        let len = match_variable(self.b, self.pos);
                        if len > 0 {
                            let kind = if first { Tok::DqPre } else { Tok::DqMid };
                            self.push(kind, before, after - 1, text);
                            let name = self.src[self.pos..self.pos + len].to_string();
                            self.push(Tok::Variable, after - 1, self.pos + len, name);
                            self.pos += len;
                            break;
                        }
                        text.push('$');
                        let seg = self.pos;
                        let Some((more, t)) = self.slurp() else {
                            return self.unclosed_dq(seg);
                        };
                        text.push_str(&more);
                        term = t;
                        after = self.pos;
                    }
                }
            }
            first = false;
            before = self.pos;
        }
    }

    fn unclosed_dq(&mut self, at: usize) {
        let fb = self.followed_by(at);
        self.error(format!("Unclosed quote after '\"' followed by '{fb}'"), at);
        self.pos = self.b.len();
    }

    /// Lexes the tokens of `${ ... }` up to its closing brace, then rewrites a leading bare
    /// name or number into a variable as Puppet does (`${x}`, `${x[1]}`, `${x.y}`).
    fn interpolated_expression(&mut self) {
        if self.depth >= depth::MAX_NESTING {
            let at = self.pos.saturating_sub(2);
            return self.nested_too_deep(depth::too_deep_message(), at);
        }
        self.depth += 1;
        depth::grow(|| self.interpolated_level());
        self.depth -= 1;
    }

    fn interpolated_level(&mut self) {
        let count = self.brace_count;
        self.brace_count += 1;
        let start = self.out.len();
        let saved = (self.slurp, self.escapes);
        // The code inside is ordinary code, whatever the string around it.
        self.skip_ws();
        while self.pos < self.b.len() {
            if self.b[self.pos] == b'}' && self.brace_count - 1 == count {
                self.brace_count -= 1;
                self.pos += 1;
                self.after = Some(Tok::RBrace);
                let q = self.out.len() - start;
                if q == 1 || (q > 1 && matches!(self.out[start + 1].kind, Tok::Dot | Tok::LBrack)) {
                    transform_to_variable(&mut self.out[start]);
                }
                break;
            }
            self.lex_one();
        }
        self.slurp = saved.0;
        self.escapes = saved.1;
    }

    fn heredoc(&mut self) {
        if self.heredoc_depth >= depth::MAX_HEREDOC_NESTING || self.depth >= depth::MAX_NESTING {
            let msg = if self.heredoc_depth >= depth::MAX_HEREDOC_NESTING {
                depth::heredoc_too_deep_message()
            } else {
                depth::too_deep_message()
            };
            let at = self.pos;
            return self.nested_too_deep(msg, at);
        }
        depth::grow(|| self.heredoc_level());
    }

    fn heredoc_level(&mut self) {
        let before = self.pos;
        let Some(close) = find(self.b, before, b")") else {
            let fb = self.followed_by(before);
            self.error(
                format!("Unclosed parenthesis after '@(' followed by '{fb}'"),
                before,
            );
            self.pos = self.b.len();
            return;
        };
        let pos_after = close + 1;
        let spec = &self.src[before..pos_after];
        let Some(h) = parse_heredoc_spec(spec) else {
            self.error(
                "Invalid syntax in heredoc expected @(endtag[:syntax][/escapes])",
                pos_after,
            );
            self.pos = pos_after;
            return;
        };
        let mut endtag = h.tag.trim().to_string();
        let mut dq = false;
        if endtag.len() >= 2 && endtag.starts_with('"') && endtag.ends_with('"') {
            dq = true;
            endtag = endtag[1..endtag.len() - 1].trim().to_string();
        }
        if endtag.is_empty() {
            self.error("Heredoc with an empty endtag", pos_after);
            self.pos = pos_after;
            return;
        }
        let mut escapes = Escapes::default();
        if let Some(esc) = &h.escapes {
            let esc = if esc.is_empty() {
                "trnsuL$"
            } else {
                esc.as_str()
            };
            let chars: Vec<char> = esc.chars().collect();
            let mut seen = Vec::new();
            for c in &chars {
                if seen.contains(c) {
                    let list: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
                    self.error(
                        format!(
                            "An escape char for @() may only appear once. Got '{}'",
                            list.join(", ")
                        ),
                        pos_after,
                    );
                    break;
                }
                seen.push(*c);
            }
            escapes.push("\\");
            for c in chars {
                match c {
                    't' => escapes.push("t"),
                    'r' => escapes.push("r"),
                    'n' => escapes.push("n"),
                    's' => escapes.push("s"),
                    'u' => escapes.push("u"),
                    '$' => escapes.push("$"),
                    'L' => {
                        escapes.push("\n");
                        escapes.push("\r\n");
                    }
                    other => {
                        self.error(
                            format!("Invalid heredoc escape char. Only t, r, n, s,  u, L, $ allowed. Got '{other}'"),
                            pos_after,
                        );
                    }
                }
            }
        }
        self.push(Tok::Heredoc, before, pos_after, h.syntax.clone());
        // Where the text starts: the next line, or after a previous heredoc's text.
        let text_start = match self.newline_jump {
            Some(j) => j,
            None => match find(self.b, pos_after, b"\n") {
                Some(i) => i + 1,
                None => {
                    self.error("Heredoc without any following lines of text", pos_after);
                    self.pos = self.b.len();
                    return;
                }
            },
        };
        let n = self.b.len();
        // The end line is the first line holding the tag that matches; only those lines are
        // looked at, each once.
        let mut found = None;
        let mut line_start = text_start;
        let mut search = text_start;
        while let Some(k) = find(self.b, search, endtag.as_bytes()) {
            while let Some(nl) = find(&self.b[..k], line_start, b"\n") {
                line_start = nl + 1;
            }
            let end = find(self.b, k, b"\n").map_or(n, |i| i + 1);
            if let Some(m) = match_end_line(&self.src[line_start..end], &endtag) {
                found = Some((m, line_start, end));
                break;
            }
            search = end;
            line_start = end;
        }
        let Some((m, text_end, line_end)) = found else {
            self.error("Heredoc without end-tagged line", text_start);
            self.pos = self.b.len();
            return;
        };
        let mut lines: Vec<(usize, usize)> = Vec::new(); // (start, end) of each text line
        let mut at = text_start;
        while at < text_end {
            let end = find(&self.b[..text_end], at, b"\n").map_or(text_end, |i| i + 1);
            lines.push((at, end));
            at = end;
        }
        self.newline_jump = Some(line_end);
        // Build the text, removing the margin, and the offset map back to the file.
        let mut text = String::new();
        let mut map = Vec::with_capacity(lines.len() + 1);
        for &(s, e) in &lines {
            let line = &self.src[s..e];
            let margin =
                if m.margin && !m.leading.is_empty() && line.starts_with(m.leading.as_str()) {
                    m.leading.len()
                } else {
                    0
                };
            map.push((text.len(), s + margin));
            text.push_str(&line[margin..]);
        }
        if m.trim_break {
            if text.ends_with("\r\n") {
                text.truncate(text.len() - 2);
            } else if text.ends_with('\n') {
                text.truncate(text.len() - 1);
            }
        }
        if map.is_empty() {
            map.push((0, text_start));
        }
        let slurp = if dq {
            if escapes.has("$") {
                Slurp::UqEscapableDollar
            } else {
                Slurp::UqPlainDollar
            }
        } else {
            Slurp::All
        };
        let base = self.tok_base + self.out.len();
        let mut sub = Lexer::new(&text, Some(map), base);
        sub.escapes = escapes;
        sub.slurp = slurp;
        sub.depth = self.depth + 1;
        sub.heredoc_depth = self.heredoc_depth + 1;
        sub.interpolate(0, true);
        let sub_first = sub.first_error_token;
        self.out.append(&mut sub.out);
        self.diags.append(&mut sub.diags);
        if self.first_error_token.is_none() {
            self.first_error_token = sub_first;
        }
        self.after = self.out.last().map(|t| t.kind);
        self.pos = pos_after;
        if sub.too_deep {
            // The error is recorded; stop here as the nested lexer did.
            self.too_deep = true;
            self.pos = self.b.len();
        }
    }

    /// EPP text mode: scans template text up to the next tag and switches mode.
    fn interpolate_epp(&mut self, skip_leading: bool) {
        let before = self.pos;
        let (mode, text) = self.epp_scan(skip_leading);
        match mode {
            EppScan::Text => {
                if let Some(s) = text {
                    let pos = self.pos;
                    self.push(Tok::RenderString, before, pos, s);
                }
                self.epp_open = None;
            }
            EppScan::Error(msg) => {
                let pos = self.pos;
                self.error(msg, pos);
                self.pos = self.b.len();
                self.epp_open = None;
            }
            EppScan::Code | EppScan::Expr => {
                if let Some(s) = text.filter(|s| !s.is_empty()) {
                    let pos = self.pos;
                    self.push(Tok::RenderString, before, pos, s);
                }
                if mode == EppScan::Expr {
                    self.push(Tok::RenderExpr, before, before, String::new());
                    self.epp_mode = Some(EppMode::Expr);
                } else {
                    self.epp_mode = Some(EppMode::Code);
                }
                self.epp_open = Some(self.pos);
            }
        }
    }

    fn epp_scan(&mut self, mut skip_leading: bool) -> (EppScan, Option<String>) {
        if self.pos >= self.b.len() {
            return (EppScan::Text, None);
        }
        let mut s = String::new();
        while self.pos < self.b.len() {
            let end = find(self.b, self.pos, b"<%").map_or(self.b.len(), |i| i + 2);
            let mut part = self.src[self.pos..end].to_string();
            self.pos = end;
            if skip_leading {
                part = strip_leading_line(&part);
                skip_leading = false;
            }
            s.push_str(&part.replace("%%>", "%>"));
            match self.b.get(self.pos) {
                None => {
                    if s.ends_with("<%") {
                        return (
                            EppScan::Error(
                                "Unbalanced embedded expression - opening <% and reaching end of input",
                            ),
                            Some(s),
                        );
                    }
                    return (EppScan::Text, Some(s));
                }
                Some(b'-') => {
                    self.pos += 1;
                    s.truncate(s.len() - 2);
                    let trimmed = s.trim_end_matches([' ', '\t']).len();
                    s.truncate(trimmed);
                    return (EppScan::Code, Some(s));
                }
                Some(b'%') => {
                    self.pos += 1;
                }
                Some(b'=') => {
                    self.pos += 1;
                    s.truncate(s.len() - 2);
                    return (EppScan::Expr, Some(s));
                }
                Some(b'#') => {
                    s.truncate(s.len() - 2);
                    // The comment ends at the first `%>` preceded by something other than `%`.
                    let mut j = self.pos;
                    let close = loop {
                        match find(self.b, j, b"%>") {
                            Some(k) if k > self.pos && self.b[k - 1] != b'%' => break Some(k),
                            Some(k) => j = k + 1,
                            None => break None,
                        }
                    };
                    let Some(k) = close else {
                        return (
                            EppScan::Error("Reaching end after opening <%# without seeing %>"),
                            Some(s),
                        );
                    };
                    let part = &self.src[self.pos..k + 2];
                    if part.as_bytes().get(1) == Some(&b'-') {
                        let trimmed = s.trim_end_matches([' ', '\t']).len();
                        s.truncate(trimmed);
                    }
                    if part.ends_with("-%>") {
                        skip_leading = true;
                    }
                    self.pos = k + 2;
                }
                Some(_) => {
                    s.truncate(s.len() - 2);
                    return (EppScan::Code, Some(s));
                }
            }
        }
        // Puppet's scanner drops text gathered since the last tag when the input ends right
        // after a comment or `<%%`; keep its behaviour.
        (EppScan::Text, None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EppScan {
    Text,
    Code,
    Expr,
    Error(&'static str),
}

/// Removes `[ \t]*\r?\n?` at the start of the text (the effect of `-%>`).
fn strip_leading_line(part: &str) -> String {
    let b = part.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    if b.get(i) == Some(&b'\r') {
        i += 1;
    }
    if b.get(i) == Some(&b'\n') {
        i += 1;
    }
    part[i..].to_string()
}

fn is_unicode_blank(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    if from > b.len() {
        return None;
    }
    let hay = &b[from..];
    let (&first, rest) = pat.split_first()?;
    let mut i = 0;
    // Jump from one occurrence of the first byte to the next (a fast byte search).
    while let Some(k) = hay.get(i..)?.iter().position(|&c| c == first) {
        let at = i + k;
        if hay.get(at + 1..at + pat.len()) == Some(rest) {
            return Some(at + from);
        }
        i = at + 1;
    }
    None
}

/// True when the regex body ends in an odd number of backslashes (so its `/` is escaped).
fn escaped_end(body: &[u8]) -> bool {
    let mut escaped = false;
    for &c in body {
        if c == b'\\' {
            escaped = !escaped;
        } else {
            escaped = false;
        }
    }
    escaped
}

/// `((::)?[a-z_](?:[\w-]*[\w])?)+` anchored at `pos`; returns the match length.
pub(crate) fn match_bare_word(b: &[u8], pos: usize) -> usize {
    let mut i = pos;
    loop {
        let j = if b[i..].starts_with(b"::") { i + 2 } else { i };
        match b.get(j) {
            Some(c) if c.is_ascii_lowercase() || *c == b'_' => {
                let mut k = j + 1;
                let mut last = j + 1;
                while k < b.len() && (is_word(b[k]) || b[k] == b'-') {
                    k += 1;
                    if is_word(b[k - 1]) {
                        last = k;
                    }
                }
                i = last;
            }
            _ => break,
        }
    }
    i - pos
}

/// `^((::)?[a-z]\w*)(::[a-z]\w*)*$`
pub(crate) fn is_name(s: &str) -> bool {
    let s = s.strip_prefix("::").unwrap_or(s);
    !s.is_empty()
        && s.split("::").all(|seg| {
            let b = seg.as_bytes();
            !b.is_empty() && b[0].is_ascii_lowercase() && b.iter().all(|c| is_word(*c))
        })
}

/// `((::)?[A-Z]\w*)+` anchored at `pos`.
fn match_class_ref(b: &[u8], pos: usize) -> usize {
    let mut i = pos;
    loop {
        let j = if b[i..].starts_with(b"::") { i + 2 } else { i };
        match b.get(j) {
            Some(c) if c.is_ascii_uppercase() => {
                let mut k = j + 1;
                while k < b.len() && is_word(b[k]) {
                    k += 1;
                }
                i = k;
            }
            _ => break,
        }
    }
    i - pos
}

/// `(::)?(\w+::)*\w+` anchored at `pos` (the text after `$`).
fn match_variable(b: &[u8], pos: usize) -> usize {
    let mut i = pos;
    if b[i.min(b.len())..].starts_with(b"::") {
        i += 2;
    }
    let mut end = None;
    loop {
        let s = i;
        while i < b.len() && is_word(b[i]) {
            i += 1;
        }
        if i == s {
            break;
        }
        end = Some(i);
        if b[i..].starts_with(b"::") && b.get(i + 2).is_some_and(|c| is_word(*c)) {
            i += 2;
        } else {
            break;
        }
    }
    end.map_or(0, |e| e - pos)
}

/// `0[xX][0-9A-Fa-f]+|0?\d+(\.\d+)?([eE]-?\d+)?` followed by a word boundary.
fn match_number(b: &[u8], pos: usize) -> Option<usize> {
    let boundary = |i: usize| !b.get(i).is_some_and(|c| is_word(*c));
    if b[pos] == b'0' && matches!(b.get(pos + 1), Some(b'x' | b'X')) {
        let mut i = pos + 2;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i > pos + 2 && boundary(i) {
            return Some(i - pos);
        }
    }
    let mut i = pos;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_end = i;
    let mut frac_end = int_end;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_end = i;
    }
    let mut exp_end = frac_end;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            exp_end = j;
        }
    }
    [exp_end, frac_end, int_end]
        .into_iter()
        .find(|&e| boundary(e))
        .map(|e| e - pos)
}

/// Puppet's checks of a number's text; `Some(message)` when it is not valid.
fn check_numeric(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let all = |s: &[u8], f: fn(&u8) -> bool| !s.is_empty() && s.iter().all(f);
    if b.len() >= 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        if !all(&b[2..], u8::is_ascii_hexdigit) {
            return Some(format!("Not a valid hex number {v}"));
        }
    } else if b.len() >= 2 && b[0] == b'0' && b[1] != b'.' {
        if !all(&b[1..], |c| (b'0'..=b'7').contains(c)) {
            return Some(format!("Not a valid octal number {v}"));
        }
    } else {
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && digits < b.len() && matches!(b[digits], b'e' | b'E' | b'.') {
            if !is_decimal(v) {
                return Some(format!("Not a valid decimal number {v}"));
            }
        } else if !all(b, u8::is_ascii_digit) {
            return Some(format!("Illegal number '{v}'"));
        }
    }
    None
}

/// `^\d+(\.\d+)?([eE]-?\d+)?$`
fn is_decimal(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    if !digits(&mut i) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && b[i] == b'-' {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

fn unescape_sq(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if n == '\\' || n == '\'' {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// One pass of `\uXXXX` / `\u{X..}` replacement (skipping escaped backslashes).
/// Returns the new text, whether anything changed, and whether a code point was invalid.
fn replace_unicode(s: &str) -> (String, bool, bool) {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut bad = false;
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'\\') {
            i += 2;
            continue;
        }
        if b.get(i + 1) == Some(&b'u') {
            let j = i + 2;
            let (hex, end) = if b.get(j) == Some(&b'{') {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_hexdigit() && k - (j + 1) < 6 {
                    k += 1;
                }
                if k > j + 1 && b.get(k) == Some(&b'}') {
                    (Some(&s[j + 1..k]), k + 1)
                } else {
                    (None, 0)
                }
            } else if b.len() >= j + 4 && b[j..j + 4].iter().all(u8::is_ascii_hexdigit) {
                (Some(&s[j..j + 4]), j + 4)
            } else {
                (None, 0)
            };
            if let Some(hex) = hex {
                let cp = u32::from_str_radix(hex, 16).unwrap_or(u32::MAX);
                match char::from_u32(cp) {
                    Some(ch) => {
                        out.push_str(&s[last..i]);
                        out.push(ch);
                        last = end;
                        changed = true;
                    }
                    None => bad = true,
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    (out, changed, bad)
}

fn transform_to_variable(t: &mut Token) {
    if matches!(t.kind, Tok::Number | Tok::Name | Tok::Word | Tok::Boolean) || t.kind.is_keyword() {
        t.kind = Tok::Variable;
    }
}

struct HeredocSpec {
    tag: String,
    syntax: String,
    escapes: Option<String>,
}

/// Matches `@(tag[:syntax][/escapes])` anywhere in `spec` (which ends at the first `)`).
fn parse_heredoc_spec(spec: &str) -> Option<HeredocSpec> {
    let mut from = 0;
    while let Some(rel) = spec[from..].find("@(") {
        let start = from + rel + 2;
        if let Some(h) = parse_heredoc_spec_at(&spec[start..]) {
            return Some(h);
        }
        from = start;
    }
    None
}

fn parse_heredoc_spec_at(s: &str) -> Option<HeredocSpec> {
    let blank = |c: char| c == ' ' || c == '\t' || is_unicode_blank(c);
    let tag_len = s.find([':', '/', '\r', '\n', ')']).unwrap_or(s.len());
    if tag_len == 0 {
        return None;
    }
    let tag = s[..tag_len].to_string();
    let mut rest = &s[tag_len..];
    let mut syntax = String::new();
    if let Some(r) = rest.strip_prefix(':') {
        let r = r.trim_start_matches(blank);
        let b = r.as_bytes();
        if b.first().is_some_and(|c| c.is_ascii_lowercase()) {
            let n = 1 + b[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'+')
                .count();
            if n >= 2 {
                syntax = r[..n].to_string();
                rest = r[n..].trim_start_matches(blank);
            } else {
                return None;
            }
        } else {
            return None;
        }
    }
    let mut escapes = None;
    if let Some(r) = rest.strip_prefix('/') {
        let n = r.bytes().take_while(|c| is_word(*c) || *c == b'$').count();
        escapes = Some(r[..n].to_string());
        rest = r[n..].trim_start_matches(blank);
    }
    if rest == ")" {
        Some(HeredocSpec {
            tag,
            syntax,
            escapes,
        })
    } else {
        None
    }
}

struct EndLine {
    leading: String,
    margin: bool,
    trim_break: bool,
}

/// Puppet's (unanchored) end-tag line pattern:
/// `([[:blank:]]*)(?:([|])[[:blank:]]*)?(?:(\-)[[:blank:]]*)?TAG[[:blank:]]*\r?(?:\n|\z)`.
fn match_end_line(line: &str, tag: &str) -> Option<EndLine> {
    let is_blank = |c: char| c == ' ' || c == '\t' || is_unicode_blank(c);
    if !line.contains(tag) {
        return None;
    }
    let mut prev_blank = false;
    for (start, c) in line.char_indices() {
        // A match from a start after a blank is also a match from that blank, which was
        // tried first: skipping these keeps a long run of blanks linear.
        let after_blank = std::mem::replace(&mut prev_blank, is_blank(c));
        if after_blank {
            continue;
        }
        let s = &line[start..];
        let lead_len = s.len() - s.trim_start_matches(is_blank).len();
        let leading = &s[..lead_len];
        let mut r = &s[lead_len..];
        let mut margin = false;
        let mut trim = false;
        if let Some(x) = r.strip_prefix('|') {
            margin = true;
            r = x.trim_start_matches(is_blank);
        }
        if let Some(x) = r.strip_prefix('-') {
            trim = true;
            r = x.trim_start_matches(is_blank);
        }
        if let Some(x) = r.strip_prefix(tag) {
            let x = x.trim_start_matches(is_blank);
            let x = x.strip_prefix('\r').unwrap_or(x);
            if x.is_empty() || x == "\n" {
                return Some(EndLine {
                    leading: leading.to_string(),
                    margin,
                    trim_break: trim,
                });
            }
        }
    }
    None
}
