//! A total recursive-descent parser for Puppet's grammar (`egrammar.ra` of Puppet 7), with
//! its precedence table. It never gives up: a syntax error is recorded and parsing resumes
//! at the next statement, so every input yields a tree.

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

enum Stmt {
    Single(Expr),
    /// `a, b, c` at statement level: the arguments of a preceding statement call.
    List(Vec<Expr>, u32),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryMode {
    /// `expression | hashpair` (access arguments)
    Access,
    /// `assignment | hashpair` (call arguments)
    Argument,
    /// `assignment | hashpair | type | function` (array entries)
    Collection,
}

enum Entry {
    Plain(Expr),
    Pair(HashEntry),
}

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

    // ----- nesting limit ---------------------------------------------------------------------

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

    // ----- token helpers -------------------------------------------------------------------

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

    fn can_start_statement(&self) -> bool {
        matches!(
            self.kind(),
            Tok::Variable
                | Tok::Name
                | Tok::Word
                | Tok::ClassRef
                | Tok::Number
                | Tok::String
                | Tok::DqPre
                | Tok::Heredoc
                | Tok::Regex
                | Tok::Boolean
                | Tok::Default
                | Tok::Undef
                | Tok::ListStart
                | Tok::LBrack
                | Tok::LBrace
                | Tok::LParen
                | Tok::WsLParen
                | Tok::Minus
                | Tok::Times
                | Tok::Not
                | Tok::At
                | Tok::AtAt
                | Tok::If
                | Tok::Unless
                | Tok::Case
                | Tok::Class
                | Tok::Define
                | Tok::Node
                | Tok::Function
                | Tok::Type
                | Tok::Private
                | Tok::Attr
                | Tok::RenderString
                | Tok::RenderExpr
        )
    }

    /// Skips tokens after an error until a place where a statement can resume: a `}` that
    /// closes the enclosing block (not consumed), or a statement start on a new line.
    fn recover(&mut self, start: usize) {
        let mut depth: i32 = 0;
        if self.i == start && !self.at(Tok::Eof) && !(self.at(Tok::RBrace)) {
            self.bump();
        }
        loop {
            let k = self.kind();
            match k {
                Tok::Eof => return,
                Tok::RBrace if depth == 0 => return,
                Tok::LBrace
                | Tok::SelBrace
                | Tok::LParen
                | Tok::WsLParen
                | Tok::LBrack
                | Tok::ListStart => depth += 1,
                Tok::RBrace | Tok::RParen | Tok::RBrack => depth = (depth - 1).max(0),
                _ => {}
            }
            if depth == 0 && self.i > 0 && self.i != start {
                let prev = &self.toks[self.i - 1];
                let new_line = self.starts_line(prev.hi, self.tok().lo);
                if new_line
                    && matches!(
                        k,
                        Tok::Variable
                            | Tok::Name
                            | Tok::ClassRef
                            | Tok::If
                            | Tok::Unless
                            | Tok::Case
                            | Tok::Class
                            | Tok::Define
                            | Tok::Node
                            | Tok::Function
                            | Tok::At
                            | Tok::AtAt
                    )
                {
                    return;
                }
            }
            self.bump();
        }
    }

    /// Whether a line break lies between two offsets.
    fn starts_line(&self, prev_hi: u32, lo: u32) -> bool {
        let (a, b) = (prev_hi as usize, lo as usize);
        a < b
            && self
                .src
                .as_bytes()
                .get(a..b)
                .is_some_and(|s| s.contains(&b'\n'))
    }

    // ----- programs and statements ---------------------------------------------------------

    pub fn parse_program(&mut self) -> Expr {
        let start = self.i;
        if self.at(Tok::EppStart) {
            return self.epp_program();
        }
        let body = self.statements_until_end();
        block_or_expression(body, self.span_from(start))
    }

    fn statements_until_end(&mut self) -> Vec<Expr> {
        let mut all = Vec::new();
        loop {
            let mut stmts = self.statements();
            all.append(&mut stmts);
            if self.at(Tok::Eof) {
                break;
            }
            // Something that can neither continue nor start a statement.
            self.syntax_error();
            let here = self.i;
            self.recover(here);
            if self.at(Tok::RBrace) {
                self.bump();
            }
        }
        all
    }

    fn epp_program(&mut self) -> Expr {
        let start = self.i;
        self.bump();
        let params = if self.at(Tok::Pipe) {
            self.bump();
            if self.eat(Tok::Pipe) {
                Some(Vec::new())
            } else {
                match self.parameters(Tok::Pipe) {
                    Ok(p) => {
                        if self.expect(Tok::Pipe).is_err() {
                            let here = self.i;
                            self.recover(here);
                        }
                        Some(p)
                    }
                    Err(_) => {
                        let here = self.i;
                        self.recover(here);
                        None
                    }
                }
            }
        } else {
            None
        };
        let body_start = self.i;
        let body = self.statements_until_end();
        let body = if body.is_empty() {
            None
        } else {
            Some(Box::new(block_or_expression(
                body,
                self.span_from(body_start),
            )))
        };
        Expr::new(ExprKind::Epp { params, body }, self.span_from(start))
    }

    /// `statements`: stops (without consuming) at a token that cannot start a statement.
    fn statements(&mut self) -> Vec<Expr> {
        let mut list: Vec<Stmt> = Vec::new();
        while self.can_start_statement() {
            let start = self.i;
            match self.syntactic_statement() {
                Ok(s) => list.push(s),
                Err(Fail) => {
                    self.recover(start);
                    continue;
                }
            }
            if self.at(Tok::Semic) {
                self.bump();
                if !self.can_start_statement() {
                    self.syntax_error();
                    let here = self.i;
                    self.recover(here);
                }
            }
        }
        self.transform_calls(list)
    }

