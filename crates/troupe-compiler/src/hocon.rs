//! HOCON, for Hiera's `hocon_data` backend: JSON plus comments, unquoted keys and strings,
//! `=` or `:`, optional commas and root braces, dotted keys, object merging, value
//! concatenation, triple-quoted strings, `+=` and `${path}` / `${?path}` substitutions.

use serde_json::{Map, Number, Value as J};

/// Parses a HOCON document into a JSON value (the root object).
pub fn parse(text: &str) -> Result<J, String> {
    let mut p = P {
        s: text.as_bytes(),
        text,
        i: 0,
        line: 1,
    };
    p.skip_ws(true);
    let root = if p.peek() == Some(b'{') {
        p.i += 1;
        let o = p.object_body(Some(b'}'))?;
        p.skip_ws(true);
        o
    } else if p.peek() == Some(b'[') {
        return Err(p.err("a Hiera data file must hold an object, not an array"));
    } else {
        p.object_body(None)?
    };
    if p.i < p.s.len() {
        return Err(p.err("unexpected text after the root object"));
    }
    let root = Node::Obj(root);
    // Substitutions are looked up in the previous pass's result until nothing changes.
    let mut ctx = J::Object(Map::new());
    for _ in 0..16 {
        let out = resolve(&root, &ctx, false)?;
        if !has_unresolved(&out) && out == ctx {
            let mut out = resolve(&root, &out, true)?;
            strip_optional(&mut out);
            return Ok(out);
        }
        ctx = out;
    }
    resolve(&root, &ctx, true)?;
    Err("substitution cycle in HOCON document".into())
}

/// A parsed value before substitutions are resolved.
#[derive(Clone, Debug)]
enum Node {
    Obj(Vec<(Vec<String>, Node, bool)>),
    Arr(Vec<Node>),
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
    /// `${path}` or `${?path}`.
    Subst(Vec<String>, bool),
    /// Concatenated pieces; `true` marks whitespace kept between string pieces.
    Concat(Vec<Node>),
}

struct P<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    line: usize,
}

const FORBIDDEN: &[u8] = b"$\"{}[]:=,+#`^?!@*&\\";

