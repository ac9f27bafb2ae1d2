//! A compact S-expression rendering of the tree, for golden tests and `troupe parser dump`.

use crate::ast::*;

/// Renders an expression as an S-expression on one line.
pub fn sexpr(e: &Expr) -> String {
    let mut s = String::new();
    write(e, &mut s);
    s
}

fn list(s: &mut String, head: &str, items: &[&Expr]) {
    s.push('(');
    s.push_str(head);
    for i in items {
        s.push(' ');
        write(i, s);
    }
    s.push(')');
}

fn opt(s: &mut String, e: &Option<Box<Expr>>) {
    match e {
        Some(e) => write(e, s),
        None => s.push_str("nil"),
    }
}

fn params(s: &mut String, ps: &[Param]) {
    s.push('[');
    for (i, p) in ps.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push('(');
        if let Some(t) = &p.type_expr {
            write(t, s);
            s.push(' ');
        }
        if p.captures_rest {
            s.push('*');
        }
        s.push('$');
        s.push_str(&p.name);
        if let Some(d) = &p.default {
            s.push_str(" = ");
            write(d, s);
        }
        s.push(')');
    }
    s.push(']');
}

fn ops(s: &mut String, ops: &[AttrOp]) {
    for o in ops {
        s.push(' ');
        match o {
            AttrOp::Set {
                name,
                append,
                value,
                ..
            } => {
                s.push('(');
                s.push_str(name);
                s.push_str(if *append { " +> " } else { " => " });
                write(value, s);
                s.push(')');
            }
            AttrOp::Splat { value, .. } => {
                s.push_str("(* => ");
                write(value, s);
                s.push(')');
            }
        }
    }
}

fn lambda(s: &mut String, l: &Option<Lambda>) {
    if let Some(l) = l {
        s.push_str(" (lambda ");
        params(s, &l.params);
        if let Some(r) = &l.return_type {
            s.push_str(" >> ");
            write(r, s);
        }
        s.push(' ');
        opt(s, &l.body);
        s.push(')');
    }
}

fn form(f: ResourceForm) -> &'static str {
    match f {
        ResourceForm::Regular => "",
        ResourceForm::Virtual => "@",
        ResourceForm::Exported => "@@",
    }
}

fn write(e: &Expr, s: &mut String) {
    crate::depth::grow(|| write_level(e, s))
}

