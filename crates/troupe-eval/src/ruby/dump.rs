//! Data written out as Ruby writes it: Ruby's `json` generator (`to_json`,
//! `JSON.pretty_generate`) for stdlib's `to_json`/`to_json_pretty` and ERB's `#to_json`.
//! Puppet values reach those Ruby methods as Ruby objects; the ones with no JSON form of their
//! own (types, Sensitive, default, versions, time values) are written as their `to_s`.

use crate::model::value::{format_float, Value};
use crate::ruby::object::ruby_to_s;

/// The layout options of Ruby's `JSON::State` (`generate` leaves them all empty).
#[derive(Clone, Debug, Default)]
pub struct JsonLayout {
    pub indent: String,
    pub space: String,
    pub space_before: String,
    pub object_nl: String,
    pub array_nl: String,
}

impl JsonLayout {
    /// `JSON.pretty_generate`'s defaults.
    pub fn pretty() -> JsonLayout {
        JsonLayout {
            indent: "  ".into(),
            space: " ".into(),
            space_before: String::new(),
            object_nl: "\n".into(),
            array_nl: "\n".into(),
        }
    }
}

/// Ruby's JSON generator. Fails as Ruby does on NaN and Infinity (`allow_nan` is false).
pub fn ruby_json(v: &Value, layout: &JsonLayout) -> Result<String, String> {
    let mut out = String::new();
    json_value(v, layout, 0, &mut out)?;
    Ok(out)
}

fn json_value(v: &Value, l: &JsonLayout, depth: usize, out: &mut String) -> Result<(), String> {
    crate::model::limits::grow(|| {
        match v {
            Value::Undef => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(format!("{} not allowed in JSON", format_float(*f)));
                }
                out.push_str(&format_float(*f))
            }
            Value::Str(s) => json_string(s, out),
            Value::Array(a) => {
                let depth = depth + 1;
                out.push('[');
                out.push_str(&l.array_nl);
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(&l.array_nl);
                    }
                    push_indent(l, depth, out);
                    json_value(x, l, depth, out)?;
                }
                out.push_str(&l.array_nl);
                push_indent(l, depth - 1, out);
                out.push(']');
            }
            Value::Hash(h) => {
                let depth = depth + 1;
                out.push('{');
                for (i, (k, x)) in h.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&l.object_nl);
                    push_indent(l, depth, out);
                    json_string(&ruby_to_s(k), out);
                    out.push_str(&l.space_before);
                    out.push(':');
                    out.push_str(&l.space);
                    json_value(x, l, depth, out)?;
                }
                out.push_str(&l.object_nl);
                push_indent(l, depth - 1, out);
                out.push('}');
            }
            other => json_string(&ruby_to_s(other), out),
        }
        Ok(())
    })
}

fn push_indent(l: &JsonLayout, depth: usize, out: &mut String) {
    if !l.indent.is_empty() {
        for _ in 0..depth {
            out.push_str(&l.indent);
        }
    }
}

/// A JSON string as Ruby's generator writes it: `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00xx`, everything else (`/`, non-ASCII) as is.
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::Map;

    fn h(pairs: Vec<(&str, Value)>) -> Value {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(Value::str(k), v);
        }
        Value::hash(m)
    }

    #[test]
    fn compact_as_ruby() {
        // Expected texts are Ruby 3.1's `JSON.generate`.
        let v = h(vec![
            ("a", Value::str("x\u{1f}\u{7}\t\"\\/é")),
            ("f", Value::Float(1.0e20)),
            ("g", Value::Float(1.5)),
            ("n", Value::Undef),
            ("e", Value::array(vec![])),
            ("h", h(vec![])),
        ]);
        assert_eq!(
            ruby_json(&v, &JsonLayout::default()).expect("json"),
            r#"{"a":"x\u001f\u0007\t\"\\/é","f":1.0e+20,"g":1.5,"n":null,"e":[],"h":{}}"#
        );
        assert!(ruby_json(&Value::Float(f64::NAN), &JsonLayout::default()).is_err());
    }

    #[test]
    fn pretty_as_ruby() {
        let v = h(vec![
            (
                "a",
                Value::array(vec![Value::Int(1), h(vec![("b", Value::array(vec![]))])]),
            ),
            ("c", h(vec![])),
        ]);
        assert_eq!(
            ruby_json(&v, &JsonLayout::pretty()).expect("json"),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": [\n\n      ]\n    }\n  ],\n  \"c\": {\n  }\n}"
        );
        assert_eq!(
            ruby_json(&Value::array(vec![]), &JsonLayout::pretty()).expect("json"),
            "[\n\n]"
        );
    }
}

