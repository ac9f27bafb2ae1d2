//! Psych's choice of a scalar's style: which strings would read back as something else
//! (its ScalarScanner's resolver regexes), dates and times, numbers.

use std::sync::OnceLock;
use troupe_values::value::format_float;
use troupe_values::value::Value;

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

pub(super) struct Scalar {
    pub(super) value: String,
    pub(super) style: Style,
    /// `!!str` (only for `"<<"`).
    pub(super) tagged: bool,
    pub(super) plain_implicit: bool,
    pub(super) quoted_implicit: bool,
}

pub(super) fn re(cell: &'static OnceLock<regex::Regex>, src: &str) -> &'static regex::Regex {
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
pub(super) fn valid_time(s: &str) -> Result<bool, String> {
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

pub(super) fn valid_date(y: i64, m: i64, d: i64) -> bool {
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
pub(super) fn tokenizes_as_string(s: &str) -> Result<bool, String> {
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
pub(super) fn dq_rule(s: &str) -> bool {
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

pub(super) fn string_scalar(s: &str) -> Result<Scalar, String> {
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
pub(super) fn octal_like_with_8_9(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() != Some(&b'0') {
        return false;
    }
    let rest = b[1..].iter().find(|c| !(b'0'..=b'7').contains(*c));
    matches!(rest, Some(b'8' | b'9'))
}

pub(super) fn scalar_of(v: &Value) -> Result<Scalar, String> {
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
                troupe_values::value::type_name_of(other)
            ))
        }
    })
}
