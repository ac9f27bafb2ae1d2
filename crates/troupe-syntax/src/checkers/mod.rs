//! Heredoc syntax checkers (`@(END:json)`, `:base64`, `:pp`, `:epp`): the text a heredoc
//! produces is checked against the syntax it declares, as Puppet's syntax-checker plugins
//! do. A syntax `a+b+json` is checked by the most specific checker known (`a+b+json`,
//! `b+json`, `json`); a syntax with no checker is not checked.
//!
//! A literal heredoc is checked when the file is validated; one with interpolation when it is
//! evaluated. Both report "Invalid produced text having syntax: '<syntax>'." followed by the
//! checker's own message.

mod base64;
mod json;

use std::cell::Cell;

thread_local! {
    /// How many `pp`/`epp` checks are running on this thread: the text they parse may hold
    /// heredocs to check in turn, and a hostile file could nest them without end.
    static NESTED: Cell<usize> = const { Cell::new(0) };
}

/// Checks `text` against `syntax`; the whole error message when it does not conform.
pub fn check(syntax: &str, text: &str) -> Option<String> {
    let segments: Vec<&str> = syntax.split('+').collect();
    let checker = (0..segments.len())
        .map(|i| segments[i..].join("+"))
        .find(|k| matches!(k.as_str(), "json" | "base64" | "pp" | "epp"))?;
    let msg = match checker.as_str() {
        "json" => json::check(text),
        "base64" => base64::check(text),
        // Puppet's pp and epp checkers only accept the exact syntax name.
        "pp" | "epp" if syntax != checker => None,
        "pp" => parsed(text, false),
        _ => parsed(text, true),
    }?;
    Some(format!(
        "Invalid produced text having syntax: '{syntax}'. {msg}"
    ))
}

/// The `pp`/`epp` checker: the first error parsing (and validating) the text, as Puppet's
/// parser words it for a string without a file.
fn parsed(text: &str, epp: bool) -> Option<String> {
    if NESTED.with(|n| n.get()) >= crate::MAX_HEREDOC_NESTING as usize {
        return None;
    }
    NESTED.with(|n| n.set(n.get() + 1));
    let p = if epp {
        crate::parse_epp("", text)
    } else {
        crate::parse_manifest("", text)
    };
    NESTED.with(|n| n.set(n.get() - 1));
    let d = p.errors().next()?;
    let mut msg = d.message.clone();
    if let Some(off) = d.offset {
        let lc = p.source.line_col(off);
        msg.push_str(&format!(" (line: {}, column: {})", lc.line, lc.col));
    }
    let msg: String = msg.chars().take(500).collect();
    let name = if epp { "EPP" } else { "PP" };
    Some(format!(
        "{name} syntax checker: \"{}\"",
        msg.replace("\r\n", "\\n").replace('\n', "\\n")
    ))
}
