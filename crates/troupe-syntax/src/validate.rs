//! The validator: Puppet's static checks (`Checker4_0`) on a tree that parsed, with its
//! messages and locations: expressions without effect, resources without a title,
//! definitions out of place, assignments to what cannot be assigned, duplicate parameters
//! and `default`s, reserved words and node inheritance.

use crate::ast::*;
use crate::diag::{Diagnostic, Phase};

pub(crate) fn validate(program: &Expr, _epp: bool) -> Vec<Diagnostic> {
    let mut v = Validator { out: Vec::new() };
    v.expr(program, Ctx::Top);
    v.out
}

/// Puppet's checks for a file autoloaded from a module (`namespace` is `app::sub` for
/// `app/manifests/sub.pp`, `app` for `init.pp`): the file may hold only definitions, each
/// named inside that namespace.
pub fn validate_module_file(program: &Expr, namespace: &str, file: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let top: Vec<&Expr> = match &program.kind {
        ExprKind::Block(items) => items.iter().collect(),
        ExprKind::Nop => vec![],
        _ => vec![program],
    };
    for e in &top {
        let named = matches!(
            e.kind,
            ExprKind::Class { .. }
                | ExprKind::Define(_)
                | ExprKind::Function { .. }
                | ExprKind::TypeAlias { .. }
                | ExprKind::TypeDefinition { .. }
        );
        if !named {
            out.push(Diagnostic::error(
                Phase::Validate,
                format!(
                    "This {} is unacceptable as a top level construct in this location",
                    label(e)
                ),
                Some(e.anchor()),
            ));
        }
    }
    fn names(e: &Expr, ns: &str, file: &str, out: &mut Vec<Diagnostic>) {
        crate::depth::grow(|| names_level(e, ns, file, out))
    }
    fn names_level(e: &Expr, ns: &str, file: &str, out: &mut Vec<Diagnostic>) {
        let (name, body) = match &e.kind {
            ExprKind::Class { def, .. } => (def.name.clone(), def.body.as_deref()),
            ExprKind::Define(def) | ExprKind::Function { def, .. } => (def.name.clone(), None),
            ExprKind::TypeAlias { name, .. } => match &name.kind {
                ExprKind::QName(n) | ExprKind::QRef(n) => (n.clone(), None),
                _ => return,
            },
            ExprKind::Block(items) => {
                items.iter().for_each(|x| names(x, ns, file, out));
                return;
            }
            _ => return,
        };
        if !name.trim_start_matches("::").to_lowercase().starts_with(ns) {
            out.push(Diagnostic::error(
                Phase::Validate,
                format!(
                    "Unacceptable location. The name '{name}' is unacceptable in file '{file}'"
                ),
                Some(e.span.lo),
            ));
        }
        if let Some(b) = body {
            names(b, ns, file, out);
        }
    }
    for e in top {
        names(e, namespace, file, &mut out);
    }
    out
}

/// Where an expression stands, for the placement rules of definitions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// At top level or directly in a class body (possibly through blocks).
    Top,
    /// Anywhere else.
    Nested,
}

struct Validator {
    out: Vec<Diagnostic>,
}

