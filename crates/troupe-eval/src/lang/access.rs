//! Access (`x[...]`): indexing values, parameterizing types, resource references.

use crate::lang::eval::Evaluator;
use crate::lang::type_keys::{flattens_keys, key_expr, valid_class_name};
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::types::capitalize_type_name;
use troupe_values::types::Type;
use troupe_values::types::INT_MAX;
use troupe_values::types::INT_MIN;
use troupe_values::value::a_value;
use troupe_values::value::flatten;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    pub(crate) fn access(&mut self, target: &Expr, args: &[Expr], e: &Expr) -> EResult<Value> {
        let base = self.eval(target)?;
        if matches!(&base, Value::Type(t) if matches!(**t, Type::Class(None))) {
            self.class_keys_check(args)?;
        }
        let argv = self.eval_args(args)?;
        self.access_value(base, argv, e)
    }

    pub fn access_value(&mut self, base: Value, args: Vec<Value>, e: &Expr) -> EResult<Value> {
        match &base {
            Value::Undef => self.err("Operator '[]' is not applicable to an Undef Value.", e),
            Value::Array(_) | Value::Str(_) | Value::Binary(_) => {
                match self.index_value(&base, &args, e) {
                    Some(out) => out,
                    None => Ok(Value::Undef),
                }
            }
            Value::Hash(h) => {
                if args.len() <= 1 {
                    Ok(args
                        .first()
                        .and_then(|k| h.get(k))
                        .cloned()
                        .unwrap_or(Value::Undef))
                } else {
                    Ok(Value::array(
                        // Missing keys and undef values are left out (Puppet compacts).
                        args.iter()
                            .filter_map(|k| {
                                h.get(k).filter(|v| !matches!(v, Value::Undef)).cloned()
                            })
                            .collect(),
                    ))
                }
            }
            Value::Type(t) => self.parameterize(t, args, e),
            _ => self.err(
                format!("Operator '[]' is not applicable to {}.", a_value(&base)),
                e,
            ),
        }
    }

    pub(crate) fn type_arg(&self, v: &Value, e: &Expr) -> EResult<Type> {
        match v {
            Value::Type(t) => Ok((**t).clone()),
            Value::Str(s) => Ok(Type::Enum(vec![s.to_string()], false)),
            _ => self.err(
                format!("Type parameter must be a type, got {}", a_value(v)),
                e,
            ),
        }
    }

    /// `[min, max]` type parameters (`String[1]`, `Array[T, 1, 2]`), defaulting to 0 and max.
    pub(crate) fn size_range(args: &[Value]) -> (i64, i64) {
        (
            args.first().map(|v| Self::int_arg(v, 0)).unwrap_or(0),
            args.get(1)
                .map(|v| Self::int_arg(v, INT_MAX))
                .unwrap_or(INT_MAX),
        )
    }

    pub(crate) fn int_arg(v: &Value, dflt: i64) -> i64 {
        match v {
            Value::Int(i) => *i,
            Value::Float(f) => *f as i64,
            _ => dflt,
        }
    }

    /// `T[args]`; a type nested deeper than `limits::MAX_DEPTH` (built by a `reduce`) is
    /// refused, so walking, printing and dropping types stays shallow.
    pub(crate) fn parameterize(&mut self, t: &Type, args: Vec<Value>, e: &Expr) -> EResult<Value> {
        let v = self.parameterize_type(t, args, e)?;
        if let Value::Type(ty) = &v {
            if ty.deeper_than(troupe_values::limits::MAX_DEPTH) {
                return self.err(
                    format!(
                        "type nested deeper than {} levels",
                        troupe_values::limits::MAX_DEPTH
                    ),
                    e,
                );
            }
        }
        Ok(v)
    }

    pub(crate) fn parameterize_type(
        &mut self,
        t: &Type,
        args: Vec<Value>,
        e: &Expr,
    ) -> EResult<Value> {
        let base = t.resolved().clone();
        let args = if flattens_keys(&base) {
            flatten(&args)
        } else {
            args
        };
        let ty = match base {
            Type::Object if !args.is_empty() => self.object_param(&args, e)?,
            Type::Callable if !args.is_empty() => {
                match troupe_values::callable::CallableSig::from_args(&args) {
                    Ok(c) => Type::CallableOf(std::rc::Rc::new(c)),
                    Err(m) => return self.err(m, e),
                }
            }
            Type::Boolean => match Type::boolean_of(&args) {
                Ok(t) => t,
                // A wrong kind of value is reported at the value; a wrong count at the type.
                Err(m) => {
                    let at = match &e.kind {
                        troupe_syntax::ast::ExprKind::Access { args: a, .. } if a.len() == 1 => {
                            &a[0]
                        }
                        _ => e,
                    };
                    return self.err(m, at);
                }
            },
            Type::Integer(..) => {
                let (a, b) = match args.as_slice() {
                    [a] => (a.clone(), Value::Default),
                    [a, b] => (a.clone(), b.clone()),
                    _ => {
                        return self.err(
                            format!(
                            "Integer-Type supports [] with one or two arguments (from, to). Got {}",
                            args.len()
                        ),
                            e,
                        )
                    }
                };
                let min = Self::int_arg(&a, INT_MIN);
                let max = Self::int_arg(&b, INT_MAX);
                if min > max {
                    return self.range_order_error(&a, &b, e);
                }
                Type::Integer(min, max)
            }
            Type::Float(..) => {
                if args.is_empty() || args.len() > 2 {
                    return self.err(
                        format!(
                            "Float-Type supports [] with one or two arguments (from, to). Got {}",
                            args.len()
                        ),
                        e,
                    );
                }
                let f = |v: &Value, d: f64| match v {
                    Value::Int(i) => *i as f64,
                    Value::Float(x) => *x,
                    _ => d,
                };
                let min = f(&args[0], f64::NEG_INFINITY);
                let max = args
                    .get(1)
                    .map(|v| f(v, f64::INFINITY))
                    .unwrap_or(f64::INFINITY);
                if min > max {
                    return self.range_order_error(&args[0], &args[1], e);
                }
                Type::Float(min, max)
            }
            Type::String(..) => {
                let (min, max) = self.size_args(&args, 0, e)?;
                Type::String(min, max)
            }
            Type::Collection(..) => {
                let (min, max) = self.size_args(&args, 0, e)?;
                Type::Collection(min, max)
            }
            Type::Enum(..) => {
                let mut vals = Vec::new();
                let mut ci = false;
                for a in &args {
                    match a {
                        Value::Str(s) => vals.push(s.to_string()),
                        Value::Array(xs) => {
                            vals.extend(xs.iter().filter_map(|x| x.as_str().map(String::from)))
                        }
                        Value::Bool(b) => ci = *b,
                        _ => return self.err("Enum parameters must be strings", e),
                    }
                }
                // Puppet's PEnumType keeps its values unique and sorted.
                vals.sort();
                vals.dedup();
                Type::Enum(vals, ci)
            }
            Type::Pattern(_) => {
                let mut res = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    match a {
                        Value::Str(s) => res.push(self.regex(s, e)?),
                        Value::Regex(r) => res.push(r.clone()),
                        Value::Type(t) if matches!(t.resolved(), Type::Pattern(_)) => {
                            if let Type::Pattern(p) = t.resolved() {
                                res.extend(p.iter().cloned())
                            }
                        }
                        Value::Type(t) if matches!(t.resolved(), Type::Regexp(_)) => {
                            if let Type::Regexp(Some(r)) = t.resolved() {
                                res.push(r.clone())
                            }
                        }
                        _ => {
                            return self.specialization_error(
                                "Pattern",
                                a,
                                "String or Regexp or Pattern-Type or Regexp-Type",
                                i,
                                e,
                            )
                        }
                    }
                }
                Type::Pattern(res)
            }
            Type::Regexp(_) => self.regexp_arg(&args, e)?,
            Type::Array(..) => {
                if let Some(err) = self.slice_type_check("Array", &args, e) {
                    return err;
                }
                let (elem, start) = match args.first() {
                    Some(Value::Type(_)) => (self.type_arg(&args[0], e)?, 1),
                    _ => (Type::Any, 0),
                };
                let (min, max) = self.size_args(&args[start..], start, e)?;
                Type::Array(Box::new(elem), min, max)
            }
            Type::Hash(..) => {
                if let Some(err) = self.slice_type_check("Hash", &args, e) {
                    return err;
                }
                let (k, v, start) = match args.as_slice() {
                    [Value::Type(_), Value::Type(_), ..] => {
                        (self.type_arg(&args[0], e)?, self.type_arg(&args[1], e)?, 2)
                    }
                    _ => (Type::Any, Type::Any, 0),
                };
                let (min, max) = self.size_args(&args[start..], start, e)?;
                Type::Hash(Box::new(k), Box::new(v), min, max)
            }
            Type::Tuple(..) => {
                if let Some(err) = self.specialization_check("Tuple", &args, true, e) {
                    return err;
                }
                let mut ts = Vec::new();
                let mut nums = Vec::new();
                for a in &args {
                    match a {
                        Value::Type(t) => ts.push((**t).clone()),
                        Value::Int(i) => nums.push(*i),
                        Value::Default => nums.push(INT_MAX),
                        _ => {}
                    }
                }
                let min = nums.first().copied().unwrap_or(0);
                let max = nums.get(1).copied().unwrap_or(INT_MAX);
                if nums.is_empty() {
                    Type::Tuple(ts, 0, INT_MAX)
                } else {
                    Type::Tuple(ts, min, max)
                }
            }
            Type::Struct(_) => match args.first() {
                Some(Value::Hash(h)) => {
                    let mut ms = Vec::new();
                    for (k, v) in h.iter() {
                        let vt = self.type_arg(v, e)?;
                        match k {
                            Value::Str(s) => {
                                ms.push((s.to_string(), matches!(vt, Type::Optional(_)), vt))
                            }
                            Value::Type(t) => match t.resolved() {
                                Type::Optional(Some(inner)) => {
                                    if let Type::Enum(vals, _) = &**inner {
                                        ms.push((
                                            vals.first().cloned().unwrap_or_default(),
                                            true,
                                            vt,
                                        ));
                                    }
                                }
                                Type::NotUndef(Some(inner)) => {
                                    if let Type::Enum(vals, _) = &**inner {
                                        ms.push((
                                            vals.first().cloned().unwrap_or_default(),
                                            false,
                                            vt,
                                        ));
                                    }
                                }
                                Type::Enum(vals, _) => {
                                    ms.push((vals.first().cloned().unwrap_or_default(), false, vt))
                                }
                                _ => return self.err("Struct keys must be strings", e),
                            },
                            _ => return self.err("Struct keys must be strings", e),
                        }
                    }
                    Type::Struct(ms)
                }
                _ => Type::Struct(vec![]),
            },
            Type::Optional(_) => match args.first() {
                Some(a) => Type::Optional(Some(Box::new(self.type_arg(a, e)?))),
                None => Type::Optional(None),
            },
            Type::NotUndef(_) => Type::NotUndef(self.not_undef_arg(&args, e)?.map(Box::new)),
            Type::Sensitive(_) => match args.first() {
                // Puppet generalizes the wrapped type so that it discloses nothing of the value.
                Some(a) => Type::Sensitive(Some(Box::new(troupe_values::infer::generalize_type(
                    &self.type_arg(a, e)?,
                )))),
                None => Type::Sensitive(None),
            },
            Type::Type(_) => match args.first() {
                Some(a) => Type::Type(Some(Box::new(self.type_arg(a, e)?))),
                None => Type::Type(None),
            },
            Type::Variant(_) => {
                if let Some(err) = self.specialization_check("Variant", &args, false, e) {
                    return err;
                }
                let mut ts = Vec::new();
                for a in &args {
                    ts.push(self.type_arg(a, e)?);
                }
                Type::Variant(ts)
            }
            Type::Class(None) => {
                if let [Value::Undef] = args.as_slice() {
                    return Ok(Value::Undef);
                }
                let as_array = args.len() > 1 || matches!(args.as_slice(), [Value::Array(_)]);
                let mut out = Vec::new();
                for (i, a) in flatten(&args).into_iter().enumerate() {
                    match &a {
                        Value::Undef => {}
                        Value::Str(s) => {
                            let name = s.trim_start_matches("::").to_lowercase();
                            if !valid_class_name(&name) {
                                return self.err(format!("Illegal name. The given name '{s}' does not conform to the naming rule /^((::)?[a-z_]\\w*)(::[a-z]\\w*)*$/"), key_expr(e, 0));
                            }
                            out.push(Value::ty(Type::Class(Some(name))))
                        }
                        Value::Type(t) => match t.resolved() {
                            Type::Class(Some(n)) => {
                                out.push(Value::ty(Type::Class(Some(n.clone()))))
                            }
                            Type::Resource(Some(n), None) => {
                                out.push(Value::ty(Type::Class(Some(n.to_lowercase()))))
                            }
                            _ => return self.class_name_error(&a, i, e),
                        },
                        _ => return self.class_name_error(&a, i, e),
                    }
                }
                return Ok(if out.len() == 1 && !as_array {
                    out.remove(0)
                } else {
                    Value::array(out)
                });
            }
            Type::Resource(None, _) => {
                let tn = match args.first() {
                    Some(Value::Str(s)) => capitalize_type_name(s),
                    Some(Value::Type(t)) => match t.resolved() {
                        Type::Resource(Some(n), None) => n.clone(),
                        Type::Class(None) => "Class".to_string(),
                        _ => return self.resource_first_arg_error(&args, e),
                    },
                    _ => return self.resource_first_arg_error(&args, e),
                };
                if args.len() == 1 {
                    return Ok(Value::ty(Type::Resource(Some(tn), None)));
                }
                if tn == "Class" {
                    return self.parameterize(&Type::Class(None), args[1..].to_vec(), e);
                }
                return self.resource_refs(&tn, &args[1..], ("Resource", 0), e);
            }
            Type::Resource(Some(tn), None) => {
                return self.resource_refs(&tn, &args, (&tn, 0), e);
            }
            Type::Resource(Some(tn), Some(title)) => {
                return self.resource_attributes(&tn, &title, &args, e);
            }
            // `Class[x]['param']`: the declared class's parameter.
            Type::Class(Some(name)) => {
                return self.resource_attributes("Class", &name, &args, e);
            }
            Type::Init => match args.split_first() {
                Some((t, rest)) => Type::InitOf(Box::new(self.type_arg(t, e)?), rest.to_vec()),
                None => Type::Init,
            },
            // `Runtime[ruby, 'Name']` (Puppet flattens the arguments first).
            Type::Runtime => {
                let flat = flatten(&args);
                let name = |v: &Value| match v {
                    Value::Str(s) => Some(s.to_string()),
                    _ => None,
                };
                match flat.as_slice() {
                    [] => Type::Runtime,
                    [r] | [r, Value::Undef] if name(r).is_some() => {
                        Type::RuntimeOf(name(r).unwrap_or_default(), None)
                    }
                    [r, n] if name(r).is_some() && name(n).is_some() => {
                        Type::RuntimeOf(name(r).unwrap_or_default(), name(n))
                    }
                    [_] | [_, _] => base,
                    more => {
                        return self.err(
                            format!(
                                "A Runtime-Type[] accepts 1 to 2 arguments. Got {}",
                                more.len()
                            ),
                            e,
                        )
                    }
                }
            }
            Type::Callable | Type::Object | Type::Iterable | Type::Iterator => base,
            Type::Timespan(..) | Type::Timestamp(..) => {
                let stamp = matches!(base, Type::Timestamp(..));
                match troupe_values::time_range::range(stamp, &args) {
                    Ok((a, b)) if stamp => Type::Timestamp(a, b),
                    Ok((a, b)) => Type::Timespan(a, b),
                    Err(m) => return self.err(m, e),
                }
            }
            Type::SemVer
            | Type::SemVerRange
            | Type::Deferred
            | Type::Binary
            | Type::Uri
            | Type::Error => base,
            _ => return self.err(format!("{} is not a parameterizable type", t), e),
        };
        Ok(Value::ty(ty))
    }

    /// `T[titles]`; a title of the wrong type is reported as a specialization of `base.0`,
    /// at key `base.1 + i` (Puppet blames `Resource[t, 0]`'s title error on the key `t`).
    pub(crate) fn resource_refs(
        &mut self,
        tn: &str,
        args: &[Value],
        base: (&str, usize),
        e: &Expr,
    ) -> EResult<Value> {
        let mut out = Vec::new();
        for (i, a) in flatten(args).into_iter().enumerate() {
            match &a {
                Value::Str(s) => out.push(Value::ty(Type::Resource(
                    Some(tn.to_string()),
                    Some(s.to_string()),
                ))),
                Value::Type(t) => {
                    if let Type::Resource(Some(_), Some(title)) = t.resolved() {
                        out.push(Value::ty(Type::Resource(
                            Some(tn.to_string()),
                            Some(title.clone()),
                        )))
                    }
                }
                // Undef titles are dropped (Puppet compacts them).
                Value::Undef => {}
                _ => {
                    return self.specialization_error(
                        base.0,
                        &a,
                        "a resource title String",
                        base.1 + i,
                        e,
                    )
                }
            }
        }
        // An array of titles gives an array of references, even of one.
        let as_array = args.len() > 1 || args.iter().any(|a| matches!(a, Value::Array(_)));
        if out.is_empty() && !args.is_empty() {
            return Ok(self.no_reference_args(as_array, e));
        }
        Ok(if out.len() == 1 && !as_array {
            out.remove(0)
        } else {
            Value::array(out)
        })
    }
}

impl Evaluator<'_> {
    /// `Resource[...]` whose keys are all empty or undef: Puppet warns, and answers an empty
    /// Array (keys given as an array) or undef.
    pub(crate) fn no_reference_args(&mut self, as_array: bool, e: &Expr) -> Value {
        let l = self.loc_e(e);
        self.warn(format!(
            "Arguments to Resource[] are all empty/undefined {l}"
        ));
        if as_array {
            Value::array(vec![])
        } else {
            Value::Undef
        }
    }
}
