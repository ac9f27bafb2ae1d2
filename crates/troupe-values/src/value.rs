//! Puppet runtime values, their equality (Puppet's `==`: case-insensitive strings, 1 == 1.0)
//! and their string forms (interpolation and `String()`).

use crate::semver::{SemVer, SemVerRange};
use crate::types::Type;
use indexmap::IndexMap;
use std::fmt::Write;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// Hash values keep insertion order; their keys are hashed with [`FastState`].
pub type Map = IndexMap<Value, Value, FastState>;

/// The hasher of the evaluator's maps: foldhash, seeded at random per map (SipHash, the
/// standard one, took a fifth of a compile). Iteration order of a `HashMap` never reaches
/// output (catalogs come from insertion-ordered maps and sorted lists).
pub type FastState = foldhash::fast::RandomState;

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastState>;

/// A `HashSet` with [`FastState`].
pub type FastSet<K> = std::collections::HashSet<K, FastState>;

/// `undef`, for `unwrap_or` on borrowed values.
pub const UNDEF: &Value = &Value::Undef;

/// A compiled regular expression together with its Puppet source text. Patterns the regex
/// crate cannot run (look-around, back-references: Ruby has them, and stdlib's IP address types
/// use them) are compiled by `fancy_regex` instead; `re` then matches nothing and callers go
/// through `is_match`/`captures`, or refuse with `needs_plain`.
#[derive(Debug, Clone)]
pub struct Regexp {
    pub source: String,
    /// Shared, not cloned: a cloned `regex::Regex` starts with an empty pool of match
    /// caches, and building one (the lazy DFA's) costs more than most matches.
    pub re: std::sync::Arc<regex::Regex>,
    pub fancy: Option<std::sync::Arc<fancy_regex::Regex>>,
}

impl Regexp {
    /// Compiles Ruby-flavoured regex source (as written between `/ /`).
    pub fn new(source: &str) -> Result<Regexp, String> {
        // Compiled regexes are shared by every compile in the process (templates and modules
        // use the same few hundred); the cache is dropped whole if it ever grows large.
        use std::sync::{Mutex, OnceLock};
        type Cache = std::collections::HashMap<String, Regexp>;
        static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(Cache::new()));
        if let Ok(c) = cache.lock() {
            if let Some(r) = c.get(source) {
                return Ok(r.clone());
            }
        }
        let r = Self::compile(source)?;
        if let Ok(mut c) = cache.lock() {
            if c.len() > 20_000 {
                c.clear();
            }
            c.insert(source.to_string(), r.clone());
        }
        Ok(r)
    }

    fn compile(source: &str) -> Result<Regexp, String> {
        let translated = translate_ruby_regex(source);
        match regex::Regex::new(&translated) {
            Ok(re) => Ok(Regexp {
                source: source.to_string(),
                re: std::sync::Arc::new(re),
                fancy: None,
            }),
            Err(e) => match fancy_regex::Regex::new(&translated) {
                Ok(f) => Ok(Regexp {
                    source: source.to_string(),
                    re: std::sync::Arc::new(
                        regex::Regex::new(r"[^\s\S]").map_err(|e| e.to_string())?,
                    ),
                    fancy: Some(std::sync::Arc::new(f)),
                }),
                Err(_) => Err(format!("Invalid regular expression /{source}/: {e}")),
            },
        }
    }

    pub fn is_match(&self, s: &str) -> bool {
        match &self.fancy {
            Some(f) => f.is_match(s).unwrap_or(false),
            None => self.re.is_match(s),
        }
    }

    /// The byte offset of the match and its groups (`undef` for groups that did not take part).
    pub fn captures(&self, s: &str) -> Option<(usize, Vec<Value>)> {
        let group = |m: Option<&str>| m.map(Value::str).unwrap_or(Value::Undef);
        match &self.fancy {
            Some(f) => {
                let c = f.captures(s).ok()??;
                let at = c.get(0).map(|m| m.start()).unwrap_or(0);
                Some((at, c.iter().map(|m| group(m.map(|m| m.as_str()))).collect()))
            }
            None => {
                let c = self.re.captures(s)?;
                let at = c.get(0).map(|m| m.start()).unwrap_or(0);
                Some((at, c.iter().map(|m| group(m.map(|m| m.as_str()))).collect()))
            }
        }
    }

    /// For operations only the regex crate runs (split, substitution): an error for a
    /// look-around pattern instead of a silent non-match.
    pub fn needs_plain(&self, what: &str) -> Result<&regex::Regex, String> {
        match self.fancy {
            Some(_) => Err(format!(
                "{what}: the regular expression /{}/ uses look-around or back-references, which {what} does not support",
                self.source
            )),
            None => Ok(&self.re),
        }
    }
}

