//! EPP text mode: template text up to the next tag (`<%`, `<%=`, `<%-`, `<%#`, `<%%`), with the
//! trimming of `-%>` and `<%-`.

use super::{find, EppMode, Lexer};
use crate::token::Tok;

impl<'a> Lexer<'a> {
    /// EPP text mode: scans template text up to the next tag and switches mode.
    pub(super) fn interpolate_epp(&mut self, skip_leading: bool) {
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