fn write_level(e: &Expr, s: &mut String) {
    use ExprKind as K;
    match &e.kind {
        K::Nop => s.push_str("nop"),
        K::Error => s.push_str("<error>"),
        K::Block(v) => list(s, "block", &v.iter().collect::<Vec<_>>()),
        K::Literal(l) => match l {
            Literal::Undef => s.push_str("undef"),
            Literal::Default => s.push_str("default"),
            Literal::Bool(b) => s.push_str(&b.to_string()),
            Literal::Integer { value, radix } => {
                s.push_str(&value.to_string());
                if *radix != 10 {
                    s.push_str(&format!("r{radix}"));
                }
            }
            Literal::Float(f) => s.push_str(&format!("{f:?}")),
            Literal::String(t) => s.push_str(&format!("{t:?}")),
            Literal::Regex(r) => s.push_str(&format!("/{r}/")),
        },
        K::QName(n) => s.push_str(n),
        K::QRef(n) => s.push_str(n),
        K::Variable(n) => {
            s.push('$');
            s.push_str(n);
        }
        K::Concat(parts) => {
            s.push_str("(cat");
            for p in parts {
                s.push(' ');
                match p {
                    StrPart::Text(t) => s.push_str(&format!("{t:?}")),
                    StrPart::Expr(x) => {
                        s.push_str("(str ");
                        write(x, s);
                        s.push(')');
                    }
                }
            }
            s.push(')');
        }
        K::Heredoc { syntax, text } => {
            s.push_str(&format!("(@({syntax}) "));
            write(text, s);
            s.push(')');
        }
        K::Array(v) => {
            s.push('[');
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write(x, s);
            }
            s.push(']');
        }
        K::Hash { entries, unfolded } => {
            s.push_str(if *unfolded { "{*" } else { "{" });
            for (i, en) in entries.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push('(');
                write(&en.key, s);
                s.push_str(" => ");
                write(&en.value, s);
                s.push(')');
            }
            s.push('}');
        }
        K::Unary { op, expr } => {
            let h = match op {
                UnOp::Not => "!",
                UnOp::Neg => "-",
                UnOp::Splat => "unfold",
            };
            list(s, h, &[expr]);
        }
        K::Binary { op, lhs, rhs, .. } => list(s, op.as_str(), &[lhs, rhs]),
        K::Assign { op, lhs, rhs, .. } => {
            let h = match op {
                AssignOp::Assign => "=",
                AssignOp::Append => "+=",
                AssignOp::Delete => "-=",
            };
            list(s, h, &[lhs, rhs]);
        }
        K::Relationship { op, lhs, rhs, .. } => list(s, op.as_str(), &[lhs, rhs]),
        K::Access { target, args } => {
            let mut v: Vec<&Expr> = vec![target];
            v.extend(args.iter());
            list(s, "slice", &v);
        }
        K::Selector { test, entries } => {
            s.push_str("(? ");
            write(test, s);
            for en in entries {
                s.push_str(" (");
                write(&en.key, s);
                s.push_str(" => ");
                write(&en.value, s);
                s.push(')');
            }
            s.push(')');
        }
        K::Paren(x) => list(s, "paren", &[x]),
        K::If { cond, then, els } | K::Unless { cond, then, els } => {
            s.push_str(if matches!(e.kind, K::If { .. }) {
                "(if "
            } else {
                "(unless "
            });
            write(cond, s);
            s.push_str(" (then ");
            opt(s, then);
            s.push(')');
            if els.is_some() {
                s.push_str(" (else ");
                opt(s, els);
                s.push(')');
            }
            s.push(')');
        }
        K::Case { test, options } => {
            s.push_str("(case ");
            write(test, s);
            for o in options {
                s.push_str(" (when [");
                for (i, v) in o.values.iter().enumerate() {
                    if i > 0 {
                        s.push(' ');
                    }
                    write(v, s);
                }
                s.push_str("] ");
                opt(s, &o.body);
                s.push(')');
            }
            s.push(')');
        }
        K::Call(c) => {
            s.push_str(if c.rval_required {
                "(call "
            } else {
                "(invoke "
            });
            write(&c.func, s);
            for a in &c.args {
                s.push(' ');
                write(a, s);
            }
            lambda(s, &c.lambda);
            s.push(')');
        }
        K::MethodCall(m) => {
            s.push_str("(call-method (. ");
            write(&m.receiver, s);
            s.push(' ');
            s.push_str(&m.name);
            s.push(')');
            for a in &m.args {
                s.push(' ');
                write(a, s);
            }
            lambda(s, &m.lambda);
            s.push(')');
        }
        K::Collect {
            type_expr,
            exported,
            query,
            ops: o,
        } => {
            s.push_str(if *exported {
                "(collect-exported "
            } else {
                "(collect "
            });
            write(type_expr, s);
            s.push(' ');
            opt(s, query);
            ops(s, o);
            s.push(')');
        }
        K::Resource {
            form: f,
            type_expr,
            bodies,
        } => {
            s.push_str(&format!("({}resource ", form(*f)));
            write(type_expr, s);
            for b in bodies {
                s.push_str(" (");
                write(&b.title, s);
                ops(s, &b.ops);
                s.push(')');
            }
            s.push(')');
        }
        K::ResourceDefaults {
            form: f,
            type_expr,
            ops: o,
        } => {
            s.push_str(&format!("({}defaults ", form(*f)));
            write(type_expr, s);
            ops(s, o);
            s.push(')');
        }
        K::ResourceOverride {
            form: f,
            target,
            ops: o,
        } => {
            s.push_str(&format!("({}override ", form(*f)));
            write(target, s);
            ops(s, o);
            s.push(')');
        }
        K::Class { def, parent } => {
            s.push_str(&format!("(class {} ", def.name));
            params(s, &def.params);
            if let Some(p) = parent {
                s.push_str(&format!(" (inherits {p})"));
            }
            s.push(' ');
            opt(s, &def.body);
            s.push(')');
        }
        K::Define(def) => {
            s.push_str(&format!("(define {} ", def.name));
            params(s, &def.params);
            s.push(' ');
            opt(s, &def.body);
            s.push(')');
        }
        K::Node {
            hosts,
            parent,
            body,
        } => {
            s.push_str("(node [");
            for (i, h) in hosts.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write(h, s);
            }
            s.push(']');
            if let Some(p) = parent {
                s.push_str(" (inherits ");
                write(p, s);
                s.push(')');
            }
            s.push(' ');
            opt(s, body);
            s.push(')');
        }
        K::Function { def, return_type } => {
            s.push_str(&format!("(function {} ", def.name));
            params(s, &def.params);
            if let Some(r) = return_type {
                s.push_str(" >> ");
                write(r, s);
            }
            s.push(' ');
            opt(s, &def.body);
            s.push(')');
        }
        K::TypeAlias { name, value } => list(s, "type-alias", &[name, value]),
        K::TypeDefinition { name, parent, body } => {
            s.push_str(&format!("(type-definition {name}"));
            if let Some(p) = parent {
                s.push_str(&format!(" (inherits {p})"));
            }
            s.push(' ');
            opt(s, body);
            s.push(')');
        }
        K::Reserved(w) => s.push_str(&format!("(reserved {w})")),
        K::RenderString(t) => s.push_str(&format!("(render-s {t:?})")),
        K::RenderExpr(x) => list(s, "render", &[x]),
        K::Epp { params: ps, body } => {
            s.push_str("(epp ");
            match ps {
                Some(ps) => params(s, ps),
                None => s.push_str("nil"),
            }
            s.push(' ');
            opt(s, body);
            s.push(')');
        }
    }
}