    fn syntactic_statement(&mut self) -> PResult<Stmt> {
        let first = self.assignment()?;
        if !self.at(Tok::Comma) {
            return Ok(Stmt::Single(first));
        }
        let comma = self.tok().lo;
        let mut list = vec![first];
        while self.eat(Tok::Comma) {
            list.push(self.assignment()?);
        }
        Ok(Stmt::List(list, comma))
    }

    /// Turns `name arg` and `name a, b` sequences into calls of the statement functions.
    fn transform_calls(&mut self, list: Vec<Stmt>) -> Vec<Expr> {
        let mut out: Vec<Expr> = Vec::new();
        for s in list {
            let callable = matches!(out.last(), Some(Expr { kind: ExprKind::QName(n), .. })
                if STATEMENT_CALLS.contains(&n.as_str()));
            if callable {
                let Some(name) = out.pop() else { continue };
                let args = match s {
                    Stmt::Single(e) => vec![e],
                    Stmt::List(es, _) => es,
                };
                let span = args.last().map_or(name.span, |a| name.span.to(a.span));
                out.push(Expr::new(
                    ExprKind::Call(Call {
                        func: Box::new(name),
                        args: args.into_iter().map(rvalue_call).collect(),
                        lambda: None,
                        rval_required: false,
                    }),
                    span,
                ));
                continue;
            }
            match s {
                Stmt::Single(e) => out.push(statement_call(e)),
                Stmt::List(es, comma) => {
                    let msg = match out.last() {
                        Some(Expr {
                            kind: ExprKind::QName(n),
                            ..
                        }) => format!(
                            "attempt to pass argument list to the function '{n}' which cannot be called without parentheses"
                        ),
                        _ => "illegal comma separated argument list".to_string(),
                    };
                    self.semantic_error(msg, comma);
                    out.extend(es);
                }
            }
        }
        out
    }

    // ----- assignment, relationships, resources --------------------------------------------

    fn assignment(&mut self) -> PResult<Expr> {
        self.nest(Self::assignment_level)
    }

    fn assignment_level(&mut self) -> PResult<Expr> {
        let lhs = self.relationship()?;
        let op = match self.kind() {
            Tok::Equals => AssignOp::Assign,
            Tok::Appends => AssignOp::Append,
            Tok::Deletes => AssignOp::Delete,
            _ => return Ok(lhs),
        };
        let op_span = Self::tok_span(self.bump());
        let rhs = self.assignment()?;
        let span = lhs.span.to(rhs.span);
        Ok(Expr::new(
            ExprKind::Assign {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                op_span,
            },
            span,
        ))
    }

    fn relationship(&mut self) -> PResult<Expr> {
        let mut lhs = self.resource()?;
        loop {
            let op = match self.kind() {
                Tok::InEdge => RelOp::Before,
                Tok::InEdgeSub => RelOp::Notify,
                Tok::OutEdge => RelOp::Require,
                Tok::OutEdgeSub => RelOp::Subscribe,
                _ => return Ok(lhs),
            };
            let op_span = Self::tok_span(self.bump());
            let rhs = self.resource()?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr::new(
                ExprKind::Relationship {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    op_span,
                },
                span,
            );
            self.check_depth(&lhs, op_span.lo)?;
        }
    }

    fn resource(&mut self) -> PResult<Expr> {
        let start = self.i;
        if matches!(self.kind(), Tok::At | Tok::AtAt) {
            let at = self.bump();
            let virtual_ = at.kind == Tok::At;
            let mut r = self.nest(Self::resource)?;
            let form = if virtual_ {
                ResourceForm::Virtual
            } else {
                ResourceForm::Exported
            };
            match &mut r.kind {
                ExprKind::Resource { form: f, .. }
                | ExprKind::ResourceDefaults { form: f, .. }
                | ExprKind::ResourceOverride { form: f, .. } => *f = form,
                _ => {
                    let msg = if virtual_ {
                        "Virtual (@) can only be applied to a Resource Expression"
                    } else {
                        "Exported (@@) can only be applied to a Resource Expression"
                    };
                    return Err(self.semantic_error(msg, at.lo));
                }
            }
            r.span = self.span_from(start);
            return Ok(r);
        }
        let mut e = if self.at(Tok::Class) && self.peek(1) == Tok::LBrace {
            let class_tok = self.bump();
            self.bump();
            let bodies = self.resource_bodies()?;
            self.eat(Tok::Semic);
            self.expect(Tok::RBrace)?;
            Expr::new(
                ExprKind::Resource {
                    form: ResourceForm::Regular,
                    type_expr: Box::new(Expr::new(
                        ExprKind::QName("class".into()),
                        Self::tok_span(class_tok),
                    )),
                    bodies,
                },
                self.span_from(start),
            )
        } else {
            self.binary(0)?
        };
        while self.at(Tok::LBrace) {
            let at = self.tok().lo;
            e = self.resource_rest(e, start)?;
            self.check_depth(&e, at)?;
        }
        Ok(e)
    }

    fn at_attribute_start(&self) -> bool {
        let k = self.kind();
        (k == Tok::Times && self.peek(1) == Tok::FArrow)
            || ((k == Tok::Name || k.is_keyword())
                && matches!(self.peek(1), Tok::FArrow | Tok::PArrow))
    }

