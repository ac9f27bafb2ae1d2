//! Expressions: binary operators by precedence climbing, the selector (`? { }`), unary
//! operators, postfix chains (`[...]`, `.name(...)`, `(...)`, collectors `<| |>`), and the
//! conditionals `if`, `unless` and `case`.

use super::primaries::EntryMode;
use super::{PResult, Parser};
use crate::ast::*;
use crate::depth::MAX_NESTING;
use crate::source::Span;
use crate::token::Tok;

impl<'t> Parser<'t> {
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
    pub(super) fn expression(&mut self, min: u8) -> PResult<Expr> {
        self.nest(|p| p.binary(min))
    }

    /// Operators by precedence climbing: the recursion for the right operand is bounded by
    /// the number of precedence levels.
    pub(super) fn binary(&mut self, min: u8) -> PResult<Expr> {
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

    pub(super) fn if_part(&mut self, start: usize) -> PResult<Expr> {
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

    pub(super) fn unless(&mut self) -> PResult<Expr> {
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

    pub(super) fn case(&mut self) -> PResult<Expr> {
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
}
