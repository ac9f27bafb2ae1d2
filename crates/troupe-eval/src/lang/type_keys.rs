//! Checks and errors of type parameterization (`Hash[...]`, `Array[...]`, `Integer[...]`,
//! `Tuple[...]`, `Class[...]`, `Resource[...]`) with Puppet's texts, each reported at the
//! key it is about when there is one.

use crate::lang::eval::Evaluator;
use troupe_ruby::object::ruby_class;
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::EResult;
use troupe_values::types::Type;
use troupe_values::value::Value;

/// The types whose keys Puppet flattens (`Integer[[1, 2]]` is `Integer[1, 2]`).
pub(crate) fn flattens_keys(t: &Type) -> bool {
    matches!(
        t,
        Type::Integer(..)
            | Type::Float(..)
            | Type::Hash(..)
            | Type::Array(..)
            | Type::Collection(..)
            | Type::Tuple(..)
            | Type::Regexp(_)
            | Type::Type(_)
            | Type::Optional(_)
            | Type::NotUndef(_)
            | Type::Variant(_)
            | Type::Pattern(_)
    )
}

/// The expression of key `i` of an access, or the access itself.
pub(crate) fn key_expr(e: &Expr, i: usize) -> &Expr {
    match &e.kind {
        ExprKind::Access { args, .. } => args.get(i).unwrap_or(e),
        _ => e,
    }
}

/// A class name as Puppet accepts it in `Class[...]` (already without a leading `::`).
pub(crate) fn valid_class_name(n: &str) -> bool {
    n.split("::").enumerate().all(|(i, seg)| {
        let mut cs = seg.chars();
        match cs.next() {
            Some(c) if c.is_ascii_lowercase() || (i == 0 && c == '_') => {
                cs.all(|c| c.is_alphanumeric() || c == '_')
            }
            _ => false,
        }
    })
}

impl<'e> Evaluator<'e> {
    pub(crate) fn range_order_error<T>(&self, a: &Value, b: &Value, e: &Expr) -> EResult<T> {
        self.err(
            format!(
                "Error while evaluating a '[]' expression, 'from' must be less or equal to 'to'. Got ({}, {}",
                a.to_display(),
                b.to_display()
            ),
            e,
        )
    }

    /// `Array[...]` (1 to 3 keys, the first a type unless two sizes) and `Hash[...]` (2 to 4
    /// keys, the first two types unless two sizes).
    pub(crate) fn slice_type_check(
        &self,
        base: &str,
        args: &[Value],
        e: &Expr,
    ) -> Option<EResult<Value>> {
        let is_type = |v: &Value| matches!(v, Value::Type(_));
        let ints = matches!(args, [Value::Int(_), Value::Int(_)]);
        let bad_type = |i: usize| {
            Some(self.err(
                format!(
                    "{base}-Type[] arguments must be types. Got {}",
                    ruby_class(&args[i])
                ),
                key_expr(e, i),
            ))
        };
        let (min, max) = if base == "Hash" { (2, 4) } else { (1, 3) };
        if base == "Hash" && !ints {
            if let Some(i) = args.iter().take(2).position(|k| !is_type(k)) {
                return bad_type(i);
            }
        }
        if base == "Array" && !args.is_empty() && !is_type(&args[0]) && args.len() != 2 {
            return bad_type(0);
        }
        if (args.len() < min || args.len() > max) && !ints {
            return Some(self.err(
                format!(
                    "{base}-Type[] accepts {min} to {max} arguments. Got {}",
                    args.len()
                ),
                e,
            ));
        }
        None
    }

    /// Keys of `Tuple[...]` (types, then up to two sizes) and `Variant[...]` (types).
    pub(crate) fn specialization_check(
        &self,
        base: &str,
        args: &[Value],
        sizes: bool,
        e: &Expr,
    ) -> Option<EResult<Value>> {
        let ok = |v: &Value| {
            matches!(v, Value::Type(_)) || (sizes && matches!(v, Value::Int(_) | Value::Default))
        };
        let i = args.iter().position(|v| !ok(v))?;
        Some(self.err(
            format!(
                "Error creating type specialization of a {base}-Type, Cannot use {} where Any-Type is expected",
                troupe_values::infer::generalize(&args[i])
            ),
            key_expr(e, i),
        ))
    }

    pub(crate) fn resource_first_arg_error<T>(&self, args: &[Value], e: &Expr) -> EResult<T> {
        let got = args
            .first()
            .map(|v| troupe_values::infer::generalize(v).to_string())
            .unwrap_or_else(|| "Undef".into());
        self.err(
            format!("First argument to Resource[] must be a resource type or a String. Got {got}."),
            key_expr(e, 0),
        )
    }
}

impl Evaluator<'_> {
    /// `Class[Name]`: Puppet reads a type-name key without evaluating it, and a name that
    /// is no type is a type reference, not a String: refused as an illegal class name.
    pub(crate) fn class_keys_check(&mut self, args: &[Expr]) -> EResult<()> {
        for a in args {
            if let ExprKind::QRef(name) = &a.kind {
                let unknown = match self.eval(a) {
                    Err(err) => err.msg.starts_with("Resource type not found"),
                    Ok(_) => false,
                };
                if unknown {
                    return self.err(
                        format!("Illegal Class name in class reference. A TypeReference['{name}']-Type cannot be used where a String is expected"),
                        a,
                    );
                }
            }
        }
        Ok(())
    }
}
