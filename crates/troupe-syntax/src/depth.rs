//! Nesting limits. Parsing is total for input of any depth: the lexer and the parser stop
//! descending at [`MAX_NESTING`] levels with one syntax error, and no tree deeper than that
//! leaves the parser, so every later walker (validator, printer, evaluator, `Drop`) recurses
//! a bounded number of levels.

use crate::ast::{AttrOp, Expr, ExprKind, Lambda, Param, StrPart};

/// The deepest nesting the parser accepts: brackets, blocks, interpolations, operator and
/// call chains all count, one level per construct (a tree never gets deeper than this).
pub const MAX_NESTING: u32 = 1000;

/// How deeply heredocs may be nested inside one another's interpolations. Each level copies
/// the text of the levels inside it, so this is kept small.
pub const MAX_HEREDOC_NESTING: u32 = 16;

/// The message of the error for input nested deeper than [`MAX_NESTING`].
pub fn too_deep_message() -> String {
    format!("Syntax error: nesting deeper than {MAX_NESTING} levels")
}

/// The message of the error for heredocs nested deeper than [`MAX_HEREDOC_NESTING`].
pub fn heredoc_too_deep_message() -> String {
    format!("Syntax error: heredocs nested deeper than {MAX_HEREDOC_NESTING} levels")
}

/// Whether a diagnostic is one of the nesting errors above.
pub(crate) fn is_nesting_error(d: &crate::Diagnostic) -> bool {
    d.phase != crate::Phase::Validate
        && (d.message == too_deep_message() || d.message == heredoc_too_deep_message())
}

/// Red zone and segment size for `stacker::maybe_grow` in recursive code: when less than the
/// red zone is left on the stack, recursion continues on a new heap-allocated segment.
pub(crate) const RED_ZONE: usize = 128 * 1024;
pub(crate) const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Runs `f` with enough stack for another level of recursion.
pub(crate) fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// The depth of a node of this kind: one more than its deepest direct child. Children are
/// read, not walked, so this costs the number of direct children.
pub(crate) fn kind_depth(kind: &ExprKind) -> u32 {
    let mut d = 0u32;
    for_each_child(kind, true, &mut |c| d = d.max(c.depth()));
    d.saturating_add(1)
}

fn params<'a>(ps: &'a [Param], f: &mut impl FnMut(&'a Expr)) {
    for p in ps {
        if let Some(t) = &p.type_expr {
            f(t);
        }
        if let Some(x) = &p.default {
            f(x);
        }
    }
}

fn ops<'a>(os: &'a [AttrOp], f: &mut impl FnMut(&'a Expr)) {
    for o in os {
        match o {
            AttrOp::Set { value, .. } | AttrOp::Splat { value, .. } => f(value),
        }
    }
}

fn lambda<'a>(l: &'a Option<Lambda>, f: &mut impl FnMut(&'a Expr)) {
    if let Some(l) = l {
        params(&l.params, f);
        if let Some(t) = &l.return_type {
            f(t);
        }
        if let Some(b) = &l.body {
            f(b);
        }
    }
}

/// Calls `f` with every direct child expression of a node (those of a lambda only when
/// `lambdas` is set).
pub(crate) fn for_each_child<'a>(kind: &'a ExprKind, lambdas: bool, f: &mut impl FnMut(&'a Expr)) {
    use ExprKind as K;
    fn opt<'a>(e: &'a Option<Box<Expr>>, f: &mut impl FnMut(&'a Expr)) {
        if let Some(e) = e {
            f(e);
        }
    }
    match kind {
        K::Nop
        | K::Literal(_)
        | K::QName(_)
        | K::QRef(_)
        | K::Variable(_)
        | K::Reserved(_)
        | K::RenderString(_)
        | K::Error => {}
        K::Block(v) | K::Array(v) => v.iter().for_each(&mut *f),
        K::Concat(parts) => {
            for p in parts {
                if let StrPart::Expr(e) = p {
                    f(e);
                }
            }
        }
        K::Heredoc { text: e, .. } | K::Unary { expr: e, .. } | K::Paren(e) | K::RenderExpr(e) => {
            f(e)
        }
        K::Hash { entries, .. } => {
            for h in entries {
                f(&h.key);
                f(&h.value);
            }
        }
        K::Selector { test, entries } => {
            f(test);
            for h in entries {
                f(&h.key);
                f(&h.value);
            }
        }
        K::Binary { lhs, rhs, .. }
        | K::Assign { lhs, rhs, .. }
        | K::Relationship { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        K::Access { target, args } => {
            f(target);
            args.iter().for_each(&mut *f);
        }
        K::If { cond, then, els } | K::Unless { cond, then, els } => {
            f(cond);
            opt(then, f);
            opt(els, f);
        }
        K::Case { test, options } => {
            f(test);
            for o in options {
                o.values.iter().for_each(&mut *f);
                opt(&o.body, f);
            }
        }
        K::Call(c) => {
            f(&c.func);
            c.args.iter().for_each(&mut *f);
            if lambdas {
                lambda(&c.lambda, f);
            }
        }
        K::MethodCall(c) => {
            f(&c.receiver);
            c.args.iter().for_each(&mut *f);
            if lambdas {
                lambda(&c.lambda, f);
            }
        }
        K::Collect {
            type_expr,
            query,
            ops: o,
            ..
        } => {
            f(type_expr);
            opt(query, f);
            ops(o, f);
        }
        K::Resource {
            type_expr, bodies, ..
        } => {
            f(type_expr);
            for b in bodies {
                f(&b.title);
                ops(&b.ops, f);
            }
        }
        K::ResourceDefaults {
            type_expr: e,
            ops: o,
            ..
        }
        | K::ResourceOverride {
            target: e, ops: o, ..
        } => {
            f(e);
            ops(o, f);
        }
        K::Class { def, .. } | K::Define(def) => {
            params(&def.params, f);
            opt(&def.body, f);
        }
        K::Function { def, return_type } => {
            params(&def.params, f);
            opt(&def.body, f);
            opt(return_type, f);
        }
        K::Node {
            hosts,
            parent,
            body,
        } => {
            hosts.iter().for_each(&mut *f);
            opt(parent, f);
            opt(body, f);
        }
        K::TypeAlias { name, value } => {
            f(name);
            f(value);
        }
        K::TypeDefinition { body, .. } => opt(body, f),
        K::Epp { params: p, body } => {
            if let Some(p) = p {
                params(p, f);
            }
            opt(body, f);
        }
    }
}
