//! Binary values under a format: the bytes as text (`%s`), Base64 in its three forms
//! (`%b` with line breaks, `%B` strict, `%u` URL-safe), `Binary("...")` (`%p`) and the
//! type's name (`%t`, `%T`); the alternate flag quotes as Ruby's `inspect`.

use super::quote::{inspect_bytes, not_utf8_error};
use super::scalars::kformat;
use super::spec::{format_error, Fmt};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{base64_encode, Value};

/// Ruby's `Base64.encode64`: lines of 60 characters, each ending in a newline.
fn relaxed(b: &[u8]) -> String {
    let flat = base64_encode(b, false);
    let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
    for chunk in flat.as_bytes().chunks(60) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// `text` under `f` with its letter read as `%s`, or as `%p` (Ruby's `inspect` of a
/// binary string) when the alternate flag is given.
fn as_text(f: &Fmt, text: &[u8]) -> EResult<String> {
    let fmt = f.orig_with(f.conv, 's');
    if f.alt {
        kformat(&fmt, Value::str(inspect_bytes(text)))
    } else {
        let s = std::str::from_utf8(text).map_err(|_| EvalError::new(not_utf8_error(text)))?;
        kformat(&fmt, Value::str(s))
    }
}

pub fn binary(f: &Fmt, b: &[u8]) -> EResult<String> {
    match f.conv {
        's' => as_text(f, b),
        'p' => {
            let inner = kformat(&f.orig_with('p', 's'), Value::str(base64_encode(b, false)))?;
            Ok(format!("Binary(\"{inner}\")"))
        }
        'b' => as_text(f, relaxed(b).as_bytes()),
        'B' => as_text(f, base64_encode(b, false).as_bytes()),
        'u' => as_text(f, base64_encode(b, true).as_bytes()),
        't' => as_text(f, b"Binary"),
        'T' => as_text(f, b"BINARY"),
        c => Err(format_error("Binary", c, "bButTsp")),
    }
}
