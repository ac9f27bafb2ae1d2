//! Definitions: `class` (with the enclosing classes' names), `define`, `function`, `node`
//! and `type` (alias, definition or call), with parameter lists, lambdas and return types.

use super::primaries::EntryMode;
use super::{PResult, Parser};
use crate::ast::*;
use crate::source::Span;
use crate::token::Tok;

impl<'t> Parser<'t> {
    pub(super) fn lambda(&mut self) -> PResult<Lambda> {
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
    pub(super) fn parameters(&mut self, close: Tok) -> PResult<Vec<Param>> {
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

    pub(super) fn hostclass(&mut self) -> PResult<Expr> {
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

    pub(super) fn define(&mut self) -> PResult<Expr> {
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

    pub(super) fn function(&mut self) -> PResult<Expr> {
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

    pub(super) fn node(&mut self) -> PResult<Expr> {
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
    pub(super) fn type_expr(&mut self) -> PResult<Expr> {
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
}
