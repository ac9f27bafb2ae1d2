//! Single- and double-quoted strings: their end, their escapes (`\\`, `\n`, `\u{...}`, ...) and
//! `$x`/`${...}` interpolation, which lexes the code inside as ordinary tokens. Heredoc text is
//! read by the same scanner, with its own escapes and scanning mode.

use super::names::match_variable;
use super::{Lexer, Slurp, DQ_ESCAPES};
use crate::depth;
use crate::token::{Tok, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Quote,
    DollarBrace,
    Dollar,
    End,
}

impl<'a> Lexer<'a> {
    pub(super) fn sq_string(&mut self) {
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

    pub(super) fn dq_string(&mut self) {
        let before = self.pos;
        self.pos += 1;
        self.slurp = Slurp::Dq;
        self.escapes = DQ_ESCAPES;
        self.interpolate(before, true);
    }

    /// The string body after its opening: emits `String`, or `DqPre` ... `DqPost` with the
    /// interpolated expressions' tokens between.
    pub(super) fn interpolate(&mut self, mut before: usize, mut first: bool) {
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
