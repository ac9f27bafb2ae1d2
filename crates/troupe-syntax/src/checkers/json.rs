//! The `json` heredoc checker: whether Ruby's JSON parser (json 2.6, as Puppet 7 runs it)
//! accepts the text, and its error message when it does not.
//!
//! Ruby's parser names the place it stopped by the rest of the text from there, prefixed by
//! the line of its C source that raised: 451 when a value or separator inside an Array is
//! wrong (at that value or separator), 859 otherwise (at the top-level value that failed, or
//! at what follows a complete one). An Object that fails does not raise by itself: the
//! enclosing Array or the document reports it at the Object's start.

/// Where and how parsing stopped: Ruby's source line and the byte offset, or nesting
/// deeper than Ruby's limit of 100.
enum Stop {
    At(u32, usize),
    Nesting,
}

/// A value that did not parse: `Raised` when an Array already reported it.
enum Fail {
    Value,
    Raised(Stop),
}

struct P<'a> {
    b: &'a [u8],
    depth: usize,
}

/// Puppet's message when `text` is not JSON.
pub(super) fn check(text: &str) -> Option<String> {
    let mut p = P {
        b: text.as_bytes(),
        depth: 0,
    };
    let full = match p.document()? {
        Stop::At(line, at) => {
            let rest = String::from_utf8_lossy(&p.b[at.min(p.b.len())..]);
            format!("{line}: unexpected token at '{rest}'")
        }
        Stop::Nesting => "nesting of 101 is too deep".to_string(),
    };
    let cut: String = full.chars().take(100).collect();
    Some(format!(
        "JSON syntax checker: Cannot parse invalid JSON string. \"{}\"",
        cut.replace("\r\n", "\\n").replace('\n', "\\n")
    ))
}

