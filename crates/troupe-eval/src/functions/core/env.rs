//! The node's environment: `getvar`, `generate`, `module_directory`, `find_file`.

use crate::functions::host::Host;
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::flatten;
use troupe_values::value::Value;

/// `find_file`, `find_template`.
pub(crate) fn find_file(
    ev: &mut dyn Host,
    name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let kind = if name == "find_file" {
        "files"
    } else {
        "templates"
    };
    for a in flatten(&args) {
        let spec = a.to_display();
        let p = std::path::PathBuf::from(&spec);
        if p.is_absolute() {
            if ev.env().read(&p).is_some() {
                return Ok(Value::str(spec));
            }
        } else if let Some(p) = crate::functions::templates::module_file(ev, &spec, kind) {
            return Ok(Value::str(p.display().to_string()));
        }
    }
    Ok(Value::Undef)
}

/// `generate`.
pub(crate) fn generate(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    let argv: Vec<String> = flatten(&args).iter().map(|a| a.to_display()).collect();
    let cmd = argv.first().cloned().unwrap_or_default();
    if !cmd.starts_with('/') {
        return Err(EvalError::new("Generators must be fully qualified"));
    }
    if !cmd
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '_' | '.' | '+'))
    {
        return Err(EvalError::new(
            "Generators can only contain alphanumerics, file separators, and dashes",
        ));
    }
    if cmd.contains("..") {
        return Err(EvalError::new("Can not use generators with '..' in them."));
    }
    ev.env()
        .generate(&argv)
        .map(Value::str)
        .map_err(|detail| EvalError::new(format!("Failed to execute generator {cmd}: {detail}")))
}

/// `module_directory`.
pub(crate) fn module_directory(
    ev: &mut dyn Host,
    _name: &str,
    args: Vec<Value>,
    _lambda: Option<&Lambda>,
    _e: &Expr,
) -> EResult<Value> {
    for a in flatten(&args) {
        if let Some(d) = ev.env().module_dir(&a.to_display()) {
            return Ok(Value::str(d.display().to_string()));
        }
    }
    Ok(Value::Undef)
}
