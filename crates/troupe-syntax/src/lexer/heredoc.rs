//! Heredocs: the `@(TAG:syntax/escapes)` spec, the end-tag line (`|` margin, `-` trim), several
//! heredocs per line, and the text, read by a nested `Lexer` whose offsets map back to the file.

use super::{find, is_unicode_blank, is_word, Escapes, Lexer, Slurp};
use crate::depth;
use crate::token::Tok;

impl<'a> Lexer<'a> {
    pub(super) fn heredoc(&mut self) {
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