/// Ruby's `\Z`, `\h`, `\H`, `\e`, `\a` and octal escapes (`\0`, `\012`) have regex-crate
/// equivalents under other spellings.
fn translate_ruby_regex(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 8);
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => out.push_str(r"(?:\n?\z)"),
                Some('h') => out.push_str("[0-9a-fA-F]"),
                Some('H') => out.push_str("[^0-9a-fA-F]"),
                Some('e') => out.push_str(r"\x1B"),
                Some('a') => out.push_str(r"\x07"),
                Some(d @ '0'..='7')
                    if d == '0' || chars.peek().is_some_and(|c| ('0'..='7').contains(c)) =>
                {
                    // An octal escape (Ruby reads `\0` and up to three octal digits); `\1`..`\9`
                    // alone stay back-references.
                    let mut v = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek().and_then(|c| c.to_digit(8)) {
                            Some(x) => {
                                v = v * 8 + x;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    let _ = write!(out, "\\x{{{v:X}}}");
                }
                Some('/') => out.push('/'),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str(r"\\"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Debug, Clone)]
pub enum Value {
    Undef,
    Default,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Regex(Rc<Regexp>),
    Array(Rc<Vec<Value>>),
    Hash(Rc<Map>),
    Type(Rc<Type>),
    Sensitive(Rc<Value>),
    /// A `Deferred` call, rendered into the catalog as rich data.
    Deferred(Rc<(String, Vec<Value>)>),
    /// Nanoseconds since the epoch, UTC.
    Timestamp(i64),
    /// Nanoseconds.
    Timespan(i64),
    SemVer(Rc<SemVer>),
    SemVerRange(Rc<SemVerRange>),
    Binary(Rc<[u8]>),
    /// An instance of an Object type.
    Object(Rc<crate::object::ObjValue>),
}

/// Dropping a value never overflows the stack, however deep the tree (a `reduce` builds a
/// 100,000-deep array in a blink): the first `DROP_RECURSION` levels are dropped by plain
/// recursion, deeper ones are torn down iteratively.
impl Drop for Value {
    #[inline]
    fn drop(&mut self) {
        if self.is_container() {
            drop_container(self);
        }
    }
}

/// Levels of nested containers dropped recursively before switching to a worklist.
const DROP_RECURSION: u32 = 128;

thread_local! {
    static DROP_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

#[inline(never)]
fn drop_container(v: &mut Value) {
    let depth = DROP_DEPTH.with(|d| d.get());
    if depth < DROP_RECURSION {
        // Drop the contents here, one level deeper; the container's own allocation goes
        // after this returns.
        DROP_DEPTH.with(|d| d.set(depth + 1));
        drop(take_contents(v));
        DROP_DEPTH.with(|d| d.set(depth));
        return;
    }
    let mut pending = Vec::new();
    take_children(v, &mut pending);
    while let Some(mut x) = pending.pop() {
        take_children(&mut x, &mut pending);
        // `x` now holds no children: its own drop is shallow.
    }
}

/// What a container owns alone (when this is its last reference), moved out of it.
enum Contents {
    None,
    Items(Vec<Value>),
    Map(Map),
    One(Value),
}

fn take_contents(v: &mut Value) -> Contents {
    match v {
        Value::Array(a) => {
            Rc::get_mut(a).map_or(Contents::None, |xs| Contents::Items(std::mem::take(xs)))
        }
        Value::Hash(h) => {
            Rc::get_mut(h).map_or(Contents::None, |m| Contents::Map(std::mem::take(m)))
        }
        Value::Sensitive(s) => Rc::get_mut(s).map_or(Contents::None, |x| {
            Contents::One(std::mem::replace(x, Value::Undef))
        }),
        Value::Deferred(d) => Rc::get_mut(d).map_or(Contents::None, |x| {
            Contents::Items(std::mem::take(&mut x.1))
        }),
        _ => Contents::None,
    }
}

/// Moves the children of `v` (when this is their container's last reference) to `out`.
fn take_children(v: &mut Value, out: &mut Vec<Value>) {
    match take_contents(v) {
        Contents::Items(mut xs) => out.append(&mut xs),
        Contents::Map(m) => {
            for (k, x) in m {
                out.push(k);
                out.push(x);
            }
        }
        Contents::One(x) => out.push(x),
        Contents::None => {}
    }
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn array(v: Vec<Value>) -> Value {
        Value::Array(Rc::new(v))
    }

    pub fn hash(m: Map) -> Value {
        Value::Hash(Rc::new(m))
    }

    pub fn ty(t: Type) -> Value {
        Value::Type(Rc::new(t))
    }

    /// Arrays, hashes and the wrappers that can hold them: what walkers recurse into.
    #[inline]
    pub fn is_container(&self) -> bool {
        matches!(
            self,
            Value::Array(_) | Value::Hash(_) | Value::Sensitive(_) | Value::Deferred(_)
        )
    }

    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undef)
    }

    /// Puppet truthiness: only `false` and `undef` are false.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Undef | Value::Bool(false))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Puppet's `==`.
    pub fn puppet_eq(&self, other: &Value) -> bool {
        crate::limits::grow_if(self.is_container(), || match (self, other) {
            (Value::Str(a), Value::Str(b)) => {
                a.len() == b.len()
                    && (a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase())
            }
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.puppet_eq(y))
            }
            // Keys are looked up exactly ('A' and 'a' are different keys); values compare
            // with `==`. A key missing on the right reads as undef, as in Puppet.
            (Value::Hash(a), Value::Hash(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).unwrap_or(UNDEF).puppet_eq(v))
            }
            (Value::Regex(a), Value::Regex(b)) => a.source == b.source,
            (Value::Type(a), Value::Type(b)) => a == b,
            (Value::Undef, Value::Undef) | (Value::Default, Value::Default) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            // Ruby's Sensitive#==: equal when the wrapped values hash alike (`eql?`).
            (Value::Sensitive(a), Value::Sensitive(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b))
            | (Value::Timespan(a), Value::Timespan(b)) => a == b,
            // Puppet's time values are Ruby Numerics: equal to the number of their seconds.
            (Value::Timestamp(t) | Value::Timespan(t), Value::Int(_) | Value::Float(_))
            | (Value::Int(_) | Value::Float(_), Value::Timestamp(t) | Value::Timespan(t)) => {
                let n = if let Value::Int(_) | Value::Float(_) = self {
                    self
                } else {
                    other
                };
                *t as f64 / crate::time::NS_PER_SEC as f64 == crate::number::as_f64(n)
            }
            (Value::SemVer(a), Value::SemVer(b)) => a == b,
            (Value::SemVerRange(a), Value::SemVerRange(b)) => a == b,
            (Value::Binary(a), Value::Binary(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b) || a.equals(b),
            _ => false,
        })
    }

    /// The string form used by interpolation and `String($x)`.
    pub fn to_display(&self) -> String {
        let mut s = String::new();
        self.write_display(&mut s, false);
        s
    }

    /// `quoted`: strings nested in collections are written as Puppet source (`'a'`), as
    /// `String` with `%p` does; interpolation leaves them bare.
    pub fn write_display(&self, out: &mut String, quoted: bool) {
        crate::limits::grow_if(self.is_container(), || match self {
            Value::Undef => {
                if quoted {
                    out.push_str("undef")
                }
            }
            Value::Default => out.push_str("default"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&format_float(*f)),
            Value::Str(s) => {
                if quoted {
                    out.push_str(&puppet_quote(s))
                } else {
                    out.push_str(s)
                }
            }
            Value::Regex(r) => {
                out.push('/');
                out.push_str(&r.source);
                out.push('/');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_display(out, quoted);
                }
                out.push(']');
            }
            Value::Hash(h) => {
                out.push('{');
                for (i, (k, v)) in h.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_display(out, quoted);
                    out.push_str(" => ");
                    v.write_display(out, quoted);
                }
                out.push('}');
            }
            Value::Type(t) => out.push_str(&t.expanded_text()),
            Value::Sensitive(_) => out.push_str("Sensitive [value redacted]"),
            // Puppet's Object text: the init hash, 'arguments' left out when there are none.
            Value::Deferred(d) => {
                out.push_str("Deferred({'name' => ");
                out.push_str(&puppet_quote(&d.0));
                if !d.1.is_empty() {
                    out.push_str(", 'arguments' => ");
                    Value::array(d.1.clone()).write_display(out, true);
                }
                out.push_str("})");
            }
            Value::Timestamp(t) => out.push_str(&crate::time::timestamp_to_s(*t as i128)),
            Value::Timespan(t) => out.push_str(&crate::time::timespan_to_s(*t as i128)),
            Value::SemVer(v) => {
                let _ = write!(out, "{v}");
            }
            Value::SemVerRange(r) => out.push_str(&r.text),
            Value::Binary(b) => out.push_str(&base64_encode(b, false)),
            Value::Object(o) => o.write_display(out),
        })
    }
}