    fn resource_rest(&mut self, left: Expr, start: usize) -> PResult<Expr> {
        let lbrace = self.bump();
        if self.at(Tok::RBrace) || self.at_attribute_start() {
            let ops = self.attribute_operations()?;
            self.eat(Tok::Comma);
            let rbrace = self.expect(Tok::RBrace)?;
            let span = self.span_from(start);
            return match &left.kind {
                ExprKind::QName(name) => {
                    if ops.iter().any(|o| {
                        matches!(o, AttrOp::Set { append: true, .. } | AttrOp::Splat { .. })
                    }) {
                        return Err(self.semantic_error(
                            "Syntax error resource body without title or hash with +>",
                            lbrace.lo,
                        ));
                    }
                    let entries = ops
                        .into_iter()
                        .filter_map(|o| match o {
                            AttrOp::Set {
                                name, value, span, ..
                            } => Some(HashEntry {
                                key: Expr::new(ExprKind::QName(name), span),
                                value,
                                span,
                            }),
                            AttrOp::Splat { .. } => None,
                        })
                        .collect();
                    let hash = Expr::new(
                        ExprKind::Hash {
                            entries,
                            unfolded: false,
                        },
                        Span::new(lbrace.lo as usize, rbrace.hi as usize),
                    );
                    let is_call = STATEMENT_CALLS.contains(&name.as_str());
                    if is_call {
                        let lspan = left.span;
                        Ok(Expr::new(
                            ExprKind::Call(Call {
                                func: Box::new(left),
                                args: vec![hash],
                                lambda: None,
                                rval_required: false,
                            }),
                            lspan.to(span),
                        ))
                    } else {
                        Ok(Expr::new(ExprKind::Block(vec![left, hash]), span))
                    }
                }
                ExprKind::QRef(_) => Ok(Expr::new(
                    ExprKind::ResourceDefaults {
                        form: ResourceForm::Regular,
                        type_expr: Box::new(left),
                        ops,
                    },
                    span,
                )),
                ExprKind::Access { target, args } => {
                    let is_defaults = matches!(&target.kind, ExprKind::QRef(n) if n.eq_ignore_ascii_case("resource"))
                        && args.len() == 1;
                    if is_defaults {
                        Ok(Expr::new(
                            ExprKind::ResourceDefaults {
                                form: ResourceForm::Regular,
                                type_expr: Box::new(left),
                                ops,
                            },
                            span,
                        ))
                    } else {
                        Ok(Expr::new(
                            ExprKind::ResourceOverride {
                                form: ResourceForm::Regular,
                                target: Box::new(left),
                                ops,
                            },
                            span,
                        ))
                    }
                }
                _ => Err(self.semantic_error(
                    "Expression is not valid as a resource, resource-default, or resource-override",
                    left.anchor(),
                )),
            };
        }
        let mut bodies = vec![self.resource_body()?];
        if self.eat(Tok::Semic) && !self.at(Tok::RBrace) {
            bodies.extend(self.resource_bodies()?);
            self.eat(Tok::Semic);
        }
        self.expect(Tok::RBrace)?;
        Ok(Expr::new(
            ExprKind::Resource {
                form: ResourceForm::Regular,
                type_expr: Box::new(left),
                bodies,
            },
            self.span_from(start),
        ))
    }

    /// `resource_bodies`: bodies separated by `;` (a trailing `;` is left to the caller).
    fn resource_bodies(&mut self) -> PResult<Vec<ResourceBody>> {
        let mut bodies = vec![self.resource_body()?];
        while self.at(Tok::Semic) && self.peek(1) != Tok::RBrace {
            self.bump();
            bodies.push(self.resource_body()?);
        }
        Ok(bodies)
    }

    /// `expression : attribute_operations ,?`
    fn resource_body(&mut self) -> PResult<ResourceBody> {
        let start = self.i;
        let title = self.expression(0)?;
        self.expect(Tok::Colon)?;
        let ops = self.attribute_operations()?;
        self.eat(Tok::Comma);
        Ok(ResourceBody {
            title,
            ops,
            span: self.span_from(start),
        })
    }

    /// Zero or more attribute operations separated by commas; a trailing comma is left.
    fn attribute_operations(&mut self) -> PResult<Vec<AttrOp>> {
        let mut ops = Vec::new();
        if !(self.at(Tok::Name) || self.kind().is_keyword() || self.at(Tok::Times)) {
            return Ok(ops);
        }
        loop {
            ops.push(self.attribute_operation()?);
            if self.at(Tok::Comma)
                && (matches!(self.peek(1), Tok::Name | Tok::Times) || self.peek(1).is_keyword())
            {
                self.bump();
                continue;
            }
            return Ok(ops);
        }
    }

    fn attribute_operation(&mut self) -> PResult<AttrOp> {
        let start = self.i;
        if self.at(Tok::Times) {
            self.bump();
            self.expect(Tok::FArrow)?;
            let value = self.expression(0)?;
            return Ok(AttrOp::Splat {
                value,
                span: self.span_from(start),
            });
        }
        let name = self.bump().value.clone();
        let append = match self.kind() {
            Tok::FArrow => false,
            Tok::PArrow => true,
            _ => return Err(self.syntax_error()),
        };
        self.bump();
        let value = self.expression(0)?;
        Ok(AttrOp::Set {
            name,
            append,
            value,
            span: self.span_from(start),
        })
    }

    // ----- expressions -----------------------------------------------------------------------

    /// Binary operators by Puppet's precedence (higher binds tighter); `?` is the selector.
    fn binop(&self) -> Option<(u8, Option<BinOp>)> {
        Some(match self.kind() {
            Tok::In => (10, Some(BinOp::In)),
            Tok::Match => (9, Some(BinOp::Match)),
            Tok::NoMatch => (9, Some(BinOp::NotMatch)),
            Tok::Times => (8, Some(BinOp::Mul)),
            Tok::Div => (8, Some(BinOp::Div)),
            Tok::Modulo => (8, Some(BinOp::Mod)),
            Tok::Plus => (7, Some(BinOp::Add)),
            Tok::Minus => (7, Some(BinOp::Sub)),
            Tok::LShift => (6, Some(BinOp::Shl)),
            Tok::RShift => (6, Some(BinOp::Shr)),
            Tok::IsEqual => (5, Some(BinOp::Eq)),
            Tok::NotEqual => (5, Some(BinOp::Ne)),
            Tok::GreaterThan => (4, Some(BinOp::Gt)),
            Tok::GreaterEqual => (4, Some(BinOp::Ge)),
            Tok::LessThan => (4, Some(BinOp::Lt)),
            Tok::LessEqual => (4, Some(BinOp::Le)),
            Tok::QMark => (3, None),
            Tok::And => (2, Some(BinOp::And)),
            Tok::Or => (1, Some(BinOp::Or)),
            _ => return None,
        })
    }

