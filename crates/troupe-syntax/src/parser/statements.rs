//! Programs (a manifest, an EPP template), statement lists with Puppet's rewriting of calls
//! without parentheses (`include a, b`), blocks, EPP render expressions, and the recovery that
//! lets parsing resume after an error.

use super::{Fail, PResult, Parser, STATEMENT_CALLS};
use crate::ast::*;
use crate::source::Span;
use crate::token::Tok;

enum Stmt {
    Single(Expr),
    /// `a, b, c` at statement level: the arguments of a preceding statement call.
    List(Vec<Expr>, u32),
}

impl<'t> Parser<'t> {
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

    /// After `{`: optional statements and the closing `}`.
    pub(super) fn block_body(&mut self) -> PResult<Option<Box<Expr>>> {
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

    pub(super) fn render_expr(&mut self) -> PResult<Expr> {
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