/// `'text'` with Puppet's escaping, as `%p` prints a string.
pub fn puppet_quote(s: &str) -> String {
    let needs_dq = s.chars().any(|c| c.is_control());
    if !needs_dq {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        for c in s.chars() {
            if c == '\'' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('\'');
        return out;
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Ruby's `Float#to_s`: shortest round-trip digits, always a `.0`, exponent form outside
/// 1e-4 ..< 1e16.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Shortest round-trip digit count, then those digits rounded exactly (half to even), as
    // Ruby's dtoa does where two shortest candidates are equally near.
    let shortest = format!("{:e}", f);
    let ndigits = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .bytes()
        .filter(|b| b.is_ascii_digit())
        .count()
        .max(1);
    let e = format!("{:.*e}", ndigits - 1, f);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let decpt = exp + 1;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    // Ruby's flo_to_s: fixed notation when the point falls inside the digits, or up to 16
    // integer digits, or up to 3 leading zeros after the point; else exponent notation.
    let inside = decpt > 0 && (decpt as usize) < digits.len();
    if !inside && !(-3..=15).contains(&decpt) {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..(-decpt) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let d = decpt as usize;
        if digits.len() <= d {
            out.push_str(&digits);
            for _ in digits.len()..d {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..d]);
            out.push('.');
            out.push_str(&digits[d..]);
        }
    }
    out
}

// Hash keys: structural identity (Ruby `eql?`), so 'A' and 'a' are different keys.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        crate::limits::grow_if(self.is_container(), || match (self, other) {
            (Value::Undef, Value::Undef) | (Value::Default, Value::Default) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Regex(a), Value::Regex(b)) => a.source == b.source,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Hash(a), Value::Hash(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
            }
            (Value::Type(a), Value::Type(b)) => a == b,
            (Value::Sensitive(a), Value::Sensitive(b)) => a == b,
            (Value::Deferred(a), Value::Deferred(b)) => a.0 == b.0 && a.1 == b.1,
            (Value::Timestamp(a), Value::Timestamp(b))
            | (Value::Timespan(a), Value::Timespan(b)) => a == b,
            // Puppet's time values are Ruby Numerics: equal to the number of their seconds.
            (Value::Timestamp(t) | Value::Timespan(t), Value::Int(_) | Value::Float(_))
            | (Value::Int(_) | Value::Float(_), Value::Timestamp(t) | Value::Timespan(t)) => {
                let n = if let Value::Int(_) | Value::Float(_) = self {
                    self
                } else {
                    other
                };
                *t as f64 / crate::time::NS_PER_SEC as f64 == crate::number::as_f64(n)
            }
            (Value::SemVer(a), Value::SemVer(b)) => a == b,
            (Value::SemVerRange(a), Value::SemVerRange(b)) => a.text == b.text,
            (Value::Binary(a), Value::Binary(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b) || a.equals(b),
            _ => false,
        })
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        crate::limits::grow_if(self.is_container(), || {
            std::mem::discriminant(self).hash(state);
            match self {
                Value::Bool(b) => b.hash(state),
                Value::Int(i) => i.hash(state),
                Value::Float(f) => f.to_bits().hash(state),
                Value::Str(s) => s.hash(state),
                Value::Regex(r) => r.source.hash(state),
                Value::Array(a) => {
                    for v in a.iter() {
                        v.hash(state)
                    }
                }
                Value::Hash(h) => h.len().hash(state),
                Value::Type(t) => t.to_string().hash(state),
                Value::Timestamp(t) | Value::Timespan(t) => t.hash(state),
                Value::SemVer(v) => v.to_string().hash(state),
                Value::SemVerRange(r) => r.text.hash(state),
                Value::Binary(b) => b.hash(state),
                _ => {}
            }
        })
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s.into())
    }
}

