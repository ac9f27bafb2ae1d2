//! Object types in manifests: `type T = Object[{...}]` and its bracket-less forms (`{...}`,
//! `Parent {...}`), anonymous `Object[{...}]`, and `$instance.attribute`.

use crate::lang::eval::Evaluator;
use std::rc::Rc;
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::{EResult, EvalError};
use troupe_values::object::ObjValue;
use troupe_values::types::Type;
use troupe_values::value::{Map, Value};

/// How an alias body declares an Object type: its init hash and a parent written before it.
enum ObjectForm<'a> {
    Hash(&'a Expr),
    Object(&'a [Expr]),
    WithParent(&'a str, &'a Expr),
}

fn object_form(value: &Expr) -> Option<ObjectForm<'_>> {
    match &value.kind {
        ExprKind::Hash { .. } => Some(ObjectForm::Hash(value)),
        ExprKind::Access { target, args } => match &target.kind {
            ExprKind::QRef(n) if n == "Object" => Some(ObjectForm::Object(args)),
            ExprKind::QRef(n)
                if Type::from_name(n).is_none()
                    && n != "TypeSet"
                    && args.len() == 1
                    && matches!(args[0].kind, ExprKind::Hash { .. }) =>
            {
                Some(ObjectForm::WithParent(n, &args[0]))
            }
            _ => None,
        },
        _ => None,
    }
}

fn type_name_error(msg: String) -> EvalError {
    EvalError::new(format!("Error while evaluating a Type-Name, {msg}"))
}

impl<'e> Evaluator<'e> {
    /// The body of alias `name`: an Object type named after the alias, or the type the
    /// expression evaluates to.
    pub(crate) fn eval_alias_body(&mut self, name: &str, value: &Expr) -> EResult<Value> {
        if let ExprKind::Access { target, args } = &value.kind {
            if matches!(&target.kind, ExprKind::QRef(n) if n == "TypeSet") && args.len() == 1 {
                return self.type_set_body(name, &args[0]);
            }
        }
        // Inside a hash, `Parent { a => ... }` parses as resource defaults.
        if let ExprKind::ResourceDefaults { type_expr, ops, .. } = &value.kind {
            if let ExprKind::QRef(p) = &type_expr.kind {
                let mut init = Map::default();
                for op in ops {
                    if let troupe_syntax::ast::AttrOp::Set { name, value: x, .. } = op {
                        let v = self.eval(x)?;
                        init.insert(Value::str(name.as_str()), v);
                    }
                }
                if p != "Object" {
                    let parent = self.type_ref(p)?;
                    init.insert(Value::str("parent"), parent);
                }
                let display = troupe_values::types::capitalize_type_name(name);
                let t = troupe_values::object_build::build(Some(display), &init)
                    .map_err(type_name_error)?;
                return Ok(Value::ty(Type::Obj(Rc::new(t))));
            }
        }
        let Some(form) = object_form(value) else {
            return self.eval(value);
        };
        let (init, parent) = match form {
            ObjectForm::Hash(h) => (self.eval(h)?, None),
            ObjectForm::Object(args) => {
                let mut vals = self.eval_args(args)?;
                if vals.len() != 1 {
                    return self.eval(value);
                }
                (vals.remove(0), None)
            }
            ObjectForm::WithParent(p, h) => {
                let parent = self.type_ref(p)?;
                (self.eval(h)?, Some(parent))
            }
        };
        let Value::Hash(h) = &init else {
            return self.eval(value);
        };
        let mut init: Map = (**h).clone();
        if let Some(p) = parent {
            init.insert(Value::str("parent"), p);
        }
        let display = troupe_values::types::capitalize_type_name(name);
        let t =
            troupe_values::object_build::build(Some(display), &init).map_err(type_name_error)?;
        Ok(Value::ty(Type::Obj(Rc::new(t))))
    }

    /// `Object[{...}]` outside an alias: an anonymous (or self-named) Object type.
    pub(crate) fn object_param(&mut self, args: &[Value], e: &Expr) -> EResult<Type> {
        match args {
            [Value::Hash(h)] => troupe_values::object_build::build(None, h)
                .map(|t| Type::Obj(Rc::new(t)))
                .map_err(|m| {
                    EvalError::new(format!("Error while evaluating a '[]' expression, {m}"))
                        .at(self.loc_e(e))
                }),
            _ => Ok(Type::Object),
        }
    }

    /// `$o.name`: an attribute of an Object instance; `None` when `name` is no attribute.
    pub(crate) fn object_member(
        &mut self,
        o: &Rc<ObjValue>,
        name: &str,
        nargs: usize,
    ) -> Option<EResult<Value>> {
        let m = o.ty.member(name)?;
        if m.function {
            return Some(Err(EvalError::new(format!(
                "no method is implemented for {}",
                m.label(o.ty.label())
            ))));
        }
        if m.kind.as_deref() == Some("derived") {
            return Some(Err(EvalError::new(format!(
                "no method is implemented for derived {}",
                m.label(o.ty.label())
            ))));
        }
        if nargs > 1 {
            return Some(Err(EvalError::new(format!(
                "'{name}' expects no arguments, got {}",
                nargs - 1
            ))));
        }
        Some(Ok(o.get(name).unwrap_or(Value::Undef)))
    }
}
