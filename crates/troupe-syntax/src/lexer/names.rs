//! Bare words and names (`a::b`, `::a`), class references (`A::B`) and variables (`$a::b`),
//! with Puppet's patterns for each.

use super::{is_word, Lexer};
use crate::token::Tok;

impl<'a> Lexer<'a> {
    pub(super) fn colon(&mut self) {
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

    pub(super) fn dollar(&mut self) {
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

    pub(super) fn bare_word(&mut self) {
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

    pub(super) fn class_ref(&mut self) {
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
}

/// `((::)?[a-z_](?:[\w-]*[\w])?)+` anchored at `pos`; returns the match length.
fn match_bare_word(b: &[u8], pos: usize) -> usize {
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
fn is_name(s: &str) -> bool {
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
pub(super) fn match_variable(b: &[u8], pos: usize) -> usize {
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