/// Follows a dotted path (`a.0.b`) into nested hashes and arrays; undef when a step is missing.
pub fn dig_path(mut cur: Value, path: Option<&str>) -> Value {
    for seg in path.into_iter().flat_map(|p| p.split('.')) {
        cur = match &cur {
            Value::Hash(h) => h.get(&Value::str(seg)).cloned().unwrap_or(Value::Undef),
            Value::Array(a) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i).cloned())
                .unwrap_or(Value::Undef),
            _ => Value::Undef,
        };
    }
    cur
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (RFC 4648); `url_safe` uses `-` and `_` instead of `+` and `/`.
pub fn base64_encode(data: &[u8], url_safe: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                let c = B64[(n >> (18 - 6 * i) & 63) as usize];
                out.push(match (url_safe, c) {
                    (true, b'+') => '-',
                    (true, b'/') => '_',
                    _ => c as char,
                });
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64. `strict` refuses line breaks and missing padding (Ruby's `strict_decode64`);
/// otherwise characters outside the alphabet are skipped, as `decode64` does.
pub fn base64_decode(text: &str, strict: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut seen = 0usize;
    let mut pad = 0usize;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            _ if strict => return None,
            _ => continue,
        };
        if pad > 0 && strict {
            return None;
        }
        seen += 1;
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if strict && (!(seen + pad).is_multiple_of(4) || pad > 2) {
        return None;
    }
    Some(out)
}

/// Converts JSON (facts, Hiera data) into values.
pub fn from_json(j: &serde_json::Value) -> Value {
    crate::limits::grow(|| match j {
        serde_json::Value::Null => Value::Undef,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::array(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::with_capacity_and_hasher(o.len(), Default::default());
            for (k, v) in o {
                m.insert(Value::str(k.as_str()), from_json(v));
            }
            Value::hash(m)
        }
    })
}

/// The generic type name used in messages (`got Integer`).
pub fn type_name_of(v: &Value) -> &'static str {
    match v {
        Value::Undef => "Undef",
        Value::Default => "Default",
        Value::Bool(_) => "Boolean",
        Value::Int(_) => "Integer",
        Value::Float(_) => "Float",
        Value::Str(_) => "String",
        Value::Regex(_) => "Regexp",
        Value::Array(_) => "Array",
        Value::Hash(_) => "Hash",
        Value::Type(_) => "Type",
        Value::Sensitive(_) => "Sensitive",
        Value::Deferred(_) => "Deferred",
        Value::Timestamp(_) => "Timestamp",
        Value::Timespan(_) => "Timespan",
        Value::SemVer(_) => "SemVer",
        Value::SemVerRange(_) => "SemVerRange",
        Value::Binary(_) => "Binary",
        Value::Object(_) => "Object",
    }
}

