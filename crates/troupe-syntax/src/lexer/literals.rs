//! Numbers, with Puppet's hex, octal and decimal checks, and `/`: a comment (`/* */`), a regex
//! where the previous token allows one, else division.

use super::{find, is_word, Lexer};
use crate::token::Tok;

impl<'a> Lexer<'a> {
    pub(super) fn slash(&mut self) {
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

    pub(super) fn number(&mut self) {
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