impl P<'_> {
    fn err(&self, msg: &str) -> String {
        format!("{msg} (line {})", self.line)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn starts(&self, t: &str) -> bool {
        self.s[self.i..].starts_with(t.as_bytes())
    }

    /// Skips spaces and comments, and newlines too when `newlines`.
    fn skip_ws(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                if !newlines {
                    return;
                }
                self.line += 1;
                self.i += 1;
            } else if c == b' ' || c == b'\t' || c == b'\r' || self.starts("\u{feff}") {
                self.i += if c < 0x80 { 1 } else { 3 };
            } else if c == b'#' || self.starts("//") {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.i += 1;
                }
            } else {
                return;
            }
        }
    }

    fn object_body(&mut self, close: Option<u8>) -> Result<Vec<(Vec<String>, Node, bool)>, String> {
        let mut fields = vec![];
        loop {
            self.skip_ws(true);
            match self.peek() {
                None if close.is_none() => return Ok(fields),
                None => return Err(self.err("unterminated object, expected '}'")),
                Some(c) if Some(c) == close => {
                    self.i += 1;
                    return Ok(fields);
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            if self.starts("include ") || self.starts("include\t") {
                return Err(self.err("HOCON include is not supported"));
            }
            let key = self.key()?;
            self.skip_ws(false);
            let append = match self.peek() {
                Some(b':') | Some(b'=') => {
                    self.i += 1;
                    false
                }
                Some(b'+') if self.starts("+=") => {
                    self.i += 2;
                    true
                }
                Some(b'{') => false,
                _ => {
                    return Err(self.err(&format!(
                        "expected ':' or '=' after key '{}'",
                        key.join(".")
                    )))
                }
            };
            self.skip_ws(false);
            let v = self.value()?;
            fields.push((key, v, append));
            self.skip_ws(false);
            match self.peek() {
                Some(b',') | Some(b'\n') => {}
                Some(b'#') => {}
                Some(b'/') if self.starts("//") => {}
                Some(c) if Some(c) == close => {}
                None => {}
                Some(c) => {
                    return Err(self.err(&format!("unexpected '{}' after a value", c as char)))
                }
            }
        }
    }

    fn key(&mut self) -> Result<Vec<String>, String> {
        let mut path = vec![];
        let mut cur = String::new();
        let mut any = false;
        loop {
            match self.peek() {
                Some(b'"') => {
                    cur.push_str(&self.quoted()?);
                    any = true;
                }
                Some(b'.') => {
                    path.push(std::mem::take(&mut cur));
                    self.i += 1;
                }
                Some(c) if c == b' ' || c == b'\t' => {
                    // Whitespace inside a key is kept only between key parts.
                    let save = self.i;
                    self.skip_ws(false);
                    match self.peek() {
                        Some(b':') | Some(b'=') | Some(b'{') | Some(b'+') => break,
                        _ => {
                            cur.push_str(&self.text[save..self.i]);
                        }
                    }
                }
                Some(c) if !FORBIDDEN.contains(&c) && c != b'\n' && !self.starts("//") => {
                    let start = self.i;
                    while self.peek().is_some_and(|c| {
                        !FORBIDDEN.contains(&c) && c != b'.' && !c.is_ascii_whitespace()
                    }) && !self.starts("//")
                    {
                        self.i += 1;
                    }
                    cur.push_str(&self.text[start..self.i]);
                    any = true;
                }
                _ => break,
            }
        }
        if !any && path.is_empty() {
            return Err(self.err("expected a key"));
        }
        path.push(cur);
        Ok(path)
    }

    fn quoted(&mut self) -> Result<String, String> {
        if self.starts("\"\"\"") {
            self.i += 3;
            let start = self.i;
            while self.i < self.s.len() && !self.starts("\"\"\"") {
                if self.s[self.i] == b'\n' {
                    self.line += 1;
                }
                self.i += 1;
            }
            if self.i >= self.s.len() {
                return Err(self.err("unterminated triple-quoted string"));
            }
            // Extra quotes before the closing three belong to the string.
            while self.s.get(self.i + 3) == Some(&b'"') {
                self.i += 1;
            }
            let out = self.text[start..self.i].to_string();
            self.i += 3;
            return Ok(out);
        }
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            match c {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return serde_json::from_str::<String>(&self.text[start..self.i])
                        .map_err(|e| self.err(&format!("bad string: {e}")));
                }
                b'\n' => return Err(self.err("newline in a quoted string")),
                _ => self.i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }

    /// A value: one or more pieces on the same line, concatenated.
    fn value(&mut self) -> Result<Node, String> {
        let mut pieces: Vec<Node> = vec![];
        loop {
            let c = match self.peek() {
                None => break,
                Some(c) => c,
            };
            if c == b',' || c == b'\n' || c == b'}' || c == b']' || c == b'#' || self.starts("//") {
                break;
            }
            let piece = match c {
                b'{' => {
                    self.i += 1;
                    Node::Obj(self.object_body(Some(b'}'))?)
                }
                b'[' => {
                    self.i += 1;
                    let mut items = vec![];
                    loop {
                        self.skip_ws(true);
                        match self.peek() {
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            Some(b',') => self.i += 1,
                            None => return Err(self.err("unterminated array, expected ']'")),
                            _ => items.push(self.value()?),
                        }
                    }
                    Node::Arr(items)
                }
                b'"' => Node::Str(self.quoted()?),
                b'$' if self.starts("${") => {
                    self.i += 2;
                    let optional = self.peek() == Some(b'?');
                    if optional {
                        self.i += 1;
                    }
                    self.skip_ws(false);
                    let path = self.key()?;
                    self.skip_ws(false);
                    if self.peek() != Some(b'}') {
                        return Err(self.err("unterminated substitution, expected '}'"));
                    }
                    self.i += 1;
                    Node::Subst(
                        path.iter().map(|s| s.trim().to_string()).collect(),
                        optional,
                    )
                }
                b' ' | b'\t' | b'\r' => {
                    let start = self.i;
                    self.skip_ws(false);
                    Node::Concat(vec![Node::Str(self.text[start..self.i].to_string())])
                }
                c if FORBIDDEN.contains(&c) => {
                    return Err(self.err(&format!("unexpected '{}' in a value", c as char)))
                }
                _ => {
                    let start = self.i;
                    while self
                        .peek()
                        .is_some_and(|c| !FORBIDDEN.contains(&c) && !c.is_ascii_whitespace())
                        && !self.starts("//")
                    {
                        self.i += 1;
                    }
                    unquoted(&self.text[start..self.i])
                }
            };
            pieces.push(piece);
        }
        // Whitespace at either end is not part of the value.
        while matches!(pieces.last(), Some(Node::Concat(_))) {
            pieces.pop();
        }
        while matches!(pieces.first(), Some(Node::Concat(_))) {
            pieces.remove(0);
        }
        match pieces.len() {
            0 => Err(self.err("expected a value")),
            1 => Ok(pieces.pop().unwrap_or(Node::Null)),
            _ => Ok(Node::Concat(pieces)),
        }
    }
}

fn unquoted(t: &str) -> Node {
    match t {
        "true" | "yes" | "on" => return Node::Bool(true),
        "false" | "no" | "off" => return Node::Bool(false),
        "null" => return Node::Null,
        _ => {}
    }
    let num_like = {
        let b = t.strip_prefix('-').unwrap_or(t);
        !b.is_empty()
            && b.as_bytes()[0].is_ascii_digit()
            && b.bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    };
    if num_like {
        if let Ok(i) = t.parse::<i64>() {
            return Node::Num(i.into());
        }
        if t.matches('.').count() <= 1 {
            if let Some(n) = t.parse::<f64>().ok().and_then(Number::from_f64) {
                return Node::Num(n);
            }
        }
    }
    Node::Str(t.to_string())
}

fn lookup<'a>(root: &'a J, path: &[String]) -> Option<&'a J> {
    let mut cur = root;
    for seg in path {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// Objects merge key by key; anything else replaces.
fn merge(into: &mut J, v: J) {
    match (into, v) {
        (J::Object(a), J::Object(b)) => {
            for (k, x) in b {
                match a.get_mut(&k) {
                    Some(old) if old.is_object() && x.is_object() => merge(old, x),
                    _ => {
                        a.insert(k, x);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

const MISSING: &str = "\u{0}hocon-missing-optional";

const UNRESOLVED: &str = "\u{0}hocon-unresolved";

fn has_unresolved(v: &J) -> bool {
    match v {
        J::String(s) => s.contains(UNRESOLVED),
        J::Array(a) => a.iter().any(has_unresolved),
        J::Object(m) => m.values().any(has_unresolved),
        _ => false,
    }
}

/// Resolves against `ctx`; `last` turns a missing substitution into an error.
fn resolve(node: &Node, ctx: &J, last: bool) -> Result<J, String> {
    Ok(match node {
        Node::Obj(fields) => {
            let mut out = J::Object(Map::new());
            for (path, v, append) in fields {
                let mut val = resolve(v, ctx, last)?;
                if *append {
                    let prev = lookup(&out, path).cloned().unwrap_or(J::Array(vec![]));
                    val = match prev {
                        J::Array(mut a) => {
                            a.push(val);
                            J::Array(a)
                        }
                        _ => {
                            return Err(format!(
                                "'+=' on '{}', which is not an array",
                                path.join(".")
                            ))
                        }
                    };
                }
                let mut wrapped = val;
                for seg in path.iter().rev() {
                    let mut m = Map::new();
                    m.insert(seg.clone(), wrapped);
                    wrapped = J::Object(m);
                }
                if *append {
                    // Replace rather than merge: the array already holds the old items.
                    let mut cur = &mut out;
                    for seg in &path[..path.len() - 1] {
                        let obj = cur.as_object_mut().ok_or("bad '+=' path")?;
                        cur = obj
                            .entry(seg.clone())
                            .or_insert_with(|| J::Object(Map::new()));
                    }
                    let last = path.last().cloned().unwrap_or_default();
                    if let (Some(obj), Some(v)) =
                        (cur.as_object_mut(), lookup(&wrapped, path).cloned())
                    {
                        obj.insert(last, v);
                    }
                } else {
                    merge(&mut out, wrapped);
                }
            }
            out
        }
        Node::Arr(items) => J::Array(
            items
                .iter()
                .map(|x| resolve(x, ctx, last))
                .collect::<Result<_, _>>()?,
        ),
        Node::Str(s) => J::String(s.clone()),
        Node::Num(n) => J::Number(n.clone()),
        Node::Bool(b) => J::Bool(*b),
        Node::Null => J::Null,
        Node::Subst(path, optional) => match lookup(ctx, path) {
            Some(v) if !has_unresolved(v) => v.clone(),
            Some(_) if last => {
                return Err(format!(
                    "substitution cycle in HOCON document at ${{{}}}",
                    path.join(".")
                ))
            }
            Some(_) => J::String(UNRESOLVED.into()),
            None => match std::env::var(path.join(".")) {
                Ok(v) => J::String(v),
                Err(_) if *optional => J::String(MISSING.into()),
                Err(_) if last => {
                    return Err(format!(
                        "could not resolve substitution to a value: ${{{}}}",
                        path.join(".")
                    ))
                }
                Err(_) => J::String(UNRESOLVED.into()),
            },
        },
        Node::Concat(pieces) => {
            let vals: Vec<J> = pieces
                .iter()
                .map(|p| resolve(p, ctx, last))
                .collect::<Result<_, _>>()?;
            let vals: Vec<J> = vals
                .into_iter()
                .filter(|v| v.as_str() != Some(MISSING))
                .collect();
            if vals.iter().all(J::is_object) {
                let mut out = J::Object(Map::new());
                for v in vals {
                    merge(&mut out, v);
                }
                out
            } else if vals.iter().all(J::is_array) {
                J::Array(
                    vals.into_iter()
                        .flat_map(|v| match v {
                            J::Array(a) => a,
                            _ => vec![],
                        })
                        .collect(),
                )
            } else {
                let mut s = String::new();
                for v in vals {
                    match v {
                        J::String(x) => s.push_str(&x),
                        J::Null => {}
                        J::Object(_) | J::Array(_) => {
                            return Err("cannot concatenate an object or array with a string".into())
                        }
                        other => s.push_str(&other.to_string()),
                    }
                }
                J::String(s)
            }
        }
    })
}

/// An optional substitution that found nothing removes its field.
fn strip_optional(v: &mut J) {
    match v {
        J::Object(m) => {
            m.retain(|_, x| x.as_str() != Some(MISSING));
            m.values_mut().for_each(strip_optional);
        }
        J::Array(a) => {
            a.retain(|x| x.as_str() != Some(MISSING));
            a.iter_mut().for_each(strip_optional);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hocon_documents_become_json() {
        let doc = r#"
# comment
"profile::ports" = [80, 443]
profile.owner: admin   // trailing
"a::b" { x = 1, y: "two" }
"a::b" { z = true }
greeting = hello world
path = "/srv/"${base}
base = data
list = [1, 2]
list += 3
ratio = 0.5
ip = 10.0.0.1
raw = """line "one"
two"""
opt = ${?nope}
"#;
        let v = parse(doc).unwrap_or(J::Null);
        assert_eq!(
            v,
            json!({
                "profile::ports": [80, 443],
                "profile": {"owner": "admin"},
                "a::b": {"x": 1, "y": "two", "z": true},
                "greeting": "hello world",
                "path": "/srv/data",
                "base": "data",
                "list": [1, 2, 3],
                "ratio": 0.5,
                "ip": "10.0.0.1",
                "raw": "line \"one\"\ntwo",
            })
        );
    }

    #[test]
    fn bad_hocon_names_the_line() {
        let e = parse("a = {\n b = 1\n").err().unwrap_or_default();
        assert!(e.contains("line 3"), "{e}");
        assert!(parse("a = ${missing}").is_err());
    }
}
