//! `troupe-syntax`: the Puppet 7 language and EPP templates, from text to a tree.
//!
//! Parsing is total: [`parse_manifest`] and [`parse_epp`] always return a tree together with
//! the diagnostics found on the way, in the order Puppet would report them (its parser
//! stops at the first lexical or syntax error; the validator then reports every problem in
//! a tree that parsed). That holds for input of any depth: past [`MAX_NESTING`] levels the
//! parser reports one error and stops, and no deeper tree leaves it.

pub mod ast;
pub mod checkers;
mod depth;
pub mod diag;
pub mod lexer;
mod parser;
pub mod sexpr;
pub mod source;
pub mod token;
mod validate;
pub use validate::validate_module_file;

use std::sync::Arc;

pub use ast::Expr;
pub use depth::{MAX_HEREDOC_NESTING, MAX_NESTING};
pub use diag::{Diagnostic, Phase, Severity};
pub use parser::STATEMENT_CALLS;
pub use source::{LineCol, SourceFile, Span};

/// A parsed file: its source, its tree and what was found wrong with it.
#[derive(Debug)]
pub struct Parsed {
    pub source: Arc<SourceFile>,
    pub program: Expr,
    /// Errors and warnings. The first error is the one Puppet reports.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Parses a manifest (`.pp`).
pub fn parse_manifest(path: impl Into<String>, text: impl Into<String>) -> Parsed {
    let source = SourceFile::new(path, text);
    let lexed = lexer::lex(&source.text);
    finish(source, lexed, false)
}

/// Parses an EPP template (`.epp`).
pub fn parse_epp(path: impl Into<String>, text: impl Into<String>) -> Parsed {
    let source = SourceFile::new(path, text);
    let lexed = lexer::lex_epp(&source.text);
    finish(source, lexed, true)
}

fn finish(source: Arc<SourceFile>, lexed: lexer::Lexed, epp: bool) -> Parsed {
    let mut p = parser::Parser::new(&lexed.tokens, &source.text);
    let program = p.parse_program();
    let lex_first = lexed.first_error_token;
    // A syntax error found before the lexer failed is what Puppet reports; syntax errors
    // after a lexical error are most likely its echo, so they are dropped.
    let overflow = std::mem::take(&mut p.overflow);
    let mut found: Vec<parser::Found> = p
        .found
        .into_iter()
        .filter(|f| lex_first.is_none_or(|k| f.at_token < k))
        .collect();
    found.sort_by_key(|f| f.at_token);
    // Every syntax error left precedes the first lexical error, so they come first.
    let mut diagnostics: Vec<Diagnostic> = found.into_iter().map(|f| f.diag).collect();
    diagnostics.extend(lexed.diagnostics);
    // Input nested too deeply can trip both the lexer's and the parser's limit; one error
    // says it.
    let mut nesting_reported = false;
    diagnostics.retain(|d| {
        let nesting = depth::is_nesting_error(d);
        let keep = !(nesting && nesting_reported);
        nesting_reported |= nesting;
        keep
    });
    let clean = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    if clean {
        for (text, offset) in &overflow {
            diagnostics.push(Diagnostic::error(
                Phase::Validate,
                format!(
                    "A Literal Integer resulted in a value outside of Puppet Integer max range, got '{}'",
                    overflow_hex(text)
                ),
                Some(*offset),
            ));
        }
        diagnostics.extend(validate::validate(&program, epp));
    }
    Parsed {
        source,
        program,
        diagnostics,
    }
}

/// Puppet's `%#+x` rendering of an out-of-range integer literal.
fn overflow_hex(text: &str) -> String {
    let parsed = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u128::from_str_radix(h, 16)
    } else if text.len() > 1 && text.starts_with('0') {
        u128::from_str_radix(&text[1..], 8)
    } else {
        text.parse::<u128>()
    };
    match parsed {
        Ok(v) => format!("+{v:#x}"),
        Err(_) => text.to_string(),
    }
}
