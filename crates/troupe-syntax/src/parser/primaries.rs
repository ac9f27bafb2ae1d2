//! Primary expressions: literals (numbers as Puppet reads them), names, type references,
//! variables, interpolated strings, heredocs, arrays and hashes, and the entry lists of arrays,
//! calls and accesses, where adjacent `k => v` entries make one hash.

use super::{PResult, Parser};
use crate::ast::*;
use crate::token::Tok;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryMode {
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

impl<'t> Parser<'t> {
    /// Entries of an access, call or array, up to (not including) `close`. With `trailing`,
    /// a comma before `close` is allowed (and left unconsumed). Adjacent `k => v` entries
    /// merge into one unfolded hash, as Puppet does.
    pub(super) fn entries(
        &mut self,
        mode: EntryMode,
        close: Tok,
        trailing: bool,
    ) -> PResult<Vec<Expr>> {
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

    pub(super) fn primary(&mut self) -> PResult<Expr> {
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
                        // Puppet places a heredoc's text at the start of its first line,
                        // before the margin.
                        let mut span = Self::tok_span(s);
                        span.lo = self.src[..span.lo as usize]
                            .rfind('\n')
                            .map_or(span.lo, |n| n as u32 + 1);
                        Expr::new(ExprKind::Literal(Literal::String(s.value.clone())), span)
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

    pub(super) fn hash(&mut self) -> PResult<Expr> {
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
fn parse_number(s: &str) -> Option<Literal> {
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
