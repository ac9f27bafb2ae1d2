//! Templates: `epp`, `inline_epp`, `template` (ERB), `inline_template` and `file`.

use crate::code::Code;
use crate::lang::eval::Evaluator;
use crate::lang::scope::ScopeKind;
use std::path::PathBuf;
use std::sync::Arc;
use troupe_syntax::ast::{Expr, ExprKind};
use troupe_values::error::{EResult, EvalError, Flow};
use troupe_values::value::Value;

/// `mod/path` → `<modulepath>/mod/<kind>/path`.
pub fn module_file(ev: &Evaluator<'_>, spec: &str, kind: &str) -> Option<PathBuf> {
    let (module, rest) = spec.split_once('/')?;
    let dir = ev.env.module_dir(module)?;
    let p = dir.join(kind).join(rest);
    ev.env.read(&p).map(|_| p)
}

fn render_epp(
    ev: &mut Evaluator<'_>,
    code: Arc<Code>,
    args: Option<&Value>,
    global_only: bool,
    fname: &str,
) -> EResult<Value> {
    let path = code.source.path.clone();
    ev.in_frame("template", &path, |ev| {
        render_epp_in_frame(ev, code, args, global_only, fname)
    })
}

fn render_epp_in_frame(
    ev: &mut Evaluator<'_>,
    code: Arc<Code>,
    args: Option<&Value>,
    global_only: bool,
    fname: &str,
) -> EResult<Value> {
    let ExprKind::Epp { params, body } = &code.program.kind else {
        return Err(EvalError::new(format!(
            "{fname}(): the parser did not produce an EppExpression"
        )));
    };
    let saved_cur = ev.cur;
    let sid = if global_only {
        ev.new_scope(ScopeKind::Isolated, Some(ev.top), None)
    } else {
        ev.cur
    };
    let saved_src = std::mem::replace(&mut ev.src, code.source.clone());
    let depth = ev.scopes[sid].tables.len();
    ev.scopes[sid].tables.push(Default::default());
    ev.cur = sid;
    let r = (|| -> EResult<String> {
        let mut given = troupe_values::value::Map::new();
        if let Some(Value::Hash(h)) = args {
            given = (**h).clone();
        }
        match params {
            Some(ps) => {
                for (k, _) in given.iter() {
                    let k = k.to_display();
                    if !ps.iter().any(|p| p.name == k) {
                        return Err(EvalError::new(format!(
                            "lambda: has no parameter named '{k}'"
                        )));
                    }
                }
                for p in ps {
                    let v = match given.get(&Value::str(p.name.as_str())) {
                        Some(v) => v.clone(),
                        None => match &p.default {
                            Some(d) => ev.eval(d)?,
                            None => {
                                return Err(EvalError::new(format!(
                                    "lambda: expects a value for parameter '{}'",
                                    p.name
                                )))
                            }
                        },
                    };
                    if let Some(te) = &p.type_expr {
                        if let Value::Type(t) = &ev.eval(te)? {
                            if !t.is_instance(&v) {
                                let m = troupe_values::describe::mismatch(
                                    &format!("parameter '{}'", p.name),
                                    t,
                                    &v,
                                );
                                return Err(EvalError::new(format!("lambda: {m}")));
                            }
                        }
                    }
                    let cur = ev.cur;
                    ev.scopes[cur]
                        .tables
                        .last_mut()
                        .map(|t| t.vars.insert(p.name.clone(), v));
                }
            }
            None => {
                for (k, v) in given.iter() {
                    let cur = ev.cur;
                    ev.scopes[cur]
                        .tables
                        .last_mut()
                        .map(|t| t.vars.insert(k.to_display(), v.clone()));
                }
            }
        }
        ev.render.push(String::new());
        let r = match body {
            Some(b) => ev.eval(b),
            None => Ok(Value::Undef),
        };
        let out = ev.render.pop().unwrap_or_default();
        match r {
            Ok(_)
            | Err(EvalError {
                flow: Some(Flow::Return(_)),
                ..
            }) => Ok(out),
            Err(e) => Err(e),
        }
    })();
    ev.scopes[sid].tables.truncate(depth);
    ev.cur = saved_cur;
    ev.src = saved_src;
    r.map(Value::str)
}

