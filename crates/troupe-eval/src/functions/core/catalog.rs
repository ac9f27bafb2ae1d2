//! Catalog statements as functions: `include`, `contain`, `require`, `realize`, `tag`,
//! `tagged`, `defined`, `create_resources`.

use crate::code::LoadKind;
use crate::functions::args::arity;
use crate::functions::args::str_arg;
use crate::lang::eval::Evaluator;
use indexmap::IndexMap;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::capitalize_type_name;
use troupe_values::types::Type;
use troupe_values::value::flatten;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// `include`, `contain`, `require`.
pub(crate) fn include(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let loc = ev.loc_e(e);
    let mut refs = Vec::new();
    for a in flatten(&args) {
        let n = match &a {
                        Value::Str(s) => s.to_string(),
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
        let idx = ev.declare_class(&n, None, None, loc.clone(), "Function Call")?;
        let title = ev.res[idx].title.clone();
        refs.push(Value::ty(Type::Class(Some(title.to_lowercase()))));
        if name == "contain" {
            let cur = ev.cur;
            if let Some(container) = ev.scopes[cur].resource {
                ev.add_edge(container, idx);
            }
        }
        if name == "require" {
            // The requiring scope's resource gets `require => Class[x]`.
            let cur = ev.cur;
            if let Some(container) = ev.scopes[cur].resource {
                let entry = ev.res[container].params.get("require").cloned();
                let mut arr = match &entry {
                    Some(Value::Array(a)) => (**a).clone(),
                    Some(v) => vec![v.clone()],
                    None => vec![],
                };
                arr.push(Value::ty(Type::Class(Some(title.to_lowercase()))));
                ev.res[container]
                    .params
                    .insert("require".into(), Value::array(arr));
            }
        }
    }
    Ok(if name == "include" {
        Value::Undef
    } else {
        Value::array(refs)
    })
}

/// `realize`.
pub(crate) fn realize(
    ev: &mut Evaluator<'_>,
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
    ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let cur = ev.cur;
    if let Some(r) = ev.scopes[cur].resource {
        for t in flatten(&args) {
            ev.res[r].tag_with_segments(&t.to_display());
        }
    }
    Ok(Value::Undef)
}

/// `tagged`.
pub(crate) fn tagged(
    ev: &mut Evaluator<'_>,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let cur = ev.cur;
    let tags = ev.scopes[cur]
        .resource
        .map(|r| ev.res[r].tags.clone())
        .unwrap_or_default();
    Ok(Value::Bool(
        flatten(&args)
            .iter()
            .all(|t| tags.contains(&t.to_display().to_lowercase())),
    ))
}

/// `defined`.
pub(crate) fn defined(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    arity(name, &args, 1, usize::MAX)?;
    for a in &args {
        let found = match a {
                        Value::Str(s) if s.starts_with('$') => {
                            let vn = &s[1..];
                            ev.var_defined(vn)
                        }
                        Value::Str(s) => {
                            let n = s.trim_start_matches("::");
                            core_type_or_def(ev, n)?
                        }
                        Value::Type(t) => match t.resolved() {
                            Type::Resource(Some(tn), Some(title)) => ev.find_resource(tn, title).is_some(),
                            Type::Class(Some(n)) => ev.find_resource("Class", n).is_some(),
                            Type::Resource(Some(tn), None) => core_type_or_def(ev, tn)?,
                            Type::Type(Some(inner)) => match inner.resolved() {
                                Type::Resource(Some(tn), None) => core_type_or_def(ev, tn)?,
                                Type::Class(Some(n)) => ev.find_class(n)?.is_some(),
                                _ => true,
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
    ev: &mut Evaluator<'_>,
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
        _ => Map::new(),
    };
    ev.create_resources(&tn, h, &defaults, e)?;
    Ok(Value::Undef)
}
fn core_type_or_def(ev: &mut Evaluator<'_>, n: &str) -> EResult<bool> {
    let lc = n.to_lowercase();
    if crate::catalog::schema::core_type(&lc).is_some() {
        return Ok(true);
    }
    Ok(ev.find_class(&lc)?.is_some()
        || ev.find_define(&lc)?.is_some()
        || ev.find_def(LoadKind::Function, &lc)?.is_some())
}

impl Evaluator<'_> {
    pub(crate) fn create_resources(
        &mut self,
        tn: &str,
        h: &Map,
        defaults: &Map,
        e: &Expr,
    ) -> EResult<()> {
        let lc = tn.trim_start_matches("::").to_lowercase();
        let (form, lc) = if let Some(x) = lc.strip_prefix("@@") {
            (troupe_syntax::ast::ResourceForm::Exported, x.to_string())
        } else if let Some(x) = lc.strip_prefix('@') {
            (troupe_syntax::ast::ResourceForm::Virtual, x.to_string())
        } else {
            (troupe_syntax::ast::ResourceForm::Regular, lc)
        };
        let loc = self.loc_e(e);
        for (title, attrs) in h.iter() {
            let mut params: IndexMap<String, Value> = IndexMap::new();
            for (k, v) in defaults.iter() {
                params.insert(k.to_display(), v.clone());
            }
            if let Value::Hash(a) = attrs {
                for (k, v) in a.iter() {
                    params.insert(k.to_display(), v.clone());
                }
            }
            if lc == "class" {
                self.declare_class(
                    &title.to_display(),
                    Some(params),
                    Some(loc.line),
                    loc.clone(),
                    "Function Call",
                )?;
                continue;
            }
            let info = match self.resource_type_info(&lc)? {
                Some(i) => i,
                None => return Err(EvalError::new(format!("Unknown resource type: '{lc}'"))),
            };
            let ops: Vec<(String, bool, Value, troupe_values::error::Loc)> = params
                .into_iter()
                .map(|(k, v)| (k, false, v, loc.clone()))
                .collect();
            let type_name = capitalize_type_name(&lc);
            let t = title.to_display();
            let idx = self.create_resource(&type_name, &t, &info, &ops, form, loc.line)?;
            if !matches!(title, Value::Str(_)) {
                // A title that is not a String (an Integer key): Puppet keeps it as it is, so it
                // is no tag, and the name it sets no longer equals the title and shows in the
                // catalog.
                self.res[idx].name_param = true;
                self.res[idx].tags.retain(|x| *x != t);
            }
        }
        Ok(())
    }
}
