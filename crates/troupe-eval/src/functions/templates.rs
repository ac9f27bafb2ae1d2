//! Templates and files: `epp`, `inline_epp`, `template` (ERB), `inline_template`, `file` and
//! `binary_file`, in the registry's function shape.

use crate::functions::host::Host;
use std::path::PathBuf;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// `mod/path` → `<modulepath>/mod/<kind>/path`.
pub fn module_file(ev: &dyn Host, spec: &str, kind: &str) -> Option<PathBuf> {
    let (module, rest) = spec.split_once('/')?;
    let dir = ev.env().module_dir(module)?;
    let p = dir.join(kind).join(rest);
    ev.env().read(&p).map(|_| p)
}

/// `epp`.
pub(crate) fn epp(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = args.as_slice();
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
    let code = ev.env().epp(&path).map_err(|e| invalid_epp("epp", e))?;
    if let troupe_syntax::ast::ExprKind::Epp {
        params: Some(ps), ..
    } = &code.program.kind
    {
        if let Some(p) = ps.iter().find(|p| p.captures_rest) {
            let lc = code.source.line_col(p.span.lo);
            return Err(EvalError::new(format!(
                "epp(): Invalid EPP: Parameter ${} has 'captures rest' - not supported in an Epp Template (file: {}, line: {}, column: {})",
                p.name, code.source.path, lc.line, lc.col
            )));
        }
    }
    let given = given_args(&code, args.get(1));
    ev.render_epp(code, given.as_ref(), true, "epp")
}

/// A template's arguments as Puppet binds them: an undef argument for a parameter with a
/// default leaves the default.
fn given_args(code: &crate::code::Code, args: Option<&Value>) -> Option<Value> {
    let (
        troupe_syntax::ast::ExprKind::Epp {
            params: Some(ps), ..
        },
        Some(Value::Hash(h)),
    ) = (&code.program.kind, args)
    else {
        return args.cloned();
    };
    let defaulted = |k: &Value| matches!(k, Value::Str(k) if ps.iter().any(|p| p.default.is_some() && p.name == **k));
    if !h.iter().any(|(k, v)| v.is_undef() && defaulted(k)) {
        return args.cloned();
    }
    Some(Value::hash(
        h.iter()
            .filter(|(k, v)| !(v.is_undef() && defaulted(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// A template that does not parse, as Puppet reports it: located at the call, with the
/// parser's message and its place in the template.
fn invalid_epp(fname: &str, e: EvalError) -> EvalError {
    let msg = match e.msg.strip_prefix("Could not parse for environment ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, m)| m).to_string(),
        None => e.msg.clone(),
    };
    let msg = match &e.loc {
        Some(l) => format!("{msg} {l}"),
        None => msg,
    };
    EvalError::new(format!("{fname}(): Invalid EPP: {msg}"))
}

/// `inline_epp`.
pub(crate) fn inline_epp(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = args.as_slice();
    let text = match args.first() {
        Some(Value::Str(s)) => s.to_string(),
        _ => {
            return Err(EvalError::new(
                "'inline_epp' parameter 'template' expects a String value",
            ))
        }
    };
    let code = ev
        .env()
        .inline_epp(&text)
        .map_err(|e| invalid_epp("inline_epp", e))?;
    let given = given_args(&code, args.get(1));
    ev.render_epp(code, given.as_ref(), false, "inline_epp")
}

/// `template` (ERB files).
pub(crate) fn template(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = args.as_slice();
    let mut out = String::new();
    for a in args {
        let name = a.to_display();
        let path = find_template(ev, &name)?;
        let text = ev.env().read(&path).unwrap_or_default();
        let file = path.display().to_string();
        // Puppet names the template as it was asked for, then its path.
        let rendered = ev.render_erb(&text, &file).map_err(|mut e| {
            e.msg = e.msg.replacen(
                &format!("Failed to parse template {file}:"),
                &format!("Failed to parse template {name}:"),
                1,
            );
            e
        })?;
        out.push_str(&rendered);
    }
    Ok(Value::str(out))
}

/// datacat's `template_body`: the templates' text, unrendered, joined.
pub fn template_body_function(ev: &mut dyn Host, args: &[Value]) -> EResult<Value> {
    let mut out = String::new();
    for a in troupe_values::value::flatten(args) {
        let path = find_template(ev, &a.to_display())?;
        out.push_str(&ev.env().read(&path).unwrap_or_default());
    }
    Ok(Value::str(out))
}

/// A template by `module/file` (under the module's `templates/`) or absolute path.
fn find_template(ev: &dyn Host, spec: &str) -> EResult<PathBuf> {
    module_file(ev, spec, "templates")
        .or_else(|| {
            let p = PathBuf::from(spec);
            (p.is_absolute() && ev.env().read(&p).is_some()).then_some(p)
        })
        .ok_or_else(|| EvalError::new(format!("Could not find template '{spec}'")))
}

/// `inline_template`.
pub(crate) fn inline_template(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = args.as_slice();
    let mut out = String::new();
    for a in args {
        out.push_str(&ev.render_erb(&a.to_display(), "inline template")?);
    }
    Ok(Value::str(out))
}

/// `binary_file('mod/name')`: a module's file (or an absolute path) as a Binary.
/// `binary_file`.
pub(crate) fn binary_file(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = args.as_slice();
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
    match path.and_then(|p| ev.env().read_bytes(&p)) {
        Some(b) => Ok(Value::Binary(b.into())),
        None => Err(EvalError::new(format!(
            "binary_file(): The given file '{spec}' does not exist"
        ))),
    }
}

/// `file`.
pub(crate) fn file(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let args = args.as_slice();
    for a in args {
        let spec = a.to_display();
        let p = PathBuf::from(&spec);
        let path = if p.is_absolute() {
            Some(p)
        } else {
            module_file(ev, &spec, "files")
        };
        if let Some(path) = path {
            if let Some(t) = ev.env().read(&path) {
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