pub fn epp_function(ev: &mut Evaluator<'_>, args: &[Value], _e: &Expr) -> EResult<Value> {
    let spec = match args.first() {
        Some(Value::Str(s)) => s.to_string(),
        _ => {
            return Err(EvalError::new(
                "'epp' parameter 'path' expects a String value",
            ))
        }
    };
    let Some(path) = module_file(ev, &spec, "templates") else {
        return Err(EvalError::new(format!("Could not find template '{spec}'")));
    };
    let code = ev.env.epp(&path)?;
    render_epp(ev, code, args.get(1), true, "epp")
}

pub fn inline_epp_function(ev: &mut Evaluator<'_>, args: &[Value], _e: &Expr) -> EResult<Value> {
    let text = match args.first() {
        Some(Value::Str(s)) => s.to_string(),
        _ => {
            return Err(EvalError::new(
                "'inline_epp' parameter 'template' expects a String value",
            ))
        }
    };
    let code = ev.env.inline_epp(&text)?;
    render_epp(ev, code, args.get(1), false, "inline_epp")
}

pub fn template_function(ev: &mut Evaluator<'_>, args: &[Value], _e: &Expr) -> EResult<Value> {
    let mut out = String::new();
    for a in args {
        let path = find_template(ev, &a.to_display())?;
        let text = ev.env.read(&path).unwrap_or_default();
        out.push_str(&ev.render_erb(&text, &path.display().to_string())?);
    }
    Ok(Value::str(out))
}

/// datacat's `template_body`: the templates' text, unrendered, joined.
pub fn template_body_function(ev: &mut Evaluator<'_>, args: &[Value]) -> EResult<Value> {
    let mut out = String::new();
    for a in troupe_values::value::flatten(args) {
        let path = find_template(ev, &a.to_display())?;
        out.push_str(&ev.env.read(&path).unwrap_or_default());
    }
    Ok(Value::str(out))
}

/// A template by `module/file` (under the module's `templates/`) or absolute path.
fn find_template(ev: &Evaluator<'_>, spec: &str) -> EResult<PathBuf> {
    module_file(ev, spec, "templates")
        .or_else(|| {
            let p = PathBuf::from(spec);
            (p.is_absolute() && ev.env.read(&p).is_some()).then_some(p)
        })
        .ok_or_else(|| EvalError::new(format!("Could not find template '{spec}'")))
}

pub fn inline_template_function(
    ev: &mut Evaluator<'_>,
    args: &[Value],
    _e: &Expr,
) -> EResult<Value> {
    let mut out = String::new();
    for a in args {
        out.push_str(&ev.render_erb(&a.to_display(), "inline template")?);
    }
    Ok(Value::str(out))
}

/// `binary_file('mod/name')`: a module's file (or an absolute path) as a Binary.
pub fn binary_file_function(ev: &mut Evaluator<'_>, args: &[Value]) -> EResult<Value> {
    let spec = match args {
        [Value::Str(s)] => s.to_string(),
        _ => {
            return Err(EvalError::new(format!(
                "'binary_file' expects 1 argument of type String, got {}",
                args.len()
            )))
        }
    };
    let p = PathBuf::from(&spec);
    let path = if p.is_absolute() {
        Some(p)
    } else {
        module_file(ev, &spec, "files")
    };
    match path.and_then(|p| ev.env.read_bytes(&p)) {
        Some(b) => Ok(Value::Binary(b.into())),
        None => Err(EvalError::new(format!(
            "binary_file(): The given file '{spec}' does not exist"
        ))),
    }
}

pub fn file_function(ev: &mut Evaluator<'_>, args: &[Value]) -> EResult<Value> {
    for a in args {
        let spec = a.to_display();
        let p = PathBuf::from(&spec);
        let path = if p.is_absolute() {
            Some(p)
        } else {
            module_file(ev, &spec, "files")
        };
        if let Some(path) = path {
            if let Some(t) = ev.env.read(&path) {
                return Ok(Value::str(&*t));
            }
        }
    }
    let names: Vec<String> = args.iter().map(|a| a.to_display()).collect();
    Err(EvalError::new(format!(
        "Could not find any files from {}",
        names.join(", ")
    )))
}
