//! The Puppet lexer: source text to tokens, with Puppet's context rules, string interpolation,
//! heredocs and EPP text mode. It never stops early: a lexical error is recorded and lexing
//! goes on from a sensible place, so the parser always gets a token stream.
//!
//! The lexer is one state machine, `Lexer`, whose methods are spread over this folder by
//! concern. This file owns the entry points ([`lex`], [`lex_epp`]), the state and the types it
//! holds (EPP mode, how string text is scanned, which escapes apply), the recording of tokens
//! and diagnostics (offsets inside heredoc text mapped back to the file), the byte-level
//! helpers, and `lex_one`, the dispatch on the next character, which lexes the fixed-text
//! operators and punctuation itself and hands the rest to:
//!
//! * `names`: bare words, names, class references, `::`-qualified names, variables;
//! * `literals`: numbers (Puppet's hex, octal and decimal checks) and `/` (division, regex or
//!   comment, by the previous token);
//! * `strings`: quoted strings, their escapes and `$x`/`${...}` interpolation;
//! * `heredoc`: `@(TAG:syntax/escapes)` heredocs, whose text a nested `Lexer` reads as a string body;
//! * `epp`: EPP text mode and its tags.
//!
//! What each may use: this file and `crate::{token, diag, depth}`; besides, `strings` uses
//! `names` (variable names) and `heredoc` uses `strings` (the text body). This file imports no
//! file of the folder. The one call back into `lex_one` is for code nested in a string
//! (`${...}`, in `strings`), which is the language's own recursion, bounded by `depth`.

mod epp;
mod heredoc;
mod literals;
mod names;
mod strings;

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