/// Puppet's label for an expression, used in messages.
fn label(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Nop => "Nop Expression".into(),
        ExprKind::Block(_) => "Block Expression".into(),
        ExprKind::Literal(l) => match l {
            Literal::Undef => "'undef' expression".into(),
            Literal::Default => "'default' expression".into(),
            Literal::Bool(_) => "Boolean".into(),
            Literal::Integer { .. } => "Literal Integer".into(),
            Literal::Float(_) => "Literal Float".into(),
            Literal::String(_) => "String".into(),
            Literal::Regex(_) => "Regular Expression".into(),
        },
        ExprKind::QName(_) => "Name".into(),
        ExprKind::QRef(_) => "Type-Name".into(),
        ExprKind::Variable(_) => "Variable".into(),
        ExprKind::Concat(_) => "Double Quoted String".into(),
        ExprKind::Heredoc { syntax, .. } => format!("'@({syntax})' expression"),
        ExprKind::Array(_) => "Array Expression".into(),
        ExprKind::Hash { .. } => "Hash Expression".into(),
        ExprKind::Unary { op, .. } => match op {
            UnOp::Not => "'not' expression".into(),
            UnOp::Neg => "Unary Minus".into(),
            UnOp::Splat => "Unfold".into(),
        },
        ExprKind::Binary { op, .. } => format!("'{}' expression", op.as_str()),
        ExprKind::Assign { op, .. } => match op {
            AssignOp::Assign => "'=' expression".into(),
            AssignOp::Append => "'+=' expression".into(),
            AssignOp::Delete => "'-=' expression".into(),
        },
        ExprKind::Relationship { op, .. } => format!("'{}' expression", op.as_str()),
        ExprKind::Access { .. } => "'[]' expression".into(),
        ExprKind::Selector { .. } => "Selector Expression".into(),
        ExprKind::Paren(_) => "Parenthesized Expression".into(),
        ExprKind::If { .. } => "'if' statement".into(),
        ExprKind::Unless { .. } => "'unless' Statement".into(),
        ExprKind::Case { .. } => "'case' statement".into(),
        ExprKind::Call(_) => "Function Call".into(),
        ExprKind::MethodCall(_) => "Method call".into(),
        ExprKind::Collect { exported, .. } => {
            if *exported {
                "Exported Query".into()
            } else {
                "Virtual Query".into()
            }
        }
        ExprKind::Resource { .. } => "Resource Statement".into(),
        ExprKind::ResourceDefaults { .. } => "Resource Defaults Expression".into(),
        ExprKind::ResourceOverride { .. } => "Resource Override".into(),
        ExprKind::Class { .. } => "Host Class Definition".into(),
        ExprKind::Define(_) => "'define' expression".into(),
        ExprKind::Node { .. } => "Node Definition".into(),
        ExprKind::Function { .. } => "Function Definition".into(),
        ExprKind::TypeAlias { .. } => "Type Alias".into(),
        ExprKind::TypeDefinition { .. } => "Type Definition".into(),
        ExprKind::Reserved(w) => format!("Reserved Word '{w}'"),
        ExprKind::RenderString(_) => "Epp Text".into(),
        ExprKind::RenderExpr(_) => "Epp Interpolated Expression".into(),
        ExprKind::Epp { .. } => "Epp Template".into(),
        ExprKind::Error => "Object".into(),
    }
}

fn a_an(e: &Expr) -> String {
    let l = label(e);
    let article = if l.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {l}")
}

/// Whether evaluating the expression can have no effect but its value (Puppet's `idem`).
fn idem(e: &Expr) -> bool {
    crate::depth::grow(|| idem_level(e))
}

fn idem_level(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Nop
        | ExprKind::Literal(_)
        | ExprKind::QName(_)
        | ExprKind::QRef(_)
        | ExprKind::Variable(_)
        | ExprKind::Concat(_)
        | ExprKind::Heredoc { .. }
        | ExprKind::Array(_)
        | ExprKind::Hash { .. }
        | ExprKind::Unary { .. }
        | ExprKind::Access { .. }
        | ExprKind::Selector { .. } => true,
        ExprKind::Binary { op, .. } => !matches!(op, BinOp::Match | BinOp::NotMatch),
        ExprKind::Paren(inner) => idem(inner),
        ExprKind::Block(stmts) => stmts.iter().all(idem),
        ExprKind::If { cond, then, els } | ExprKind::Unless { cond, then, els } => {
            idem(cond) && then.as_deref().is_none_or(idem) && els.as_deref().is_none_or(idem)
        }
        ExprKind::Case { test, options } => {
            idem(test)
                && options
                    .iter()
                    .all(|o| o.values.iter().all(idem) && o.body.as_deref().is_none_or(idem))
        }
        _ => false,
    }
}

fn resource_without_title(stmts: &[Expr]) -> Option<&str> {
    match stmts {
        [Expr {
            kind: ExprKind::QName(n),
            ..
        }, Expr {
            kind: ExprKind::Hash {
                unfolded: false, ..
            },
            ..
        }] => Some(n),
        _ => None,
    }
}

