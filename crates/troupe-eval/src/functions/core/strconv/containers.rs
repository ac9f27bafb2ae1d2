//! Arrays and hashes under a format: delimiters, separators, the formats of contained
//! values, and the alternate flag's indented layout (with a width, an array breaks every
//! element onto its own line once a run of scalars gets wider than it).

use super::fmap::{default_container_formats, get_format, FormatMap};
use super::spec::format_error;
use super::Indentation;
use std::rc::Rc;
use troupe_values::error::EResult;
use troupe_values::value::Value;

fn is_a_or_h(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Hash(_))
}

/// Ruby's `rstrip!`: trailing ASCII whitespace and NULs.
fn rstrip(buf: &mut String) {
    let keep = buf.trim_end_matches(super::RUBY_SPACE).len();
    buf.truncate(keep);
}

/// `s` appended to `buf`, a checkpoint first: nested layouts copy every inner text into
/// each enclosing one (quadratic in the depth, as in Puppet), so the compile's deadline and
/// memory limit are asked before every piece.
fn append(buf: &mut String, s: &str) -> EResult<()> {
    if s.len() > 1024 {
        troupe_values::limits::reserve((s.len() as u64).saturating_mul(2))?;
    } else {
        troupe_values::limits::checkpoint()?;
    }
    buf.push_str(s);
    Ok(())
}

/// A contained value: containers keep the whole map, others use the container's
/// `string_formats`.
fn child(
    v: &Value,
    map: &Rc<FormatMap>,
    elements: &Rc<FormatMap>,
    ind: Indentation,
) -> EResult<String> {
    let m = if is_a_or_h(v) || matches!(v, Value::Deferred(_)) {
        map
    } else {
        elements
    };
    super::convert_with(v, m, ind)
}

pub fn array(
    whole: &Value,
    items: &[Value],
    map: &Rc<FormatMap>,
    ind: Indentation,
) -> EResult<String> {
    let f = get_format(whole, map);
    let sep = f.separator.as_deref().unwrap_or(", ");
    let elements = f
        .string_formats
        .clone()
        .unwrap_or_else(default_container_formats);
    let (open, close) = f.delimiter_pair(("[", "]"));
    if !matches!(f.conv, 'a' | 's' | 'p') {
        return Err(format_error("Array", f.conv, "asp"));
    }
    let ind = ind.indenting(f.alt || ind.is_indenting);
    let mut buf = String::new();
    if ind.breaks() {
        buf.push('\n');
        buf.push_str(&ind.padding());
    }
    buf.push_str(open);
    // Every element is converted as a subsequent one (Puppet flips `first` before the
    // first conversion).
    let inner = ind.increase(f.alt).subsequent();
    let mut mapped = Vec::with_capacity(items.len());
    for v in items {
        mapped.push(child(v, map, &elements, inner)?);
    }
    let sz_break = match (f.alt, f.width_num()) {
        (true, Some(w)) => {
            let mut widest: u128 = 0;
            let mut run: u128 = 0;
            for (v, s) in items.iter().zip(&mapped) {
                if is_a_or_h(v) {
                    run = 0;
                } else {
                    run += s.chars().count() as u128;
                    widest = widest.max(run);
                }
            }
            widest > w
        }
        _ => false,
    };
    let pad = ind.increase(f.alt).padding();
    for (i, (v, s)) in items.iter().zip(&mapped).enumerate() {
        if i == 0 {
            if sz_break && !is_a_or_h(v) {
                buf.push(' ');
            }
        } else {
            buf.push_str(sep);
            let after_container = f.alt && is_a_or_h(&items[i - 1]) && !is_a_or_h(v);
            if (sz_break && !is_a_or_h(v)) || after_container {
                if !buf.ends_with('\n') {
                    rstrip(&mut buf);
                }
                buf.push('\n');
                buf.push_str(&pad);
            }
        }
        if buf.ends_with(' ') && s.starts_with('\n') {
            rstrip(&mut buf);
        }
        append(&mut buf, s)?;
    }
    buf.push_str(close);
    Ok(buf)
}

pub fn hash(
    whole: &Value,
    entries: &troupe_values::value::Map,
    map: &Rc<FormatMap>,
    ind: Indentation,
) -> EResult<String> {
    let f = get_format(whole, map);
    let mut sep = f.separator.clone().unwrap_or_else(|| ", ".into());
    let assoc = f.separator2.as_deref().unwrap_or(" => ");
    let elements = f
        .string_formats
        .clone()
        .unwrap_or_else(default_container_formats);
    let (open, close) = f.delimiter_pair(("{", "}"));
    if f.alt {
        if !sep.ends_with('\n') {
            rstrip(&mut sep);
        }
        sep.push('\n');
    }
    match f.conv {
        'a' => {
            let pairs: Vec<Value> = entries
                .iter()
                .map(|(k, v)| Value::Array(Rc::new(vec![k.clone(), v.clone()])))
                .collect();
            let arr = Value::Array(Rc::new(pairs));
            super::convert_with(&arr, map, ind)
        }
        'h' | 's' | 'p' => {
            let ind = ind.indenting(f.alt || ind.is_indenting);
            let mut buf = String::new();
            if ind.breaks() {
                buf.push('\n');
                buf.push_str(&ind.padding());
            }
            let inner = ind.increase(false);
            let (cond_break, padding) = if f.alt {
                ("\n", inner.padding())
            } else {
                ("", String::new())
            };
            buf.push_str(open);
            buf.push_str(cond_break);
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    buf.push_str(&sep);
                }
                let key = child(k, map, &elements, inner)?;
                let val = child(v, map, &elements, inner)?;
                buf.push_str(&padding);
                append(&mut buf, &key)?;
                buf.push_str(assoc);
                append(&mut buf, &val)?;
            }
            if f.alt {
                buf.push_str(cond_break);
                buf.push_str(&ind.padding());
            }
            buf.push_str(close);
            Ok(buf)
        }
        c => Err(format_error("Hash", c, "hasp")),
    }
}
