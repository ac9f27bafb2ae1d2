//! YAML as Hiera reads it. Puppet loads data with Ruby's Psych, which resolves plain scalars by
//! YAML 1.1 rules: `yes`/`no`/`on`/`off` are booleans, `0755` is octal, `1_000` and `1,000`
//! are integers, `12:30` is sexagesimal, `~` is null, `<<` merges mappings. A YAML 1.2 parser
//! would read all of these differently, so scalars are resolved here from the parser's events.

use serde_json::{Map, Number, Value as J};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Parses the first document of `text`; an empty document is `null`.
pub fn parse(text: &str) -> Result<J, String> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| e.to_string())?;
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(b.doc.unwrap_or(J::Null))
}

enum Frame {
    Seq(Vec<J>, usize),
    Map {
        map: Map<String, J>,
        key: Option<(J, bool)>,
        anchor: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, J>,
    doc: Option<J>,
    error: Option<String>,
}

impl Builder {
    /// Adds a finished node to its parent. `merge_key` marks a plain `<<` key.
    fn push(&mut self, v: J, anchor: usize, merge_key: bool) {
        if anchor != 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.doc.is_none() {
                    self.doc = Some(v);
                }
            }
            Some(Frame::Seq(items, _)) => items.push(v),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => *key = Some((v, merge_key)),
                Some((_, true)) => merge_into(map, v),
                Some((k, false)) => {
                    map.insert(key_string(&k), v);
                }
            },
        }
    }
}

/// `<<: *base` or `<<: [*a, *b]`: Ruby's `Hash#merge!` at that point (earlier entries of the
/// sequence win over later ones).
fn merge_into(map: &mut Map<String, J>, v: J) {
    match v {
        J::Object(m) => {
            for (k, x) in m {
                map.insert(k, x);
            }
        }
        J::Array(items) if items.iter().all(J::is_object) => {
            let mut merged = Map::new();
            for item in items.into_iter().rev() {
                if let J::Object(m) = item {
                    for (k, x) in m {
                        merged.insert(k, x);
                    }
                }
            }
            for (k, x) in merged {
                map.insert(k, x);
            }
        }
        other => {
            map.insert("<<".into(), other);
        }
    }
}

fn key_string(k: &J) -> String {
    match k {
        J::String(s) => s.clone(),
        J::Null => String::new(),
        other => other.to_string(),
    }
}

/// Psych's safe load names the class a `!ruby/object:Class` (or any local) tag asks for.
fn unspecified_class(tag: &str) -> String {
    let class = tag
        .strip_prefix("!ruby/object:")
        .or_else(|| tag.strip_prefix("!ruby/hash:"))
        .or_else(|| tag.strip_prefix("!ruby/array:"))
        .or_else(|| tag.strip_prefix("!ruby/struct:"))
        .unwrap_or(tag);
    format!("Tried to load unspecified class: {class}")
}

impl Builder {
    /// A local tag on a mapping or sequence (`!ruby/object:...`) is refused like one on a scalar.
    fn refuse_tag(&mut self, tag: Option<&yaml_rust2::parser::Tag>) {
        if let Some(t) = tag {
            if t.handle == "!" {
                let full = format!("{}{}", t.handle, t.suffix);
                self.error.get_or_insert_with(|| unspecified_class(&full));
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::DocumentEnd => {
                // Only the first document counts, as with `YAML.safe_load`.
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or(J::Null);
                let merge = false;
                self.push(v, 0, merge);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| {
                    if t.handle == "!!" || t.handle == "tag:yaml.org,2002:" {
                        t.suffix
                    } else {
                        format!("{}{}", t.handle, t.suffix)
                    }
                });
                let plain = style == TScalarStyle::Plain;
                let merge_key = plain && tag.is_none() && text == "<<";
                let v = match tag.as_deref() {
                    Some("str") => J::String(text),
                    Some("int") | Some("float") | Some("bool") | Some("null") | None if plain => {
                        resolve_plain(&text)
                    }
                    Some(other) if other.starts_with('!') && !other.starts_with("!!") => {
                        self.error.get_or_insert_with(|| unspecified_class(other));
                        J::Null
                    }
                    _ => J::String(text),
                };
                if let J::String(s) = &v {
                    if plain && tag.is_none() && is_date(s) {
                        self.error
                            .get_or_insert_with(|| "Tried to load unspecified class: Date".into());
                    }
                }
                self.push(v, anchor, merge_key);
            }
            Event::SequenceStart(anchor, tag) => {
                self.refuse_tag(tag.as_ref());
                self.stack.push(Frame::Seq(vec![], anchor))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor)) = self.stack.pop() {
                    self.push(J::Array(items), anchor, false);
                }
            }
            Event::MappingStart(anchor, tag) => {
                self.refuse_tag(tag.as_ref());
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    anchor,
                })
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { map, anchor, .. }) = self.stack.pop() {
                    self.push(J::Object(map), anchor, false);
                }
            }
            _ => {}
        }
    }
}

