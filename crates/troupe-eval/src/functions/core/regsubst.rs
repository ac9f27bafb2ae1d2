//! `regsubst` (its two dispatches: a String pattern with flags and encoding, or a Regexp or
//! `Type[Regexp]` pattern), and Ruby's wording of a regexp that does not compile.

use crate::functions::host::Host;
use crate::functions::sigs::dispatch;
use std::rc::Rc;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError};
use troupe_values::types::Type;
use troupe_values::value::{Regexp, Value};

/// Onigmo's message for a regexp the regex crate refused (`err` is troupe's text), as Ruby's
/// `Regexp.compile` words it: `<reason>: /<source>/`.
pub(crate) fn ruby_regex_error(source: &str, err: String) -> String {
    const REASONS: &[(&str, &str)] = &[
        ("unclosed group", "end pattern with unmatched parenthesis"),
        ("unopened group", "unmatched close parenthesis"),
        ("unclosed character class", "premature end of char-class"),
        (
            "repetition operator missing expression",
            "target of repeat operator is not specified",
        ),
        ("incomplete escape sequence", "too short escape sequence"),
        (
            "invalid repetition count range",
            "upper bound must be greater than lower bound",
        ),
    ];
    for (ours, ruby) in REASONS {
        if err.contains(&format!("error: {ours}")) {
            return format!("{ruby}: /{source}/");
        }
    }
    err
}

/// A regexp compiled from a String pattern, failing with Ruby's words.
pub(crate) fn compile(source: &str, prefix: &str) -> EResult<Regexp> {
    let full = format!("{prefix}{source}");
    Regexp::new(&full).map_err(|e| EvalError::new(ruby_regex_error(source, e)))
}

fn sub(s: &str, re: &regex::Regex, repl: &Value, global: bool) -> String {
    let expand = |caps: &regex::Captures| -> String {
        match repl {
            // A hash replaces each match by its entry (nothing when it has none).
            Value::Hash(h) => {
                let m = caps.get(0).map_or("", |m| m.as_str());
                match h.get(&Value::str(m)) {
                    Some(Value::Str(r)) => r.to_string(),
                    _ => String::new(),
                }
            }
            Value::Str(r) => expand_ruby(r, caps),
            _ => String::new(),
        }
    };
    if global {
        re.replace_all(s, |c: &regex::Captures| expand(c))
            .into_owned()
    } else {
        re.replace(s, |c: &regex::Captures| expand(c)).into_owned()
    }
}

/// Ruby replacement syntax: `\0`..`\9` and `\\`.
fn expand_ruby(repl: &str, caps: &regex::Captures) -> String {
    let mut out = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    let i = d.to_digit(10).unwrap_or(0) as usize;
                    out.push_str(caps.get(i).map(|m| m.as_str()).unwrap_or(""));
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn map_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::Str(s) => Value::str(f(s)),
        Value::Array(a) => Value::array(
            a.iter()
                .map(|x| match x {
                    Value::Str(s) => Value::str(f(s)),
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `regsubst`.
pub(crate) fn regsubst_fn(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let sig = dispatch(ev, name, super::sigs::REGSUBST, &args, lambda)?;
    let flags = match args.get(3) {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    };
    let re: Rc<Regexp> = match (&args[1], sig) {
        (Value::Str(p), 0) => {
            let mut prefix = String::new();
            for (f, inline) in [('I', 'i'), ('M', 's'), ('E', 'x')] {
                if flags.contains(f) {
                    prefix.push(inline);
                }
            }
            let prefix = if prefix.is_empty() {
                prefix
            } else {
                format!("(?{prefix})")
            };
            Rc::new(compile(p, &prefix)?)
        }
        (Value::Regex(r), _) => r.clone(),
        (Value::Type(t), _) => match t.resolved() {
            Type::Regexp(Some(r)) => r.clone(),
            _ => Rc::new(compile("", "")?),
        },
        _ => {
            return Err(EvalError::new(
                "'regsubst' expects a String or Regexp pattern",
            ))
        }
    };
    let global = flags.contains('G');
    let plain = re.needs_plain("regsubst").map_err(EvalError::new)?;
    let repl = args[2].clone();
    Ok(map_strings(&args[0], &|s: &str| {
        sub(s, plain, &repl, global)
    }))
}