    /// An expression that is a level of nesting of its own (a condition, a title, a value).
    pub(crate) fn expression(&mut self, min: u8) -> PResult<Expr> {
        self.nest(|p| p.binary(min))
    }

    /// Operators by precedence climbing: the recursion for the right operand is bounded by
    /// the number of precedence levels.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while let Some((prec, op)) = self.binop() {
            if prec < min {
                break;
            }
            let op_tok = self.bump();
            match op {
                None => {
                    let entries = self.selector_entries()?;
                    let span = lhs.span.to(self.span_from(self.i - 1));
                    lhs = Expr::new(
                        ExprKind::Selector {
                            test: Box::new(lhs),
                            entries,
                        },
                        span,
                    );
                }
                Some(op) => {
                    let rhs = self.binary(prec + 1)?;
                    let span = lhs.span.to(rhs.span);
                    lhs = Expr::new(
                        ExprKind::Binary {
                            op,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                            op_span: Self::tok_span(op_tok),
                        },
                        span,
                    );
                }
            }
            self.check_depth(&lhs, op_tok.lo)?;
        }
        Ok(lhs)
    }

    fn selector_entries(&mut self) -> PResult<Vec<HashEntry>> {
        if !self.at(Tok::SelBrace) {
            return Ok(vec![self.selector_entry()?]);
        }
        self.bump();
        let mut entries = vec![self.selector_entry()?];
        while self.eat(Tok::Comma) {
            if self.at(Tok::RBrace) {
                break;
            }
            entries.push(self.selector_entry()?);
        }
        self.expect(Tok::RBrace)?;
        Ok(entries)
    }

    fn selector_entry(&mut self) -> PResult<HashEntry> {
        let key = self.expression(0)?;
        let arrow = self.expect(Tok::FArrow)?;
        let value = self.expression(0)?;
        Ok(HashEntry {
            key,
            value,
            span: Self::tok_span(arrow),
        })
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.i;
        let op = match self.kind() {
            Tok::Not => UnOp::Not,
            Tok::Minus => UnOp::Neg,
            Tok::Times => UnOp::Splat,
            _ => {
                let p = self.primary()?;
                return self.postfix(p, start);
            }
        };
        self.bump();
        let e = self.nest(Self::unary)?;
        Ok(Expr::new(
            ExprKind::Unary {
                op,
                expr: Box::new(e),
            },
            self.span_from(start),
        ))
    }

    fn postfix(&mut self, mut e: Expr, start: usize) -> PResult<Expr> {
        loop {
            let at = self.tok().lo;
            if e.depth() > MAX_NESTING {
                return Err(self.too_deep_at(at));
            }
            match self.kind() {
                Tok::LBrack => {
                    self.bump();
                    let args = self.entries(EntryMode::Access, Tok::RBrack, true)?;
                    self.eat(Tok::Comma);
                    self.expect(Tok::RBrack)?;
                    e = Expr::new(
                        ExprKind::Access {
                            target: Box::new(e),
                            args,
                        },
                        self.span_from(start),
                    );
                }
                Tok::Dot => {
                    let dot = self.bump();
                    if !matches!(self.kind(), Tok::Name | Tok::Type) {
                        return Err(self.syntax_error());
                    }
                    let name_tok = self.bump();
                    let mut anchor = Span::new(dot.lo as usize, name_tok.hi as usize);
                    let mut args = Vec::new();
                    if self.at(Tok::LParen) {
                        let lp = self.bump();
                        if !self.at(Tok::RParen) {
                            args = self.entries(EntryMode::Argument, Tok::RParen, false)?;
                        }
                        let rp = self.expect(Tok::RParen)?;
                        anchor = Span::new(lp.lo as usize, rp.hi as usize);
                    }
                    let lambda = if self.at(Tok::Pipe) {
                        Some(self.lambda()?)
                    } else {
                        None
                    };
                    e = Expr::new(
                        ExprKind::MethodCall(MethodCall {
                            receiver: Box::new(e),
                            name: name_tok.value.clone(),
                            name_span: Self::tok_span(name_tok),
                            args,
                            lambda,
                            anchor,
                        }),
                        self.span_from(start),
                    );
                }
                Tok::LParen => {
                    self.bump();
                    let args = if self.at(Tok::RParen) {
                        Vec::new()
                    } else {
                        let a = self.entries(EntryMode::Argument, Tok::RParen, true)?;
                        self.eat(Tok::Comma);
                        a
                    };
                    self.expect(Tok::RParen)?;
                    let lambda = if self.at(Tok::Pipe) {
                        Some(self.lambda()?)
                    } else {
                        None
                    };
                    e = Expr::new(
                        ExprKind::Call(Call {
                            func: Box::new(e),
                            args,
                            lambda,
                            rval_required: true,
                        }),
                        self.span_from(start),
                    );
                }
                Tok::LCollect | Tok::LLCollect => {
                    let exported = self.bump().kind == Tok::LLCollect;
                    let close = if exported {
                        Tok::RRCollect
                    } else {
                        Tok::RCollect
                    };
                    let query = if self.at(close) {
                        None
                    } else {
                        Some(Box::new(self.expression(0)?))
                    };
                    self.expect(close)?;
                    let mut ops = Vec::new();
                    if self.at(Tok::LBrace) {
                        self.bump();
                        ops = self.attribute_operations()?;
                        self.eat(Tok::Comma);
                        self.expect(Tok::RBrace)?;
                    }
                    e = Expr::new(
                        ExprKind::Collect {
                            type_expr: Box::new(e),
                            exported,
                            query,
                            ops,
                        },
                        self.span_from(start),
                    );
                }
                _ => return Ok(e),
            }
        }
    }

    /// Entries of an access, call or array, up to (not including) `close`. With `trailing`,
    /// a comma before `close` is allowed (and left unconsumed). Adjacent `k => v` entries
    /// merge into one unfolded hash, as Puppet does.
    fn entries(&mut self, mode: EntryMode, close: Tok, trailing: bool) -> PResult<Vec<Expr>> {
        let mut out: Vec<Expr> = Vec::new();
        loop {
            match self.entry(mode)? {
                Entry::Plain(e) => out.push(e),
                Entry::Pair(p) => {
                    if let Some(
                        last @ Expr {
                            kind: ExprKind::Hash { unfolded: true, .. },
                            ..
                        },
                    ) = out.last_mut()
                    {
                        last.span = last.span.to(p.value.span);
                        if let ExprKind::Hash { entries, .. } = &mut last.kind {
                            entries.push(p);
                        }
                        last.refresh_depth();
                    } else {
                        let span = p.key.span.to(p.value.span);
                        out.push(Expr::new(
                            ExprKind::Hash {
                                entries: vec![p],
                                unfolded: true,
                            },
                            span,
                        ));
                    }
                }
            }
            if !self.at(Tok::Comma) {
                return Ok(out);
            }
            if self.peek(1) == close {
                if trailing {
                    return Ok(out);
                }
                self.bump();
                return Err(self.syntax_error());
            }
            self.bump();
        }
    }

    /// Whether the current `type`/`function` keyword stands for itself (a string) here.
    fn keyword_literal(&self) -> bool {
        match self.kind() {
            Tok::Type => !matches!(self.peek(1), Tok::ClassRef | Tok::LParen),
            Tok::Function => !matches!(
                self.peek(1),
                Tok::Name | Tok::Word | Tok::ClassRef | Tok::Class | Tok::String
            ),
            _ => false,
        }
    }

    fn entry(&mut self, mode: EntryMode) -> PResult<Entry> {
        let first = if self.keyword_literal() {
            let t = self.bump();
            if mode != EntryMode::Collection && !self.at(Tok::FArrow) {
                return Err(self.syntax_error());
            }
            Expr::new(
                ExprKind::Literal(Literal::String(t.value.clone())),
                Self::tok_span(t),
            )
        } else {
            self.assignment()?
        };
        if self.at(Tok::FArrow) {
            let arrow = self.bump();
            let value = self.hash_entry()?;
            return Ok(Entry::Pair(HashEntry {
                key: first,
                value,
                span: Self::tok_span(arrow),
            }));
        }
        if mode == EntryMode::Access && !is_plain_expression(&first) {
            return Err(self.syntax_error());
        }
        Ok(Entry::Plain(first))
    }

    fn hash_entry(&mut self) -> PResult<Expr> {
        if self.keyword_literal() {
            let t = self.bump();
            return Ok(Expr::new(
                ExprKind::Literal(Literal::String(t.value.clone())),
                Self::tok_span(t),
            ));
        }
        self.assignment()
    }

    fn lambda(&mut self) -> PResult<Lambda> {
        let start = self.i;
        self.expect(Tok::Pipe)?;
        let params = if self.eat(Tok::Pipe) {
            Vec::new()
        } else {
            let p = self.parameters(Tok::Pipe)?;
            self.expect(Tok::Pipe)?;
            p
        };
        let return_type = self.opt_return_type()?;
        self.expect(Tok::LBrace)?;
        let body = self.block_body()?;
        Ok(Lambda {
            params,
            return_type,
            body,
            span: self.span_from(start),
        })
    }

    /// After `{`: optional statements and the closing `}`.
    fn block_body(&mut self) -> PResult<Option<Box<Expr>>> {
        if self.eat(Tok::RBrace) {
            return Ok(None);
        }
        let start = self.i;
        let stmts = self.statements();
        let span = self.span_from(start);
        self.expect(Tok::RBrace)?;
        if stmts.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(block_or_expression(stmts, span))))
    }

    fn opt_return_type(&mut self) -> PResult<Option<Box<Expr>>> {
        if !self.at(Tok::RShift) {
            return Ok(None);
        }
        self.bump();
        let start = self.i;
        let t = self.expect(Tok::ClassRef)?;
        let mut e = Expr::new(ExprKind::QRef(t.value.clone()), Self::tok_span(t));
        if self.at(Tok::LBrack) {
            self.bump();
            let args = self.entries(EntryMode::Access, Tok::RBrack, false)?;
            self.expect(Tok::RBrack)?;
            e = Expr::new(
                ExprKind::Access {
                    target: Box::new(e),
                    args,
                },
                self.span_from(start),
            );
        }
        Ok(Some(Box::new(e)))
    }

    /// Parameters up to `close` (not consumed); a trailing comma is allowed.
    fn parameters(&mut self, close: Tok) -> PResult<Vec<Param>> {
        let mut params = vec![self.parameter()?];
        while self.at(Tok::Comma) {
            self.bump();
            if self.at(close) {
                break;
            }
            params.push(self.parameter()?);
        }
        Ok(params)
    }

    fn parameter(&mut self) -> PResult<Param> {
        let start = self.i;
        let mut type_expr = None;
        if self.at(Tok::ClassRef) {
            let t = self.bump();
            let mut e = Expr::new(ExprKind::QRef(t.value.clone()), Self::tok_span(t));
            if self.at(Tok::LBrack) {
                self.bump();
                let args = self.entries(EntryMode::Access, Tok::RBrack, false)?;
                self.expect(Tok::RBrack)?;
                e = Expr::new(
                    ExprKind::Access {
                        target: Box::new(e),
                        args,
                    },
                    self.span_from(start),
                );
            }
            type_expr = Some(e);
        }
        let captures_rest = self.eat(Tok::Times);
        let var = self.expect(Tok::Variable)?;
        let default = if self.eat(Tok::Equals) {
            Some(self.expression(0)?)
        } else {
            None
        };
        Ok(Param {
            name: var.value.clone(),
            type_expr,
            default,
            captures_rest,
            span: Self::tok_span(var),
        })
    }

    /// `nil | ( ) | ( parameters ,? )` with either kind of opening parenthesis.
    fn parameter_list(&mut self) -> PResult<Vec<Param>> {
        if !matches!(self.kind(), Tok::LParen | Tok::WsLParen) {
            return Ok(Vec::new());
        }
        self.bump();
        if self.eat(Tok::RParen) {
            return Ok(Vec::new());
        }
        let p = self.parameters(Tok::RParen)?;
        self.expect(Tok::RParen)?;
        Ok(p)
    }

    // ----- primaries -------------------------------------------------------------------------

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.i;
        let t = self.tok();
        let span = Self::tok_span(t);
        let lit = |l: Literal| Ok(Expr::new(ExprKind::Literal(l), span));
        match t.kind {
            Tok::Variable => {
                self.bump();
                Ok(Expr::new(ExprKind::Variable(t.value.clone()), span))
            }
            Tok::Name => {
                self.bump();
                Ok(Expr::new(ExprKind::QName(t.value.clone()), span))
            }
            Tok::Word | Tok::String => {
                self.bump();
                lit(Literal::String(t.value.clone()))
            }
            Tok::ClassRef => {
                self.bump();
                Ok(Expr::new(ExprKind::QRef(t.value.clone()), span))
            }
            Tok::Number => {
                self.bump();
                match parse_number(&t.value) {
                    Some(l) => lit(l),
                    None => {
                        // Puppet's validator reports this; the literal stays in the tree.
                        self.overflow.push((t.value.clone(), t.lo));
                        lit(Literal::Integer {
                            value: i64::MAX,
                            radix: 10,
                        })
                    }
                }
            }
            Tok::Boolean => {
                self.bump();
                lit(Literal::Bool(t.value == "true"))
            }
            Tok::Default => {
                self.bump();
                lit(Literal::Default)
            }
            Tok::Undef => {
                self.bump();
                lit(Literal::Undef)
            }
            Tok::Regex => {
                self.bump();
                lit(Literal::Regex(t.value.clone()))
            }
            Tok::DqPre => self.dq_string(),
            Tok::Heredoc => {
                self.bump();
                let text = match self.kind() {
                    Tok::String => {
                        let s = self.bump();
                        Expr::new(
                            ExprKind::Literal(Literal::String(s.value.clone())),
                            Self::tok_span(s),
                        )
                    }
                    Tok::DqPre => self.dq_string()?,
                    _ => return Err(self.syntax_error()),
                };
                Ok(Expr::new(
                    ExprKind::Heredoc {
                        syntax: t.value.clone(),
                        text: Box::new(text),
                    },
                    self.span_from(start),
                ))
            }
            Tok::ListStart | Tok::LBrack => {
                self.bump();
                let items = if self.at(Tok::RBrack) {
                    Vec::new()
                } else {
                    let items = self.entries(EntryMode::Collection, Tok::RBrack, true)?;
                    self.eat(Tok::Comma);
                    items
                };
                self.expect(Tok::RBrack)?;
                Ok(Expr::new(ExprKind::Array(items), self.span_from(start)))
            }
            Tok::LBrace => self.hash(),
            Tok::LParen | Tok::WsLParen => {
                self.bump();
                let e = self.assignment()?;
                self.expect(Tok::RParen)?;
                Ok(Expr::new(
                    ExprKind::Paren(Box::new(e)),
                    self.span_from(start),
                ))
            }
            Tok::If => {
                self.bump();
                self.if_part(start)
            }
            Tok::Unless => self.unless(),
            Tok::Case => self.case(),
            Tok::Class => self.hostclass(),
            Tok::Define => self.define(),
            Tok::Node => self.node(),
            Tok::Function => self.function(),
            Tok::Type => self.type_expr(),
            Tok::Private | Tok::Attr => {
                self.bump();
                Ok(Expr::new(ExprKind::Reserved(t.value.clone()), span))
            }
            Tok::RenderString => {
                self.bump();
                Ok(Expr::new(ExprKind::RenderString(t.value.clone()), span))
            }
            Tok::RenderExpr => self.render_expr(),
            _ => Err(self.syntax_error()),
        }
    }

    fn dq_string(&mut self) -> PResult<Expr> {
        let start = self.i;
        let pre = self.bump();
        let mut parts = vec![StrPart::Text(pre.value.clone())];
        loop {
            let e = self.assignment()?;
            parts.push(StrPart::Expr(e));
            match self.kind() {
                Tok::DqMid => {
                    let t = self.bump();
                    parts.push(StrPart::Text(t.value.clone()));
                }
                Tok::DqPost => {
                    let t = self.bump();
                    parts.push(StrPart::Text(t.value.clone()));
                    break;
                }
                _ => return Err(self.syntax_error()),
            }
        }
        parts.retain(|p| !matches!(p, StrPart::Text(t) if t.is_empty()));
        Ok(Expr::new(ExprKind::Concat(parts), self.span_from(start)))
    }

    fn hash(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let mut entries = Vec::new();
        if !self.at(Tok::RBrace) {
            loop {
                let key = self.hash_entry()?;
                let arrow = self.expect(Tok::FArrow)?;
                let value = self.hash_entry()?;
                entries.push(HashEntry {
                    key,
                    value,
                    span: Self::tok_span(arrow),
                });
                if self.eat(Tok::Comma) {
                    if self.at(Tok::RBrace) {
                        break;
                    }
                    continue;
                }
                break;
            }
        }
        self.expect(Tok::RBrace)?;
        Ok(Expr::new(
            ExprKind::Hash {
                entries,
                unfolded: false,
            },
            self.span_from(start),
        ))
    }

    fn if_part(&mut self, start: usize) -> PResult<Expr> {
        let cond = self.expression(0)?;
        self.expect(Tok::LBrace)?;
        let then = self.block_body()?;
        let els = match self.kind() {
            Tok::Elsif => {
                let s = self.i;
                self.bump();
                Some(Box::new(self.nest(|p| p.if_part(s))?))
            }
            Tok::Else => {
                self.bump();
                self.expect(Tok::LBrace)?;
                self.block_body()?
            }
            _ => None,
        };
        Ok(Expr::new(
            ExprKind::If {
                cond: Box::new(cond),
                then,
                els,
            },
            self.span_from(start),
        ))
    }

    fn unless(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let cond = self.expression(0)?;
        self.expect(Tok::LBrace)?;
        let then = self.block_body()?;
        let els = if self.eat(Tok::Else) {
            self.expect(Tok::LBrace)?;
            self.block_body()?
        } else {
            None
        };
        Ok(Expr::new(
            ExprKind::Unless {
                cond: Box::new(cond),
                then,
                els,
            },
            self.span_from(start),
        ))
    }

    fn case(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let test = self.expression(0)?;
        self.expect(Tok::LBrace)?;
        let mut options = Vec::new();
        loop {
            let ostart = self.i;
            let mut values = vec![self.expression(0)?];
            while self.eat(Tok::Comma) {
                values.push(self.expression(0)?);
            }
            self.expect(Tok::Colon)?;
            self.expect(Tok::LBrace)?;
            let body = self.block_body()?;
            options.push(CaseOption {
                values,
                body,
                span: self.span_from(ostart),
            });
            if self.eat(Tok::RBrace) {
                break;
            }
        }
        Ok(Expr::new(
            ExprKind::Case {
                test: Box::new(test),
                options,
            },
            self.span_from(start),
        ))
    }

    /// `classname`: a name, word or type reference; `class` and quoted strings get
    /// Puppet's own messages.
    fn classname(&mut self) -> PResult<(String, Span)> {
        let t = self.tok();
        match t.kind {
            Tok::Name | Tok::Word | Tok::ClassRef => {
                self.bump();
                Ok((t.value.clone(), Self::tok_span(t)))
            }
            Tok::Class => {
                self.bump();
                Err(self.semantic_error("'class' keyword not allowed at this location", t.lo))
            }
            Tok::String => {
                self.bump();
                Err(self.semantic_error("A quoted string is not valid as a name here", t.lo))
            }
            _ => Err(self.syntax_error()),
        }
    }

    fn qualify(&self, name: &str) -> String {
        let ns = self.namestack.join("::");
        let full = if ns.is_empty() {
            name.to_string()
        } else {
            format!("{ns}::{name}")
        };
        full.strip_prefix("::").map(str::to_string).unwrap_or(full)
    }

    fn hostclass(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let (name, name_span) = self.classname()?;
        let full = self.qualify(&name);
        self.namestack.push(name);
        let r = self.hostclass_rest(start, full, name_span);
        self.namestack.pop();
        r
    }

    fn hostclass_rest(&mut self, start: usize, name: String, name_span: Span) -> PResult<Expr> {
        let params = self.parameter_list()?;
        let parent = if self.eat(Tok::Inherits) {
            if self.at(Tok::Default) {
                self.bump();
                Some("default".to_string())
            } else {
                Some(self.classname()?.0)
            }
        } else {
            None
        };
        self.expect(Tok::LBrace)?;
        let body = self.block_body()?;
        Ok(Expr::new(
            ExprKind::Class {
                def: Definition {
                    name,
                    name_span,
                    params,
                    body,
                },
                parent,
            },
            self.span_from(start),
        ))
    }

    fn define(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let (name, name_span) = self.classname()?;
        let name = self.qualify(&name);
        let params = self.parameter_list()?;
        self.expect(Tok::LBrace)?;
        let body = self.block_body()?;
        Ok(Expr::new(
            ExprKind::Define(Definition {
                name,
                name_span,
                params,
                body,
            }),
            self.span_from(start),
        ))
    }

    fn function(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let (name, name_span) = self.classname()?;
        let params = self.parameter_list()?;
        let return_type = self.opt_return_type()?;
        self.expect(Tok::LBrace)?;
        let body = self.block_body()?;
        Ok(Expr::new(
            ExprKind::Function {
                def: Definition {
                    name,
                    name_span,
                    params,
                    body,
                },
                return_type,
            },
            self.span_from(start),
        ))
    }

    fn node(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let mut hosts = vec![self.hostname()?];
        while self.eat(Tok::Comma) {
            if matches!(self.kind(), Tok::LBrace | Tok::Inherits) {
                break;
            }
            hosts.push(self.hostname()?);
        }
        let parent = if self.eat(Tok::Inherits) {
            Some(Box::new(self.hostname()?))
        } else {
            None
        };
        self.expect(Tok::LBrace)?;
        let body = self.block_body()?;
        Ok(Expr::new(
            ExprKind::Node {
                hosts,
                parent,
                body,
            },
            self.span_from(start),
        ))
    }

    fn hostname(&mut self) -> PResult<Expr> {
        let start = self.i;
        match self.kind() {
            Tok::Name | Tok::Number => {
                let mut s = self.bump().value.clone();
                while self.at(Tok::Dot) {
                    self.bump();
                    if !matches!(self.kind(), Tok::Name | Tok::Number) {
                        return Err(self.syntax_error());
                    }
                    s.push('.');
                    s.push_str(&self.bump().value);
                }
                Ok(Expr::new(
                    ExprKind::Literal(Literal::String(s)),
                    self.span_from(start),
                ))
            }
            Tok::String | Tok::Word | Tok::DqPre | Tok::Heredoc | Tok::Default | Tok::Regex => {
                self.primary()
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// `type`: an alias (`type A = T`), a type definition, a call `type(...)` or an error.
    fn type_expr(&mut self) -> PResult<Expr> {
        let start = self.i;
        let t = self.bump();
        match self.kind() {
            Tok::LParen => Ok(Expr::new(
                ExprKind::QName(t.value.clone()),
                Self::tok_span(t),
            )),
            Tok::ClassRef => {
                let name_tok = self.bump();
                if matches!(self.kind(), Tok::Inherits | Tok::LBrace) {
                    let parent = if self.eat(Tok::Inherits) {
                        Some(self.expect(Tok::ClassRef)?.value.clone())
                    } else {
                        None
                    };
                    self.expect(Tok::LBrace)?;
                    let body = self.block_body()?;
                    return Ok(Expr::new(
                        ExprKind::TypeDefinition {
                            name: name_tok.value.clone(),
                            parent,
                            body,
                        },
                        self.span_from(start),
                    ));
                }
                let mut lhs = Expr::new(
                    ExprKind::QRef(name_tok.value.clone()),
                    Self::tok_span(name_tok),
                );
                if self.at(Tok::LBrack) {
                    let ls = self.i - 1;
                    self.bump();
                    let args = self.entries(EntryMode::Access, Tok::RBrack, false)?;
                    self.expect(Tok::RBrack)?;
                    lhs = Expr::new(
                        ExprKind::Access {
                            target: Box::new(lhs),
                            args,
                        },
                        self.span_from(ls),
                    );
                }
                self.expect(Tok::Equals)?;
                let vstart = self.i;
                let value = match self.kind() {
                    Tok::ClassRef => {
                        let r = self.bump();
                        let re = Expr::new(ExprKind::QRef(r.value.clone()), Self::tok_span(r));
                        match self.kind() {
                            Tok::LBrack => {
                                self.bump();
                                let args = self.entries(EntryMode::Access, Tok::RBrack, true)?;
                                self.eat(Tok::Comma);
                                self.expect(Tok::RBrack)?;
                                Expr::new(
                                    ExprKind::Access {
                                        target: Box::new(re),
                                        args,
                                    },
                                    self.span_from(vstart),
                                )
                            }
                            Tok::LBrace => {
                                let h = self.hash()?;
                                Expr::new(
                                    ExprKind::Access {
                                        target: Box::new(re),
                                        args: vec![h],
                                    },
                                    self.span_from(vstart),
                                )
                            }
                            _ => re,
                        }
                    }
                    Tok::LBrace => self.hash()?,
                    Tok::ListStart | Tok::LBrack => self.primary()?,
                    _ => return Err(self.syntax_error()),
                };
                Ok(Expr::new(
                    ExprKind::TypeAlias {
                        name: Box::new(lhs),
                        value: Box::new(value),
                    },
                    self.span_from(start),
                ))
            }
            _ => Err(self.syntax_error()),
        }
    }

    fn render_expr(&mut self) -> PResult<Expr> {
        let start = self.i;
        self.bump();
        let block =
            self.at(Tok::LBrace) && self.peek(1) != Tok::RBrace && self.peek(2) != Tok::FArrow;
        let e = if block {
            self.bump();
            let s = self.i;
            let stmts = self.statements();
            let span = self.span_from(s);
            self.expect(Tok::RBrace)?;
            block_or_expression(stmts, span)
        } else {
            self.expression(0)?
        };
        if !matches!(self.kind(), Tok::EppEnd | Tok::EppEndTrim) {
            return Err(self.syntax_error());
        }
        self.bump();
        Ok(Expr::new(
            ExprKind::RenderExpr(Box::new(e)),
            self.span_from(start),
        ))
    }
}

/// The value Puppet shows for a token in `Syntax error at '...'`.
fn display_value(t: &Token) -> String {
    match t.kind {
        Tok::Regex => format!("(?-mix:{})", t.value),
        _ => t.value.clone(),
    }
}

fn block_or_expression(mut stmts: Vec<Expr>, span: Span) -> Expr {
    match stmts.len() {
        0 => Expr::new(ExprKind::Nop, span),
        1 => stmts
            .pop()
            .unwrap_or_else(|| Expr::new(ExprKind::Nop, span)),
        _ => Expr::new(ExprKind::Block(stmts), span),
    }
}

/// A call used as a statement does not need its value.
fn statement_call(mut e: Expr) -> Expr {
    if let ExprKind::Call(c) = &mut e.kind {
        c.rval_required = false;
    }
    e
}

/// A call used as an argument of a statement call must produce a value.
fn rvalue_call(mut e: Expr) -> Expr {
    if let ExprKind::Call(c) = &mut e.kind {
        c.rval_required = true;
    }
    e
}

/// Whether an expression is of the `expression` rule (not an assignment, relationship or
/// resource, which only `assignment` allows).
fn is_plain_expression(e: &Expr) -> bool {
    !matches!(
        e.kind,
        ExprKind::Assign { .. }
            | ExprKind::Relationship { .. }
            | ExprKind::Resource { .. }
            | ExprKind::ResourceDefaults { .. }
            | ExprKind::ResourceOverride { .. }
    )
}

/// Numbers as Puppet reads them: hex, octal (leading 0), decimal integers and floats.
/// `None` when an integer does not fit in 64 bits.
pub(crate) fn parse_number(s: &str) -> Option<Literal> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') && s.bytes().all(|c| c.is_ascii_digit()) {
        (&s[1..], 8)
    } else if s.contains(['.', 'e', 'E']) {
        return Some(Literal::Float(s.parse().unwrap_or(0.0)));
    } else {
        (s, 10)
    };
    // Invalid octal digits were reported by the lexer; read what is there.
    match i64::from_str_radix(digits, radix) {
        Ok(v) => Some(Literal::Integer { value: v, radix }),
        Err(e) if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) => None,
        Err(_) => Some(Literal::Integer {
            value: digits.parse::<i64>().unwrap_or(0),
            radix: 10,
        }),
    }
}
