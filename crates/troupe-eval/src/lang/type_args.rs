//! The arguments of parameterized types that Puppet checks one by one, with its messages at
//! the key that is wrong: size constraints (`String[1, 2]`, `Array[T, Integer[1, 2]]`),
//! `NotUndef[...]`, `Regexp[...]`, `Pattern[...]`, resource titles and class names.

use crate::lang::eval::Evaluator;
use crate::lang::type_keys::key_expr;
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::infer::generalize;
use troupe_values::label::label;
use troupe_values::types::{article, Type};
use troupe_values::value::Value;

/// "a Float", "an Integer-Type": Puppet's label of a value with its article.
fn a_label(v: &Value) -> String {
    let l = label(v);
    format!("{} {l}", article(&l))
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

impl Evaluator<'_> {
    /// A size constraint given as `args` (keys `start..` of the access): one Integer type, or
    /// one or two Integers or `default`.
    pub(crate) fn size_args(&self, args: &[Value], start: usize, e: &Expr) -> EResult<(i64, i64)> {
        if let [Value::Type(t)] = args {
            if let Type::Integer(min, max) = t.resolved() {
                return Ok(((*min).max(0), *max));
            }
        }
        for (i, a) in args.iter().enumerate() {
            if !matches!(a, Value::Int(_) | Value::Default) {
                return self.err(
                    format!(
                        "A Type's size constraint arguments must be a single Integer type, or 1-2 integers (or default). Got {}",
                        a_label(a)
                    ),
                    key_expr(e, start + i),
                );
            }
        }
        Ok(Self::size_range(args))
    }

    /// Puppet's "Error creating type specialization of a <T>-Type, Cannot use <actual> where
    /// <expected> is expected", at key `i`.
    pub(crate) fn specialization_error<T>(
        &self,
        base: &str,
        actual: &Value,
        expected: &str,
        i: usize,
        e: &Expr,
    ) -> EResult<T> {
        self.err(
            format!(
                "Error creating type specialization of a {base}-Type, Cannot use {} where {expected} is expected",
                generalize(actual)
            ),
            key_expr(e, i),
        )
    }

    /// `NotUndef[...]`: at most one argument, a Type or a String.
    pub(crate) fn not_undef_arg(&self, args: &[Value], e: &Expr) -> EResult<Option<Type>> {
        match args {
            [] => Ok(None),
            [a] => match a {
                Value::Type(_) | Value::Str(_) => self.type_arg(a, e).map(Some),
                other => self.err(
                    format!(
                        "NotUndef-Type[] argument must be a Type or a String. Got {}",
                        generalize(other)
                    ),
                    key_expr(e, 0),
                ),
            },
            _ => self.err(
                format!(
                    "NotUndef-Type[] accepts 0 to 1 arguments. Got {}",
                    args.len()
                ),
                e,
            ),
        }
    }

    /// `Regexp[...]`: exactly one argument, a String or a Regexp.
    pub(crate) fn regexp_arg(&self, args: &[Value], e: &Expr) -> EResult<Type> {
        match args {
            [Value::Str(s)] => Ok(Type::Regexp(Some(self.regex(s, e)?))),
            [Value::Regex(r)] => Ok(Type::Regexp(Some(r.clone()))),
            [other] => self.specialization_error("Regexp", other, "String or Regexp", 0, e),
            _ => self.err(
                format!("A Regexp-Type[] accepts 1 argument. Got {}", args.len()),
                if args.is_empty() { e } else { key_expr(e, 1) },
            ),
        }
    }

    /// A class name key of `Class[...]` that is not a String nor a class.
    pub(crate) fn class_name_error<T>(&self, v: &Value, i: usize, e: &Expr) -> EResult<T> {
        self.err(
            format!(
                "Illegal Class name in class reference. {} cannot be used where a String is expected",
                capitalized(&a_label(v))
            ),
            key_expr(e, i),
        )
    }
}