impl Validator {
    fn error(&mut self, msg: impl Into<String>, offset: u32) {
        self.out
            .push(Diagnostic::error(Phase::Validate, msg, Some(offset)));
    }

    fn warning(&mut self, msg: impl Into<String>, offset: u32) {
        self.out
            .push(Diagnostic::warning(Phase::Validate, msg, Some(offset)));
    }

    fn opt(&mut self, e: &Option<Box<Expr>>, ctx: Ctx) {
        if let Some(e) = e {
            self.expr(e, ctx);
        }
    }

    fn params(&mut self, params: &[Param]) {
        self.params_checked(params, false)
    }

    /// Parameters of a lambda, where a captures-rest parameter must come last.
    fn params_checked(&mut self, params: &[Param], rest_must_be_last: bool) {
        let mut seen: Vec<&str> = Vec::new();
        for (i, p) in params.iter().enumerate() {
            if seen.contains(&p.name.as_str()) {
                self.error(
                    format!(
                        "The parameter '{}' is declared more than once in the parameter list",
                        p.name
                    ),
                    p.span.lo,
                );
            }
            seen.push(&p.name);
            if rest_must_be_last && p.captures_rest && i + 1 != params.len() {
                self.error(
                    format!("Parameter ${} is not last, and has 'captures rest'", p.name),
                    p.span.lo,
                );
            }
            if let Some(t) = &p.type_expr {
                self.expr(t, Ctx::Nested);
            }
            if let Some(d) = &p.default {
                self.illegal_assignment(d);
                self.expr(d, Ctx::Nested);
            }
        }
    }

    /// Puppet's `internal_check_illegal_assignment`: a parameter default may hold no
    /// assignment, except inside a lambda (which has its own local scope).
    fn illegal_assignment(&mut self, e: &Expr) {
        crate::depth::grow(|| {
            if let ExprKind::Assign { .. } = e.kind {
                self.error("Assignment not allowed here", e.anchor());
            } else {
                crate::depth::for_each_child(&e.kind, false, &mut |c| self.illegal_assignment(c));
            }
        })
    }

    fn lambda(&mut self, l: &Option<Lambda>) {
        if let Some(l) = l {
            self.params_checked(&l.params, true);
            self.opt(&l.body, Ctx::Nested);
        }
    }

    fn ops(&mut self, ops: &[AttrOp]) {
        for op in ops {
            match op {
                AttrOp::Set { value, .. } | AttrOp::Splat { value, .. } => {
                    self.expr(value, Ctx::Nested)
                }
            }
        }
    }

    /// Classes and defines take no captures-rest parameter.
    fn no_capture(&mut self, params: &[Param], container: &str) {
        for p in params.iter().filter(|p| p.captures_rest) {
            self.error(
                format!(
                    "Parameter ${} has 'captures rest' - not supported in {container}",
                    p.name
                ),
                p.span.lo,
            );
        }
    }

    /// `$name` and `$title` are set by Puppet for every class and define.
    fn reserved_params(&mut self, params: &[Param], container: &str) {
        for p in params
            .iter()
            .filter(|p| p.name == "name" || p.name == "title")
        {
            self.error(
                format!(
                    "The parameter ${} redefines a built in parameter in {container}",
                    p.name
                ),
                p.span.lo,
            );
        }
    }

    /// A class or define body may not end with an expression that only produces a value.
    fn no_idem_last(&mut self, body: &Option<Box<Expr>>, container: &str) {
        let Some(b) = body else { return };
        let last = match &b.kind {
            ExprKind::Block(stmts) => match stmts.last() {
                Some(l) => l,
                None => return,
            },
            _ => b,
        };
        if let ExprKind::Block(stmts) = &b.kind {
            if resource_without_title(stmts).is_some() {
                return;
            }
        }
        if idem(last) && !matches!(last.kind, ExprKind::Nop) {
            self.error(
                format!(
                    "This {} has no effect. {container} can not end with a value-producing expression without other effect",
                    label(last)
                ),
                last.anchor(),
            );
        }
    }

