//! A total recursive-descent parser for Puppet's grammar (`egrammar.ra` of Puppet 7), with
//! its precedence table. It never gives up: a syntax error is recorded and parsing resumes
//! at the next statement, so every input yields a tree.
//!
//! The parser is one `Parser` over the token slice, its grammar rules spread over this folder
//! by concern. This file owns the parser's state, the nesting limit every recursive path
//! passes through (`nest`), the token cursor (`kind`, `peek`, `bump`, `eat`, `expect`,
//! spans) and the recording of errors in the order Puppet reports them. The rules:
//!
//! * `statements`: programs (manifest and EPP), statement lists, calls without parentheses
//!   (`include a, b`), blocks, EPP render expressions, and recovery after an error;
//! * `resources`: the statement-level levels of the precedence table: assignment,
//!   relationships (`->`, `~>`, ...) and resource expressions (bodies, defaults, overrides,
//!   virtual and exported), with their attribute operations;
//! * `expressions`: binary operators by precedence, the selector, unary operators, postfix
//!   chains (access, method calls, calls, collectors) and `if`/`unless`/`case`;
//! * `primaries`: literals, names, variables, interpolated strings, heredocs, arrays, hashes,
//!   and the entry lists of arrays, calls and accesses;
//! * `definitions`: `class`, `define`, `function`, `node`, `type` (alias and definition),
//!   parameter lists, lambdas and return types.
//!
//! What each may use: this file and `crate::{ast, token, source, diag, depth}`; besides,
//! `expressions` and `definitions` use the entry modes of `primaries`. This file imports no
//! file of the folder. The rules call one another through `self`, as the grammar nests (a
//! block holds statements, which hold expressions, which hold blocks); every such cycle passes
//! through `nest`, which bounds it.

mod definitions;
mod expressions;
mod primaries;
mod resources;
mod statements;

use crate::ast::*;
use crate::depth::{self, MAX_NESTING};
use crate::diag::{Diagnostic, Phase};
use crate::source::Span;
use crate::token::{Tok, Token};

/// An error has been recorded; unwind to the nearest recovery point.
#[derive(Debug)]
pub(crate) struct Fail;

type PResult<T> = Result<T, Fail>;

/// A diagnostic together with the index of the token that was the parser's lookahead when
/// Puppet's LALR parser would have found it; the smallest index is the error Puppet reports.
#[derive(Debug)]
pub(crate) struct Found {
    pub diag: Diagnostic,
    pub at_token: usize,
}

/// Calls that may be written without parentheses.
pub const STATEMENT_CALLS: &[&str] = &[
    "require", "realize", "include", "contain", "tag", "debug", "info", "notice", "warning", "err",
    "fail", "import", "break", "next", "return",
];

pub(crate) struct Parser<'t> {
    toks: &'t [Token],
    src: &'t str,
    i: usize,
    pub found: Vec<Found>,
    /// Integer literals beyond 64 bits: (text, offset), reported by the validator.
    pub overflow: Vec<(String, u32)>,
    namestack: Vec<String>,
    /// Levels of nesting entered (see [`Parser::nest`]).
    depth: u32,
    /// The input nested deeper than [`MAX_NESTING`]: the error is recorded, the parser has
    /// jumped to the end of input and records nothing more.
    too_deep: bool,
}

impl<'t> Parser<'t> {
    pub fn new(toks: &'t [Token], src: &'t str) -> Parser<'t> {
        Parser {
            toks,
            src,
            i: 0,
            found: Vec::new(),
            overflow: Vec::new(),
            namestack: Vec::new(),
            depth: 0,
            too_deep: false,
        }
    }

    /// Parses one more level of nesting with `f`: every recursive path of the grammar passes
    /// through here, so the parser's recursion, and with [`Parser::check_depth`] the depth of
    /// the trees it builds, stay within [`MAX_NESTING`].
    fn nest(&mut self, f: impl FnOnce(&mut Self) -> PResult<Expr>) -> PResult<Expr> {
        if self.depth >= MAX_NESTING {
            let at = self.tok().lo;
            return Err(self.too_deep_at(at));
        }
        self.depth += 1;
        let r = depth::grow(|| f(self));
        self.depth -= 1;
        let e = r?;
        self.check_depth(&e, e.anchor())?;
        Ok(e)
    }

    /// Fails when a tree built by a loop (operator, call and access chains) got too deep.
    fn check_depth(&mut self, e: &Expr, at: u32) -> PResult<()> {
        if e.depth() > MAX_NESTING {
            return Err(self.too_deep_at(at));
        }
        Ok(())
    }

    /// Records the nesting error (once) and stops parsing: the rest of the input is skipped,
    /// so every level unwinds at once without reporting anything else.
    fn too_deep_at(&mut self, at: u32) -> Fail {
        if !self.too_deep {
            self.too_deep = true;
            self.found.push(Found {
                diag: Diagnostic::error(Phase::Syntax, depth::too_deep_message(), Some(at)),
                at_token: self.i,
            });
        }
        self.i = self.toks.len() - 1;
        Fail
    }

    fn kind(&self) -> Tok {
        self.toks.get(self.i).map_or(Tok::Eof, |t| t.kind)
    }

    fn peek(&self, n: usize) -> Tok {
        self.toks.get(self.i + n).map_or(Tok::Eof, |t| t.kind)
    }

    fn tok(&self) -> &'t Token {
        let i = self.i.min(self.toks.len() - 1);
        &self.toks[i]
    }

    fn at(&self, k: Tok) -> bool {
        self.kind() == k
    }

    fn bump(&mut self) -> &'t Token {
        let t = self.tok();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn eat(&mut self, k: Tok) -> bool {
        if self.at(k) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, k: Tok) -> PResult<&'t Token> {
        if self.at(k) {
            Ok(self.bump())
        } else {
            Err(self.syntax_error())
        }
    }

    /// The span from token `start` to the last consumed token.
    fn span_from(&self, start: usize) -> Span {
        let lo = self.toks[start.min(self.toks.len() - 1)].lo as usize;
        let hi = if self.i > start {
            self.toks[self.i - 1].hi as usize
        } else {
            lo
        };
        Span::new(lo, hi)
    }

    fn tok_span(t: &Token) -> Span {
        Span::new(t.lo as usize, t.hi as usize)
    }

    /// Records `Syntax error at '<token>'` at the current token.
    fn syntax_error(&mut self) -> Fail {
        if self.too_deep {
            return Fail;
        }
        let t = self.tok();
        let (msg, off) = if t.kind == Tok::Eof {
            ("Syntax error at end of input".to_string(), None)
        } else {
            (
                format!("Syntax error at '{}'", display_value(t)),
                Some(t.lo),
            )
        };
        self.found.push(Found {
            diag: Diagnostic::error(Phase::Syntax, msg, off),
            at_token: self.i,
        });
        Fail
    }

    /// Records an error Puppet raises while reducing a rule (so it is found when the token
    /// after the construct is the lookahead).
    fn semantic_error(&mut self, msg: impl Into<String>, offset: u32) -> Fail {
        if self.too_deep {
            return Fail;
        }
        self.found.push(Found {
            diag: Diagnostic::error(Phase::Syntax, msg, Some(offset)),
            at_token: self.i,
        });
        Fail
    }
}

/// The value Puppet shows for a token in `Syntax error at '...'`.
fn display_value(t: &Token) -> String {
    match t.kind {
        Tok::Regex => format!("(?-mix:{})", t.value),
        _ => t.value.clone(),
    }
}