// ---- YAML: Ruby's `Object#to_yaml` (Psych 4.0 on libyaml 0.2.5) ----------------------------
//
// Psych picks a style per string (its ScalarScanner decides which strings would read back as
// something else), then libyaml's emitter analyses the text, downgrades the style where it
// must (plain → single-quoted → double-quoted), folds long scalars after column 80 and writes
// sequences inside mappings without indentation. The fixtures in
// `conformance/psych/fixtures.json` are Ruby's own output.

use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Scalar {
    value: String,
    style: Style,
    /// `!!str` (only for `"<<"`).
    tagged: bool,
    plain_implicit: bool,
    quoted_implicit: bool,
}

fn re(cell: &'static OnceLock<regex::Regex>, src: &str) -> &'static regex::Regex {
    cell.get_or_init(|| regex::Regex::new(src).expect("static regex"))
}

macro_rules! static_re {
    ($name:ident, $src:expr) => {
        fn $name() -> &'static regex::Regex {
            static CELL: OnceLock<regex::Regex> = OnceLock::new();
            re(&CELL, $src)
        }
    };
}

static_re!(
    tok_stringy,
    r"(?m)^[^0-9.:\-]?[\p{Alphabetic}_ \t\n\x0b\x0c\r!@#$%^&*(){}<>|/\\~;=]+"
);
static_re!(
    tok_time,
    r"(?m)^-?[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t\n\x0b\x0c\r]+)[0-9]{1,2}:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t\n\x0b\x0c\r]*(?:Z|[-+][0-9]{1,2}:?(?:[0-9][0-9])?))?$"
);
static_re!(
    tok_date,
    r"(?m)^[0-9]{4}-(?:1[012]|0[0-9]|[0-9])-(?:[12][0-9]|3[01]|0[0-9]|[0-9])$"
);
static_re!(
    tok_float,
    r"(?m)^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$"
);
static_re!(
    tok_integer,
    r"(?m)^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$"
);
static_re!(tok_sexa_int, r"(?m)^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$");
static_re!(
    tok_sexa_float,
    r"(?m)^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$"
);
static_re!(tok_not_ytonf, r"(?mi)^[^ytonf~]");
static_re!(tok_null, r"(?mi)^null$");
static_re!(tok_bool, r"(?mi)^(yes|true|on|no|false|off)$");
static_re!(tok_inf_nan, r"(?mi)^(\+?\.inf|-\.inf|\.nan)$");
static_re!(tok_symbol, r"(?m)^:.");
static_re!(tok_lone_sign_dot, r"^[-+]?\.\n?$");
static_re!(time_head, r"^(-?[0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[ tT]");
static_re!(
    time_tail,
    r"([0-9]+):([0-9]+):([0-9]+)(?:\.([0-9]*))?[ \t\n\x0b\x0c\r]*(Z|[-+][0-9]+(:[0-9][0-9])?)?"
);
static_re!(tz_offset, r"^([+\-]?[0-9]{1,2}):?([0-9]{1,2})?$");
static_re!(word_char, r"^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}]");

