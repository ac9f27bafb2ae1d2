//! Catalog statements as functions: `include`, `contain`, `require`, `realize`, `tag`,
//! `tagged`, `defined`, `create_resources`.

use crate::code::LoadKind;
use crate::functions::args::arity;
use crate::functions::args::str_arg;
use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::Type;
use troupe_values::value::flatten;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// `include`, `contain`, `require`.
pub(crate) fn include(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let loc = ev.loc(e);
    let mut refs = Vec::new();
    for a in flatten(&args) {
        let n = match &a {
                        Value::Str(s) => s.to_string(),
                        Value::Undef => return Err(EvalError::new("Cannot use undef as a class name")),
                        Value::Type(t) => match t.resolved() {
                            Type::Class(Some(n)) => n.clone(),
                            Type::Resource(Some(tn), Some(t)) if tn == "Class" => t.clone(),
                            Type::Resource(Some(n), None) => n.to_lowercase(),
                            _ => return Err(EvalError::new("Cannot use a Type value as a class name")),
                        },
                        other => return Err(EvalError::new(format!("'{name}' parameter 'names' expects a value of type String, Class[Name], or Array, got {}", troupe_values::types::infer_for_message(other)))),
                    };
        if n.is_empty() {
            return Err(EvalError::new("Cannot use empty string as a class name"));
        }
        let idx = ev.declare_class(&n, loc.clone())?;
        let title = ev.resource(idx).title.clone();
        refs.push(Value::ty(Type::Class(Some(title.to_lowercase()))));
        if name == "contain" {
            if let Some(container) = ev.scope_resource() {
                ev.add_edge(container, idx);
            }
        }
        if name == "require" {
            // The requiring scope's resource gets `require => Class[x]`.
            if let Some(container) = ev.scope_resource() {
                let entry = ev.resource(container).params.get("require").cloned();
                let mut arr = match &entry {
                    Some(Value::Array(a)) => (**a).clone(),
                    Some(v) => vec![v.clone()],
                    None => vec![],
                };
                arr.push(Value::ty(Type::Class(Some(title.to_lowercase()))));
                ev.resource_mut(container)
                    .params
                    .insert("require".into(), Value::array(arr));
            }
        }
    }
    // Puppet 7's `include`, `contain` and `require` answer the classes' references.
    Ok(Value::array(refs))
}

/// `realize`.
pub(crate) fn realize(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    ev.realize(&args, e)?;
    Ok(Value::Undef)
}

/// `tag`.
pub(crate) fn tag(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    if let Some(r) = ev.scope_resource() {
        for t in flatten(&args) {
            ev.resource_mut(r).tag_with_segments(&t.to_display());
        }
    }
    Ok(Value::Undef)
}

/// `tagged`.
pub(crate) fn tagged(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let tags = ev
        .scope_resource()
        .map(|r| ev.resource(r).tags.clone())
        .unwrap_or_default();
    Ok(Value::Bool(
        flatten(&args)
            .iter()
            .all(|t| tags.contains(&t.to_display().to_lowercase())),
    ))
}

/// `defined`.
pub(crate) fn defined(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, usize::MAX)?;
    let all_types =
        || EvalError::new("The given resource type is a reference to all kind of types");
    let all_classes = || EvalError::new("The given class type is a reference to all classes");
    for a in &args {
        let found = match a {
            Value::Str(s) if s.starts_with('$') => ev.var_defined(&s[1..]),
            Value::Str(s) if s.is_empty() => false,
            Value::Str(s) if &**s == "main" => true,
            Value::Str(s) => core_type_or_def(ev, s.trim_start_matches("::"))?,
            Value::Type(t) => match t.resolved() {
                Type::Resource(None, _) => return Err(all_types()),
                Type::Class(None) => return Err(all_classes()),
                Type::Resource(Some(tn), Some(title)) => ev.find_resource(tn, title).is_some(),
                Type::Class(Some(n)) => ev.find_resource("Class", n).is_some(),
                Type::Resource(Some(tn), None) => resource_type(ev, tn)?,
                Type::Type(Some(inner)) => match inner.resolved() {
                    Type::Resource(None, _) => return Err(all_types()),
                    Type::Class(None) => return Err(all_classes()),
                    Type::Resource(Some(tn), Some(title)) => ev.find_resource(tn, title).is_some(),
                    Type::Resource(Some(tn), None) => resource_type(ev, tn)?,
                    Type::Class(Some(n)) => ev.find_class(n)?.is_some(),
                    _ => false,
                },
                _ => true,
            },
            _ => return Err(EvalError::new("'defined' parameter 'vals' expects a value of type String, Type[CatalogEntry], or Type[Type], got ".to_string() + &troupe_values::types::infer_for_message(a))),
        };
        if found {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// `create_resources`.
pub(crate) fn create_resources(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 2, 3)?;
    let tn = str_arg(name, &args[0], 1)?.to_string();
    let Value::Hash(h) = &args[1] else {
        return Err(EvalError::new(
            "create_resources(): second argument must be a hash",
        ));
    };
    let defaults = match args.get(2) {
        Some(Value::Hash(d)) => (**d).clone(),
        _ => Map::default(),
    };
    ev.create_resources(&tn, h, &defaults, e)?;
    Ok(Value::Undef)
}
/// A resource type: built in, or a defined type (not a class).
fn resource_type(ev: &mut dyn Host, n: &str) -> EResult<bool> {
    let lc = n.to_lowercase();
    Ok(crate::catalog::schema::core_type(&lc).is_some() || ev.find_define(&lc)?.is_some())
}
fn core_type_or_def(ev: &mut dyn Host, n: &str) -> EResult<bool> {
    let lc = n.to_lowercase();
    if crate::catalog::schema::core_type(&lc).is_some() {
        return Ok(true);
    }
    Ok(ev.find_class(&lc)?.is_some()
        || ev.find_define(&lc)?.is_some()
        || ev.find_def(LoadKind::Function, &lc)?.is_some())
}
