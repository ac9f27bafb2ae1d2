//! The statement-level rules: assignment (`=`, `+=`, `-=`), relationships (`->`, `~>`, `<-`,
//! `<~`) and resource expressions: bodies, defaults, overrides, virtual (`@`) and exported
//! (`@@`) resources, and attribute operations (`=>`, `+>`, `* =>`).

use super::{PResult, Parser, STATEMENT_CALLS};
use crate::ast::*;
use crate::source::Span;
use crate::token::Tok;

impl<'t> Parser<'t> {
    pub(super) fn assignment(&mut self) -> PResult<Expr> {
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
    pub(super) fn attribute_operations(&mut self) -> PResult<Vec<AttrOp>> {
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
}