/// Whether Psych's `parse_time` accepts the text (false where Ruby's Time rejects it).
fn valid_time(s: &str) -> Result<bool, String> {
    let Some(m) = time_head().captures(s) else {
        return Err(format!("to_yaml: Ruby fails on the time-like string {s:?}"));
    };
    let mo: i64 = m[2].parse().unwrap_or(0);
    let d: i64 = m[3].parse().unwrap_or(0);
    let rest = &s[m.get(0).map_or(0, |x| x.end())..];
    let Some(t) = time_tail().captures(rest) else {
        return Ok(false);
    };
    let num = |i: usize| -> i64 { t.get(i).and_then(|x| x.as_str().parse().ok()).unwrap_or(0) };
    let (hh, mi, ss) = (num(1), num(2), num(3));
    let frac = num(4);
    if !((1..=12).contains(&mo) && (1..=31).contains(&d) && mi <= 59 && ss <= 60 && hh <= 24) {
        return Ok(false);
    }
    if hh == 24 && (mi != 0 || ss != 0 || frac != 0) {
        return Ok(false);
    }
    if let Some(tz) = t.get(5).map(|x| x.as_str()).filter(|z| *z != "Z") {
        if let Some(o) = tz_offset().captures(tz) {
            let h: i64 = o[1].parse().unwrap_or(0);
            let mm: i64 = o.get(2).and_then(|x| x.as_str().parse().ok()).unwrap_or(0);
            let off = h * 3600 + if h < 0 { -mm * 60 } else { mm * 60 };
            if off.abs() >= 86400 {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

fn valid_date(y: i64, m: i64, d: i64) -> bool {
    if !(1..=12).contains(&m) {
        return false;
    }
    if (y, m) == (1582, 10) && (5..=14).contains(&d) {
        return false;
    }
    let julian = (y, m, d) < (1582, 10, 15);
    let leap = if julian {
        y % 4 == 0
    } else {
        y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    };
    let dim = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][(m - 1) as usize];
    (1..=dim).contains(&d)
}

/// Psych's `ScalarScanner#tokenize(s)` returns a String (the text reads back as itself).
fn tokenizes_as_string(s: &str) -> Result<bool, String> {
    if s.is_empty() {
        return Ok(false);
    }
    if tok_stringy().is_match(s) || s.contains('\n') {
        if s.chars().count() > 5 || tok_not_ytonf().is_match(s) {
            return Ok(true);
        }
        return Ok(!(s == "~" || tok_null().is_match(s) || tok_bool().is_match(s)));
    }
    if tok_time().is_match(s) {
        return Ok(!valid_time(s)?);
    }
    if tok_date().is_match(s) {
        let p: Vec<i64> = s
            .trim_matches('\n')
            .split('-')
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        return Ok(!(p.len() == 3 && valid_date(p[0], p[1], p[2])));
    }
    if tok_inf_nan().is_match(s) || tok_symbol().is_match(s) {
        return Ok(false);
    }
    if tok_sexa_int().is_match(s) || tok_sexa_float().is_match(s) {
        return Ok(false);
    }
    if tok_float().is_match(s) {
        return Ok(tok_lone_sign_dot().is_match(s));
    }
    if tok_integer().is_match(s) {
        let body: String = s
            .trim_matches('\n')
            .chars()
            .filter(|c| *c != ',' && *c != '_')
            .collect();
        let body = body.trim_start_matches(['+', '-']);
        if body == "0b" || body == "0x" {
            return Err(format!(
                "to_yaml: Ruby fails on the number-like string {s:?}"
            ));
        }
        return Ok(false);
    }
    Ok(true)
}

/// Psych's double-quote rule `/^[^[:word:]][^"]*$/` (any line).
fn dq_rule(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut starts = vec![0];
    starts.extend(
        (0..n)
            .filter(|&i| chars[i] == '\n' && i + 1 < n)
            .map(|i| i + 1),
    );
    for p in starts {
        if p >= n {
            continue;
        }
        let mut buf = [0u8; 4];
        if word_char().is_match(chars[p].encode_utf8(&mut buf))
            && !matches!(chars[p], '\u{200c}' | '\u{200d}')
        {
            continue;
        }
        let mut q = p + 1;
        while q < n && chars[q] != '\n' {
            q += 1;
        }
        if !chars[p + 1..q].contains(&'"') {
            return true;
        }
    }
    false
}

fn string_scalar(s: &str) -> Result<Scalar, String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let inner_newline = chars
        .iter()
        .enumerate()
        .any(|(i, c)| *c == '\n' && !(i == n - 1 || (i + 2 == n && chars[n - 1] == '\n')));
    let mut sc = Scalar {
        value: s.to_string(),
        style: Style::Plain,
        tagged: false,
        plain_implicit: true,
        quoted_implicit: true,
    };
    if inner_newline {
        sc.style = Style::Literal;
    } else if s == "<<" {
        sc.style = Style::Single;
        sc.tagged = true;
        sc.plain_implicit = false;
        sc.quoted_implicit = false;
    } else if s == "y" || s == "n" || dq_rule(s) {
        sc.style = Style::Double;
    } else if !tokenizes_as_string(s)? || octal_like_with_8_9(s) {
        sc.style = Style::Single;
    }
    Ok(sc)
}

/// `/\A0[0-7]*[89]/`
fn octal_like_with_8_9(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() != Some(&b'0') {
        return false;
    }
    let rest = b[1..].iter().find(|c| !(b'0'..=b'7').contains(*c));
    matches!(rest, Some(b'8' | b'9'))
}

fn scalar_of(v: &Value) -> Result<Scalar, String> {
    let simple = |value: String| Scalar {
        value,
        style: Style::Plain,
        tagged: false,
        plain_implicit: true,
        quoted_implicit: false,
    };
    Ok(match v {
        Value::Undef => simple(String::new()),
        Value::Bool(b) => simple(b.to_string()),
        Value::Int(n) => simple(n.to_string()),
        Value::Float(f) if f.is_nan() => simple(".nan".into()),
        Value::Float(f) if f.is_infinite() => {
            simple(if *f > 0.0 { ".inf" } else { "-.inf" }.into())
        }
        Value::Float(f) => simple(format_float(*f)),
        Value::Str(s) => string_scalar(s)?,
        // A Symbol: Puppet's `default`.
        Value::Default => simple(":default".into()),
        other => {
            return Err(format!(
                "to_yaml: a {} value has no YAML form here (Ruby would dump its object)",
                crate::model::value::type_name_of(other)
            ))
        }
    })
}

struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_printable(c: char) -> bool {
    let cp = c as u32;
    cp == 0x0A
        || (0x20..=0x7E).contains(&cp)
        || (0xA0..=0xD7FF).contains(&cp)
        || ((0xE000..=0xFFFD).contains(&cp) && cp != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(s: &[char], i: usize) -> bool {
    i >= s.len() || matches!(s[i], ' ' | '\t' | '\0') || is_break(s[i])
}

/// libyaml's `yaml_emitter_analyze_scalar` (the flags the block emitter uses).
fn analyze(s: &[char]) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let (mut block_ind, mut line_breaks, mut special) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut prev_space, mut prev_break) =
        (false, false, false, false);
    if s.starts_with(&['-', '-', '-']) || s.starts_with(&['.', '.', '.']) {
        block_ind = true;
    }
    let mut preceded_ws = true;
    let n = s.len();
    for (i, &c) in s.iter().enumerate() {
        let followed_ws = is_blank_or_end(s, i + 1);
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c)
                || (c == '-' && followed_ws)
                || ("?:".contains(c) && followed_ws)
            {
                block_ind = true;
            }
        } else if (c == ':' && followed_ws) || (c == '#' && preceded_ws) {
            block_ind = true;
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == n - 1;
            break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            leading_break |= i == 0;
            trailing_break |= i == n - 1;
            space_break |= prev_space;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

const WIDTH: usize = 80;
const INDENT: i64 = 2;

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: u8,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self, indent: i64) {
        let ind = indent.max(0) as usize;
        if !self.indention || self.column > ind || (self.column == ind && !self.whitespace) {
            self.put_break();
        }
        while self.column < ind {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(&mut self, text: &str, need_ws: bool, is_ws: bool, is_ind: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        self.put_str(text);
        self.whitespace = is_ws;
        self.indention = self.indention && is_ind;
    }

    fn node(
        &mut self,
        v: &Value,
        indent: i64,
        mapping: bool,
        simple_key: bool,
    ) -> Result<(), String> {
        crate::model::limits::grow(|| {
            match v {
                Value::Array(a) if a.is_empty() => {
                    self.indicator("[", true, true, false);
                    self.indicator("]", false, false, false);
                }
                Value::Array(a) => {
                    let indentless = mapping && !self.indention;
                    let ind = if indent < 0 {
                        0
                    } else if indentless {
                        indent
                    } else {
                        indent + INDENT
                    };
                    for item in a.iter() {
                        self.write_indent(ind);
                        self.indicator("-", true, false, true);
                        self.node(item, ind, false, false)?;
                    }
                }
                Value::Hash(h) if h.is_empty() => {
                    self.indicator("{", true, true, false);
                    self.indicator("}", false, false, false);
                }
                Value::Hash(h) => {
                    let ind = if indent < 0 { 0 } else { indent + INDENT };
                    for (k, val) in h.iter() {
                        self.write_indent(ind);
                        if simple_key_ok(k)? {
                            self.node(k, ind, true, true)?;
                            self.indicator(":", false, false, false);
                        } else {
                            self.indicator("?", true, false, true);
                            self.node(k, ind, true, false)?;
                            self.write_indent(ind);
                            self.indicator(":", true, false, true);
                        }
                        self.node(val, ind, true, false)?;
                    }
                }
                // Ruby dumps the Sensitive object itself, value and all.
                Value::Sensitive(inner) => {
                    if !self.whitespace {
                        self.put(' ');
                    }
                    self.put_str("!ruby/object:Puppet::Pops::Types::PSensitiveType::Sensitive");
                    self.whitespace = false;
                    self.indention = false;
                    let mut m = crate::model::value::Map::new();
                    m.insert(Value::str("value"), (**inner).clone());
                    self.node(&Value::hash(m), indent, mapping, simple_key)?;
                }
                other => {
                    let sc = scalar_of(other)?;
                    self.scalar(sc, indent, simple_key);
                }
            }
            Ok(())
        })
    }

    fn scalar(&mut self, sc: Scalar, indent: i64, simple_key: bool) {
        let chars: Vec<char> = sc.value.chars().collect();
        let a = analyze(&chars);
        let mut style = sc.style;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain
            && (!a.block_plain
                || (chars.is_empty() && simple_key)
                || (!sc.tagged && !sc.plain_implicit))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block || simple_key) {
            style = Style::Double;
        }
        let tag = if sc.tagged {
            Some("!!str")
        } else if !sc.quoted_implicit && style != Style::Plain {
            Some("!")
        } else {
            None
        };
        if let Some(t) = tag {
            if !self.whitespace {
                self.put(' ');
            }
            self.put_str(t);
            self.whitespace = false;
            self.indention = false;
        }
        let ind = if indent < 0 { INDENT } else { indent + INDENT };
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(&chars, ind, allow_breaks),
            Style::Single => self.write_single(&chars, ind, allow_breaks),
            Style::Double => self.write_double(&chars, ind, allow_breaks),
            Style::Literal => self.write_literal(&chars, ind),
        }
    }

    fn write_plain(&mut self, s: &[char], ind: i64, allow: bool) {
        if !self.whitespace && !s.is_empty() {
            self.put(' ');
        }
        self.write_flowing(s, ind, allow, false);
    }

    fn write_single(&mut self, s: &[char], ind: i64, allow: bool) {
        self.indicator("'", true, false, false);
        self.write_flowing(s, ind, allow, true);
        self.indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// The text of a plain or single-quoted scalar: a space after column 80 (not the first
    /// of several; for quoted text not the first or last character) becomes a line break;
    /// line breaks are doubled; single quotes are doubled inside quotes.
    fn write_flowing(&mut self, s: &[char], ind: i64, allow: bool, quoted: bool) {
        let (mut spaces, mut breaks) = (false, false);
        let n = s.len();
        for (i, &c) in s.iter().enumerate() {
            if c == ' ' {
                let edge = quoted && (i == 0 || i == n - 1);
                if allow && !spaces && self.column > WIDTH && !edge && s.get(i + 1) != Some(&' ') {
                    self.write_indent(ind);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(ind);
                }
                if quoted && c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if quoted && breaks {
            self.write_indent(ind);
        }
        if !quoted {
            self.whitespace = false;
            self.indention = false;
        }
    }

    fn write_double(&mut self, s: &[char], ind: i64, allow: bool) {
        self.indicator("\"", true, false, false);
        let mut spaces = false;
        let n = s.len();
        for (i, &c) in s.iter().enumerate() {
            let cp = c as u32;
            if !is_printable(c) || cp == 0xFEFF || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let short = match cp {
                    0 => Some('0'),
                    7 => Some('a'),
                    8 => Some('b'),
                    9 => Some('t'),
                    0xA => Some('n'),
                    0xB => Some('v'),
                    0xC => Some('f'),
                    0xD => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match short {
                    Some(x) => self.put(x),
                    None if cp <= 0xFF => self.put_str(&format!("x{cp:02X}")),
                    None if cp <= 0xFFFF => self.put_str(&format!("u{cp:04X}")),
                    None => self.put_str(&format!("U{cp:08X}")),
                }
                spaces = false;
            } else if c == ' ' {
                if allow && !spaces && self.column > WIDTH && i != 0 && i != n - 1 {
                    self.write_indent(ind);
                    if s[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, s: &[char], ind: i64) {
        self.indicator("|", true, false, false);
        if s.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            self.indicator(&INDENT.to_string(), false, false, false);
        }
        self.open_ended = 0;
        let chomp = match s {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., prev, _] if is_break(*prev) => Some("+"),
            _ => None,
        };
        if chomp == Some("+") {
            self.open_ended = 2;
        }
        if let Some(c) = chomp {
            self.indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in s {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(ind);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

fn simple_key_ok(k: &Value) -> Result<bool, String> {
    match k {
        Value::Array(a) => Ok(a.is_empty()),
        Value::Hash(h) => Ok(h.is_empty()),
        other => {
            let sc = scalar_of(other)?;
            let chars: Vec<char> = sc.value.chars().collect();
            if analyze(&chars).multiline {
                return Ok(false);
            }
            Ok(sc.value.len() + if sc.tagged { 5 } else { 0 } <= 128)
        }
    }
}

/// Ruby's `value.to_yaml`: a YAML document as Psych writes it.
pub fn psych_yaml(v: &Value) -> Result<String, String> {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: 0,
    };
    e.write_indent(-1);
    e.indicator("---", true, false, false);
    e.node(v, -1, false, false)?;
    e.write_indent(-1);
    if e.open_ended == 2 {
        e.indicator("...", true, false, false);
        e.write_indent(-1);
    }
    Ok(e.out)
}

#[cfg(test)]
mod yaml_tests {
    use super::*;

    /// Every fixture is Ruby 3.1's own `to_yaml` output (`conformance/psych/gen.rb`).
    /// `PSYCH_FIXTURES=file` checks another fixture file of the same form (random cases).
    #[test]
    fn psych_fixtures() {
        let path = std::env::var("PSYCH_FIXTURES").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../conformance/psych/fixtures.json"
            )
            .to_string()
        });
        let text = std::fs::read_to_string(path).expect("fixtures");
        let cases: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut bad = Vec::new();
        let all = cases.as_array().expect("array");
        for (i, c) in all.iter().enumerate() {
            let v = crate::model::value::from_json(&c["input"]);
            let want = c["yaml"].as_str().expect("yaml");
            match psych_yaml(&v) {
                Ok(got) if got == want => {}
                got => bad.push(format!(
                    "#{i} {:?}\n  want {want:?}\n  got  {got:?}",
                    c["input"]
                )),
            }
        }
        assert!(
            bad.is_empty(),
            "{} of {} differ:\n{}",
            bad.len(),
            all.len(),
            bad[..bad.len().min(10)].join("\n")
        );
        assert!(all.len() > 400);
    }

    #[test]
    fn ruby_float_format() {
        assert_eq!(format_float(1234567890123456.8), "1234567890123456.8");
        assert_eq!(format_float(1e15), "1.0e+15");
        assert_eq!(format_float(1e14), "100000000000000.0");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1.0e-05");
    }

    #[test]
    fn refuses_what_ruby_refuses() {
        assert!(psych_yaml(&Value::str("0b_")).is_err());
        assert!(psych_yaml(&Value::Binary(std::rc::Rc::from(&b"x"[..]))).is_err());
    }
}