    fn placement(&mut self, e: &Expr, ctx: Ctx) {
        if ctx == Ctx::Nested {
            self.error(
                "Classes, definitions, and nodes may only appear at toplevel or inside other classes",
                e.span.lo,
            );
        }
    }

    fn absolute_top(&mut self, e: &Expr, ctx: Ctx) {
        if ctx == Ctx::Nested {
            let l = a_an(e);
            let mut c = l.chars();
            let uc = c
                .next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default();
            self.error(format!("{uc} may only appear at toplevel"), e.span.lo);
        }
    }

    /// Puppet's VAR_NAME and NUMERIC_VAR_NAME rules (`$HOME` is not a variable name).
    fn variable_name(&mut self, name: &str, e: &Expr) {
        let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            if name != "0" && (name.starts_with('0') || !name.bytes().all(|b| b.is_ascii_digit())) {
                self.error(
                    format!("Illegal numeric variable name, The given name '{name}' must be a decimal value if it starts with a digit 0-9"),
                    e.span.lo,
                );
            }
            return;
        }
        let segments: Vec<&str> = name
            .strip_prefix("::")
            .unwrap_or(name)
            .split("::")
            .collect();
        let last = segments.len() - 1;
        let ok = segments.iter().enumerate().all(|(i, seg)| {
            let first_ok = match seg.bytes().next() {
                Some(b) => b.is_ascii_lowercase() || (i == last && b == b'_'),
                None => false,
            };
            first_ok && word(seg)
        });
        if !ok {
            self.error(
                format!("Illegal variable name, The given name '{name}' does not conform to the naming rule /^((::)?[a-z]\\w*)*((::)?[a-z_]\\w*)$/"),
                e.span.lo,
            );
        }
    }

    /// Puppet's hostname check of a node's names: only letters, digits, `_`, `-` and `.`,
    /// and no interpolation.
    fn hostname(&mut self, h: &Expr) {
        let chars = |v: &mut Self, s: &str, at: u32| {
            if s.chars()
                .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            {
                v.error(
                    format!("The hostname '{s}' contains illegal characters (only letters, digits, '_', '-', and '.' are allowed)"),
                    at,
                );
            }
        };
        match &h.kind {
            ExprKind::Literal(Literal::String(s)) | ExprKind::QName(s) | ExprKind::QRef(s) => {
                chars(self, s, h.span.lo)
            }
            ExprKind::Concat(parts) => {
                let interpolated = parts.iter().find_map(|p| match p {
                    StrPart::Expr(x) => Some(x.span.lo),
                    StrPart::Text(_) => None,
                });
                match (interpolated, parts.as_slice()) {
                    (Some(at), _) => self.error(
                        "An interpolated expression is not allowed in a hostname of a node",
                        at,
                    ),
                    (None, [StrPart::Text(t)]) => chars(self, t, h.span.lo),
                    (None, _) => self.error(
                        "An interpolated expression is not allowed in a hostname of a node",
                        h.span.lo,
                    ),
                }
            }
            _ => {}
        }
    }

    /// Puppet's `rvalue` check: queries and definitions produce no value.
    fn rvalue(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Unary { expr, .. } => self.rvalue(expr),
            ExprKind::Collect { .. }
            | ExprKind::Class { .. }
            | ExprKind::Define(_)
            | ExprKind::Node { .. }
            | ExprKind::Function { .. } => {
                let l = label(e);
                let article = if l.starts_with(['A', 'E', 'I', 'O', 'U']) {
                    "An"
                } else {
                    "A"
                };
                self.error(
                    format!("Invalid use of expression. {article} {l} does not produce a value"),
                    e.span.lo,
                );
            }
            _ => {}
        }
    }

    fn assign_target(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Variable(name) => {
                // Puppet's NUMERIC_VAR_NAME: `0` or a decimal without leading zeros (other
                // digit names are refused as names).
                let numeric = name == "0"
                    || (name.starts_with(|c: char| ('1'..='9').contains(&c))
                        && name.bytes().all(|b| b.is_ascii_digit()));
                if numeric {
                    self.error(
                        format!("Illegal attempt to assign to the numeric match result variable '${name}'. Numeric variables are not assignable"),
                        e.span.lo,
                    );
                }
                if name.contains("::") {
                    self.error(
                        format!("Illegal attempt to assign to '{name}'. Cannot assign to variables in other namespaces"),
                        e.span.lo,
                    );
                }
            }
            ExprKind::Array(items) => items.iter().for_each(|i| self.assign_target(i)),
            ExprKind::Access { .. } => self.error(
                "Illegal attempt to assign via [index/key]. Not an assignable reference"
                    .to_string(),
                e.anchor(),
            ),
            _ => self.error(
                format!(
                    "Illegal attempt to assign to '{}'. Not an assignable reference",
                    a_an(e)
                ),
                e.anchor(),
            ),
        }
    }

    fn duplicate_defaults<'a>(&mut self, values: impl Iterator<Item = &'a Expr>, container: &str) {
        let mut found = false;
        for v in values {
            if matches!(v.kind, ExprKind::Literal(Literal::Default)) {
                if found {
                    self.error(
                        format!(
                            "This {container} already has a 'default' entry - this is a duplicate"
                        ),
                        v.span.lo,
                    );
                }
                found = true;
            }
        }
    }

    fn block(&mut self, stmts: &[Expr], e: &Expr, ctx: Ctx) {
        if let Some(name) = resource_without_title(stmts) {
            self.error(
                format!("This expression is invalid. Did you try declaring a '{name}' resource without a title?"),
                e.span.lo,
            );
        } else if let Some(s) = stmts[..stmts.len().saturating_sub(1)]
            .iter()
            .find(|s| idem(s))
        {
            self.error(
                format!(
                    "This {} has no effect. A value was produced and then forgotten (one or more preceding expressions may have the wrong form)",
                    label(s)
                ),
                s.anchor(),
            );
        }
        for s in stmts {
            self.expr(s, ctx);
        }
    }

    /// Checks an expression and everything inside it; trees are at most
    /// [`crate::MAX_NESTING`] deep, and the stack grows as needed on the way down.
    fn expr(&mut self, e: &Expr, ctx: Ctx) {
        crate::depth::grow(|| self.expr_level(e, ctx))
    }

    fn expr_level(&mut self, e: &Expr, ctx: Ctx) {
        use ExprKind as K;
        let n = Ctx::Nested;
        match &e.kind {
            K::Variable(name) => self.variable_name(name, e),
            K::Nop | K::Literal(_) | K::QName(_) | K::QRef(_) | K::Error => {}
            K::RenderString(_) => {}
            K::Block(stmts) => self.block(stmts, e, ctx),
            K::Concat(parts) => {
                for p in parts {
                    if let StrPart::Expr(x) = p {
                        self.expr(x, n);
                    }
                }
            }
            K::Heredoc { syntax, text } => {
                if let ExprKind::Literal(Literal::String(s)) = &text.kind {
                    if let Some(msg) = crate::checkers::check(syntax, s) {
                        self.error(msg, text.span.lo);
                    }
                }
                self.expr(text, n)
            }
            K::Array(items) => items.iter().for_each(|i| self.expr(i, n)),
            K::Hash { entries, unfolded } => {
                let mut keys: Vec<&str> = Vec::new();
                for en in entries {
                    if !unfolded {
                        if let ExprKind::Literal(Literal::String(k)) = &en.key.kind {
                            if keys.contains(&k.as_str()) {
                                self.warning(
                                    format!("The key '{k}' is declared more than once"),
                                    en.span.lo,
                                );
                            }
                            keys.push(k);
                        }
                    }
                    self.expr(&en.key, n);
                    self.expr(&en.value, n);
                }
            }
            K::Unary { expr, .. } | K::Paren(expr) | K::RenderExpr(expr) => self.expr(expr, n),
            K::Binary { lhs, rhs, .. } | K::Relationship { lhs, rhs, .. } => {
                self.expr(lhs, n);
                self.expr(rhs, n);
            }
            K::Assign { lhs, rhs, op, .. } => {
                match op {
                    AssignOp::Assign => {
                        self.assign_target(lhs);
                        self.rvalue(rhs);
                    }
                    AssignOp::Append | AssignOp::Delete => self.error(
                        format!(
                            "The operator '{}' is no longer supported. See http://links.puppet.com/remove-plus-equals",
                            if *op == AssignOp::Append { "+=" } else { "-=" }
                        ),
                        e.anchor(),
                    ),
                }
                self.expr(lhs, n);
                self.expr(rhs, n);
            }
            K::Access { target, args } => {
                self.expr(target, n);
                args.iter().for_each(|a| self.expr(a, n));
            }
            K::Selector { test, entries } => {
                self.expr(test, n);
                self.duplicate_defaults(entries.iter().map(|en| &en.key), "Selector Expression");
                for en in entries {
                    self.expr(&en.key, n);
                    self.expr(&en.value, n);
                }
            }
            K::If { cond, then, els } | K::Unless { cond, then, els } => {
                self.expr(cond, n);
                self.opt(then, n);
                self.opt(els, n);
            }
            K::Case { test, options } => {
                self.expr(test, n);
                self.duplicate_defaults(
                    options.iter().flat_map(|o| o.values.iter()),
                    "'case' statement",
                );
                for o in options {
                    o.values.iter().for_each(|v| self.expr(v, n));
                    self.opt(&o.body, n);
                }
            }
            K::Call(c) => {
                self.expr(&c.func, n);
                c.args.iter().for_each(|a| self.expr(a, n));
                self.lambda(&c.lambda);
            }
            K::MethodCall(m) => {
                self.expr(&m.receiver, n);
                m.args.iter().for_each(|a| self.expr(a, n));
                self.lambda(&m.lambda);
            }
            K::Collect {
                type_expr,
                query,
                ops,
                ..
            } => {
                self.expr(type_expr, n);
                self.opt(query, n);
                self.ops(ops);
            }
            K::Resource {
                type_expr, bodies, ..
            } => {
                self.expr(type_expr, n);
                for b in bodies {
                    self.expr(&b.title, n);
                    self.ops(&b.ops);
                }
            }
            K::ResourceDefaults { type_expr, ops, .. } => {
                self.expr(type_expr, n);
                self.ops(ops);
            }
            K::ResourceOverride { target, ops, .. } => {
                self.expr(target, n);
                self.ops(ops);
            }
            K::Class { def, .. } => {
                self.placement(e, ctx);
                self.params(&def.params);
                self.no_capture(&def.params, "a Host Class Definition");
                self.reserved_params(&def.params, "the Host Class Definition");
                self.no_idem_last(&def.body, "A Host Class Definition");
                self.opt(&def.body, Ctx::Top);
            }
            K::Define(def) => {
                self.placement(e, ctx);
                self.params(&def.params);
                self.no_capture(&def.params, "a 'define' expression");
                self.reserved_params(&def.params, "the 'define' expression");
                self.no_idem_last(&def.body, "A 'define' expression");
                self.opt(&def.body, n);
            }
            K::Node {
                hosts,
                parent,
                body,
            } => {
                hosts.iter().for_each(|h| self.hostname(h));
                self.placement(e, ctx);
                if let Some(p) = parent {
                    self.error(
                        "Node inheritance is not supported in Puppet >= 4.0.0. See http://links.puppet.com/puppet-node-inheritance-deprecation",
                        p.span.lo,
                    );
                }
                hosts.iter().for_each(|h| self.expr(h, n));
                self.opt(body, n);
            }
            K::Function { def, return_type } => {
                self.absolute_top(e, ctx);
                self.params(&def.params);
                self.opt(return_type, n);
                self.opt(&def.body, n);
            }
            K::TypeAlias { name, value } => {
                self.absolute_top(e, ctx);
                self.expr(name, n);
                self.expr(value, n);
            }
            K::TypeDefinition { body, .. } => {
                self.absolute_top(e, ctx);
                self.opt(body, n);
            }
            K::Reserved(word) => self.error(
                format!(
                    "Use of reserved word: {word}, must be quoted if intended to be a String value"
                ),
                e.span.lo,
            ),
            K::Epp { params, body } => {
                if let Some(p) = params {
                    self.params(p);
                }
                self.opt(body, n);
            }
        }
    }
}