impl P<'_> {
    fn document(&mut self) -> Option<Stop> {
        let start = self.ws(0);
        if start >= self.b.len() {
            return Some(Stop::At(859, start));
        }
        match self.value(start) {
            Ok(end) => {
                let end = self.ws(end);
                (end < self.b.len()).then_some(Stop::At(859, end))
            }
            Err(Fail::Raised(s)) => Some(s),
            Err(Fail::Value) => Some(Stop::At(859, start)),
        }
    }

    /// Skips white space and comments (Ruby's parser ignores `/* */` and `//` comments).
    fn ws(&self, mut i: usize) -> usize {
        loop {
            match self.b.get(i) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => i += 1,
                Some(b'/') if self.b.get(i + 1) == Some(&b'*') => {
                    match self.b[i + 2..].windows(2).position(|w| w == b"*/") {
                        Some(n) => i += n + 4,
                        None => return i,
                    }
                }
                Some(b'/') if self.b.get(i + 1) == Some(&b'/') => {
                    while i < self.b.len() && self.b[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => return i,
            }
        }
    }

    /// Parses the value at `i`; the offset after it.
    fn value(&mut self, i: usize) -> Result<usize, Fail> {
        match self.b.get(i) {
            Some(b'"') => self.string(i).ok_or(Fail::Value),
            Some(b'[') => self.nested(|p| p.array(i)),
            Some(b'{') => self.nested(|p| p.object(i)),
            Some(b'-' | b'0'..=b'9') => self.number(i).ok_or(Fail::Value),
            _ => ["true", "false", "null"]
                .iter()
                .find(|w| self.b[i..].starts_with(w.as_bytes()))
                .map(|w| i + w.len())
                .ok_or(Fail::Value),
        }
    }

    /// Ruby's parser refuses nesting deeper than 100 (and so does this, before recursing
    /// further).
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Result<usize, Fail>) -> Result<usize, Fail> {
        if self.depth >= 100 {
            return Err(Fail::Raised(Stop::Nesting));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn array(&mut self, start: usize) -> Result<usize, Fail> {
        let mut i = self.ws(start + 1);
        if self.b.get(i) == Some(&b']') {
            return Ok(i + 1);
        }
        loop {
            i = match self.value(i) {
                Ok(end) => self.ws(end),
                Err(Fail::Value) => return Err(Fail::Raised(Stop::At(451, i))),
                Err(raised) => return Err(raised),
            };
            match self.b.get(i) {
                Some(b']') => return Ok(i + 1),
                Some(b',') => i = self.ws(i + 1),
                _ => return Err(Fail::Raised(Stop::At(451, i))),
            }
        }
    }

    fn object(&mut self, start: usize) -> Result<usize, Fail> {
        let mut i = self.ws(start + 1);
        if self.b.get(i) == Some(&b'}') {
            return Ok(i + 1);
        }
        loop {
            if self.b.get(i) != Some(&b'"') {
                return Err(Fail::Value);
            }
            i = self.ws(self.string(i).ok_or(Fail::Value)?);
            if self.b.get(i) != Some(&b':') {
                return Err(Fail::Value);
            }
            let at = self.ws(i + 1);
            i = self.value(at)?;
            i = self.ws(i);
            match self.b.get(i) {
                Some(b'}') => return Ok(i + 1),
                Some(b',') => i = self.ws(i + 1),
                _ => return Err(Fail::Value),
            }
        }
    }

    fn string(&self, start: usize) -> Option<usize> {
        let mut i = start + 1;
        loop {
            match *self.b.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => i += 2,
                c if c < 0x20 => return None,
                _ => i += 1,
            }
        }
    }

    fn number(&self, start: usize) -> Option<usize> {
        let digits = |mut i: usize| {
            let from = i;
            while self.b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
            (i > from).then_some(i)
        };
        let mut i = start + usize::from(self.b[start] == b'-');
        i = if self.b.get(i) == Some(&b'0') {
            i + 1
        } else {
            digits(i)?
        };
        if self.b.get(i) == Some(&b'.') {
            if let Some(j) = digits(i + 1) {
                i = j;
            }
        }
        if matches!(self.b.get(i), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.b.get(i + 1), Some(b'+' | b'-')));
            if let Some(j) = digits(i + 1 + sign) {
                i = j;
            }
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn at(text: &str) -> String {
        check(text).map_or("ok".into(), |m| {
            m.trim_start_matches("JSON syntax checker: Cannot parse invalid JSON string. ")
                .to_string()
        })
    }

    /// Each answer is what Ruby 3.1's json 2.6.1 says (`JSON.parse`).
    #[test]
    fn ruby_messages() {
        assert_eq!(at(r#"["foo", "bar"]"#), "ok");
        assert_eq!(
            at(r#"['foo', "bar"]"#),
            r#""451: unexpected token at ''foo', "bar"]'""#
        );
        assert_eq!(
            at(r#"{"a": 1,}"#),
            r#""859: unexpected token at '{"a": 1,}'""#
        );
        assert_eq!(at("[1, 2"), r#""451: unexpected token at ''""#);
        assert_eq!(at(""), r#""859: unexpected token at ''""#);
        assert_eq!(at("[1] x"), r#""859: unexpected token at 'x'""#);
        assert_eq!(
            at(r#"[{"a" 1}]"#),
            r#""451: unexpected token at '{"a" 1}]'""#
        );
        assert_eq!(
            at(r#"{"a": [1, x]}"#),
            r#""451: unexpected token at 'x]}'""#
        );
        assert_eq!(at("[1 2]"), r#""451: unexpected token at '2]'""#);
        assert_eq!(at("[1.]"), r#""451: unexpected token at '.]'""#);
        assert_eq!(at("[-]"), r#""451: unexpected token at '-]'""#);
        assert_eq!(at(&"[".repeat(100_000)), r#""nesting of 101 is too deep""#);
        assert_eq!(at(&("[".repeat(100) + &"]".repeat(100))), "ok");
    }
}