/// `2020-01-01` and `2001-12-14 21:59:43`: Psych makes Date and Time objects, which Hiera's
/// safe load refuses.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8
        && b.len() <= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && s[5..].split('-').count() == 2
        && s[5..]
            .split('-')
            .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|c| c.is_ascii_digit()))
}

fn int_json(v: i128) -> J {
    match i64::try_from(v) {
        Ok(i) => J::Number(i.into()),
        Err(_) => Number::from_f64(v as f64).map(J::Number).unwrap_or(J::Null),
    }
}

/// Psych's `ScalarScanner#tokenize` for a plain, untagged scalar.
pub fn resolve_plain(s: &str) -> J {
    if s.is_empty() {
        return J::Null;
    }
    let first = s.chars().next().unwrap_or(' ');
    let wordish = |c: char| {
        c.is_alphabetic() || c == '_' || c.is_whitespace() || "!@#$%^&*(){}<>|/\\~;=".contains(c)
    };
    // Starts like a word: only the short YAML 1.1 keywords are special.
    let starts_word = {
        let mut it = s.chars();
        let c0 = it.next().unwrap_or(' ');
        if !c0.is_ascii_digit() && !".:-".contains(c0) && it.clone().next().is_some_and(wordish) {
            true
        } else {
            wordish(c0)
        }
    };
    if starts_word || s.contains('\n') {
        if s.len() > 5 || !"ytonf~YTONF".contains(first) {
            return J::String(s.into());
        }
        let l = s.to_ascii_lowercase();
        return match l.as_str() {
            "~" | "null" => J::Null,
            "yes" | "true" | "on" => J::Bool(true),
            "no" | "false" | "off" => J::Bool(false),
            _ => J::String(s.into()),
        };
    }
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        ".inf" | "+.inf" => return J::String(s.into()),
        "-.inf" | ".nan" => return J::String(s.into()),
        _ => {}
    }
    let digits_ = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || c == b'_');
    // Sexagesimal: 1:30, 1:02:03 (and with a fraction).
    {
        let (sign, body) = match s.as_bytes()[0] {
            b'-' => (-1i128, &s[1..]),
            b'+' => (1, &s[1..]),
            _ => (1, s),
        };
        let parts: Vec<&str> = body.split(':').collect();
        if (2..=3).contains(&parts.len())
            && parts[0].starts_with(|c: char| c.is_ascii_digit())
            && digits_(parts[0])
        {
            let last = parts[parts.len() - 1];
            let (last_int, frac) = match last.split_once('.') {
                Some((a, f)) => (a, Some(f)),
                None => (last, None),
            };
            let small = |p: &str| {
                !p.is_empty() && p.len() <= 2 && p.bytes().all(|c| c.is_ascii_digit()) && {
                    let v: u32 = p.parse().unwrap_or(99);
                    v <= 59 && (p.len() == 1 || p.as_bytes()[0] <= b'5')
                }
            };
            let mids_ok = parts[1..parts.len() - 1].iter().all(|p| small(p));
            if mids_ok
                && small(last_int)
                && frac.is_none_or(|f| f.bytes().all(|c| c.is_ascii_digit() || c == b'_'))
            {
                let mut total: f64 = 0.0;
                let mut itotal: i128 = 0;
                for (e, p) in parts.iter().enumerate() {
                    let w = 60i128.pow((e as i32 - 2).unsigned_abs());
                    let clean = p.replace('_', "");
                    if frac.is_some() {
                        total += clean.parse::<f64>().unwrap_or(0.0) * w as f64;
                    } else {
                        itotal += clean.parse::<i128>().unwrap_or(0) * w;
                    }
                }
                return if frac.is_some() {
                    Number::from_f64(sign as f64 * total)
                        .map(J::Number)
                        .unwrap_or(J::Null)
                } else {
                    int_json(sign * itotal)
                };
            }
        }
    }
    // Floats: [-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?
    {
        let body = s.strip_prefix(['-', '+']).unwrap_or(s);
        if let Some((int, rest)) = body.split_once('.') {
            let int_ok = int.is_empty()
                || (int.starts_with(|c: char| c.is_ascii_digit())
                    && int
                        .bytes()
                        .all(|c| c.is_ascii_digit() || c == b'_' || c == b','));
            let (frac, exp) = match rest.find(['e', 'E']) {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            let frac_ok = frac.bytes().all(|c| c.is_ascii_digit());
            let exp_ok = exp.is_none_or(|e| {
                e.len() >= 2
                    && (e.starts_with('-') || e.starts_with('+'))
                    && e[1..].bytes().all(|c| c.is_ascii_digit())
            });
            if int_ok && frac_ok && exp_ok {
                if int.is_empty() && frac.is_empty() {
                    return J::String(s.into());
                }
                let clean: String = s.chars().filter(|c| *c != '_' && *c != ',').collect();
                let clean = if clean.ends_with('.') {
                    format!("{clean}0")
                } else {
                    clean
                };
                let clean = clean.replace(".e", ".0e").replace(".E", ".0E");
                if let Ok(f) = clean.parse::<f64>() {
                    return Number::from_f64(f).map(J::Number).unwrap_or(J::Null);
                }
            }
        }
    }
    // Integers: binary, octal (leading 0), decimal, hex; `_` and `,` are ignored.
    {
        let (neg, body) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let sep = |c: u8| c == b'_' || c == b',';
        let parsed = if let Some(b) = body.strip_prefix("0b") {
            (!b.is_empty() && b.bytes().all(|c| c == b'0' || c == b'1' || sep(c)))
                .then(|| i128::from_str_radix(&b.replace(['_', ','], ""), 2).ok())
                .flatten()
        } else if let Some(h) = body.strip_prefix("0x") {
            (!h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit() || sep(c)))
                .then(|| i128::from_str_radix(&h.replace(['_', ','], ""), 16).ok())
                .flatten()
        } else if body.len() > 1 && body.starts_with('0') {
            body[1..]
                .bytes()
                .all(|c| (b'0'..=b'7').contains(&c) || sep(c))
                .then(|| i128::from_str_radix(&body[1..].replace(['_', ','], ""), 8).ok())
                .flatten()
        } else if body == "0" {
            Some(0)
        } else {
            let bs = body.as_bytes();
            let ok = !bs.is_empty()
                && (b'1'..=b'9').contains(&bs[0])
                && bs.iter().enumerate().skip(1).all(|(i, c)| {
                    c.is_ascii_digit() || (sep(*c) && bs.get(i + 1).is_some_and(u8::is_ascii_digit))
                });
            ok.then(|| body.replace(['_', ','], "").parse::<i128>().ok())
                .flatten()
        };
        if let Some(v) = parsed {
            return int_json(if neg { -v } else { v });
        }
    }
    J::String(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_resolve_as_psych_does() {
        let cases = [
            ("yes", json!(true)),
            ("No", json!(false)),
            ("ON", json!(true)),
            ("off", json!(false)),
            ("0755", json!(493)),
            ("-0755", json!(-493)),
            ("1,000", json!(1000)),
            ("1_000", json!(1000)),
            ("12:30", json!(45000)),
            ("1:02:03", json!(3723)),
            ("1.5e+3", json!(1500.0)),
            (".5", json!(0.5)),
            ("1.", json!(1.0)),
            ("~", json!(null)),
            ("NULL", json!(null)),
            ("0b101", json!(5)),
            ("0x1F", json!(31)),
            ("yesyes", json!("yesyes")),
            ("y", json!("y")),
            ("09", json!("09")),
            ("1.2.3", json!("1.2.3")),
            ("10.0.0.1", json!("10.0.0.1")),
            ("-", json!("-")),
            ("a:b", json!("a:b")),
            ("1e3", json!("1e3")),
            ("0", json!(0)),
            ("-1", json!(-1)),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_plain(text), want, "{text}");
        }
    }

    #[test]
    fn documents_keep_quoting_anchors_and_merges() {
        let doc = "---\nq: 'yes'\nb: yes\nm:\n  <<: &base\n    a: 1\n    b: 2\n  b: 3\nagain: *base\ns: !!str 123\n";
        let v = parse(doc).unwrap_or(J::Null);
        assert_eq!(
            v,
            json!({"q": "yes", "b": true, "m": {"a": 1, "b": 3}, "again": {"a": 1, "b": 2}, "s": "123"})
        );
        assert!(parse("d: 2020-01-01\n").is_err());
        assert!(parse("a: [1, 2\n").is_err());
        assert_eq!(parse("").unwrap_or(json!(1)), J::Null);
    }
}