pub fn flatten(args: &[Value]) -> Vec<Value> {
    crate::limits::grow(|| {
        let mut out = Vec::new();
        for a in args {
            match a {
                Value::Array(xs) => out.extend(flatten(xs)),
                other => out.push(other.clone()),
            }
        }
        out
    })
}
/// `a String`, `an Integer`... as Puppet describes a value's kind in operator errors.
pub fn a_value(v: &Value) -> String {
    let n = match v {
        Value::Undef => return "an Undef Value".into(),
        Value::Type(_) => "Type",
        other => crate::value::type_name_of(other),
    };
    format!("{} {}", crate::types::article(n), n)
}

impl Value {
    /// `String($x)`: strings inside collections are quoted.
    pub fn to_display_q_top(&self) -> String {
        match self {
            Value::Str(s) => s.to_string(),
            Value::Undef => String::new(),
            other => other.to_display_q(),
        }
    }
}

impl Value {
    pub fn to_display_q(&self) -> String {
        let mut s = String::new();
        self.write_display(&mut s, true);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_ruby_does() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(1e20), "1.0e+20");
        assert_eq!(format_float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_float(2.5e-5), "2.5e-05");
        assert_eq!(format_float(-0.0001), "-0.0001");
        assert_eq!(format_float(100.0 / 3.0), "33.333333333333336");
        assert_eq!(format_float(1e16), "1.0e+16");
        assert_eq!(format_float(1e15), "1.0e+15");
        assert_eq!(format_float(123.5), "123.5");
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_encode(b"hello", false), "aGVsbG8=");
        assert_eq!(
            base64_decode("aGVsbG8=", true).unwrap_or_default(),
            b"hello"
        );
        assert_eq!(
            base64_decode("aGVs\nbG8=", false).unwrap_or_default(),
            b"hello"
        );
        assert!(base64_decode("aGVsbG8", true).is_none());
    }

    #[test]
    fn string_equality_ignores_case() {
        assert!(Value::from("ABC").puppet_eq(&Value::from("abc")));
        assert!(Value::Int(1).puppet_eq(&Value::Float(1.0)));
        assert!(!Value::from("1").puppet_eq(&Value::Int(1)));
    }
}
