//! Module functions that exist only in Ruby: called in a warm Ruby helper
//! (`troupe-rubyhost`), which runs the module's own file with Puppet's function API. What
//! the Ruby code asks back (another function, a lambda, a variable, a resource) is answered
//! here by the compile, through [`Host`]; a function it calls that is itself Ruby-only comes
//! back here and goes out again as a nested request on the same helper.
//!
//! May call: `troupe-rubyhost`, `wire` (values as rich data), and the compile through
//! [`Host`]. Native stand-ins stay the fast path: `lang::call` comes here only when the
//! registry has no version of the function.

mod wire;

use crate::functions::host::Host;
use serde_json::{json, Map as JMap, Value as J};
use std::path::Path;
use std::rc::Rc;
use troupe_rubyhost::{Callbacks, Failure, Session};
use troupe_syntax::ast::{Expr, Lambda};
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::Value;

/// The environment as the helper loads it: its name and modulepath (absolute: Puppet's
/// autoloader wants absolute directories).
fn env_spec(host: &dyn Host) -> J {
    let env = host.env();
    let modulepath: Vec<String> = env
        .modulepath()
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    let dir = std::path::absolute(env.dir()).unwrap_or_else(|_| env.dir());
    json!({"name": env.name(), "modulepath": modulepath, "dir": dir.display().to_string()})
}

/// Calls the module Ruby function `name` (defined in `file`) in the Ruby helper.
pub(crate) fn call(
    host: &mut dyn Host,
    name: &str,
    legacy: bool,
    file: &Path,
    args: Vec<Value>,
    lambda: Option<&Lambda>,
    e: &Expr,
) -> EResult<Value> {
    let mut req = JMap::new();
    req.insert("kind".into(), json!(if legacy { "3x" } else { "4x" }));
    req.insert("name".into(), json!(name));
    req.insert("file".into(), json!(file.display().to_string()));
    req.insert("args".into(), wire::encode_all(&args));
    req.insert("lambda".into(), json!(lambda.map(|l| l.params.len())));
    let what = || format!("{name} ({})", file.display());
    let v = send(host, "call", req, lambda, e, &what).map_err(|(err, _)| err)?;
    wire::decode(host, &v)
}

/// Renders an ERB template in the Ruby helper with Puppet's own template wrapper: every
/// variable the current scope sees is an instance variable, and `scope` answers from the
/// compile. For the templates troupe's own interpreter cannot render. A Ruby error comes
/// back as its message and the template line it was raised at.
pub(crate) fn render_erb(
    host: &mut dyn Host,
    src: &str,
    file: &str,
    e: &Expr,
) -> Result<String, (EvalError, Option<u64>)> {
    let mut req = JMap::new();
    req.insert("file".into(), json!(file));
    req.insert("source".into(), json!(src));
    let vars = host.visible_vars();
    req.insert("vars".into(), wire::encode(&Value::hash(vars)));
    let what = || format!("The template {file}");
    match send(host, "erb", req, None, e, &what)? {
        J::String(s) => Ok(s),
        other => Err((
            EvalError::new(format!(
                "the template {file} rendered to {other}, not a string"
            )),
            None,
        )),
    }
}

/// A module's resource type as Puppet's Ruby builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RubyType {
    /// Its parameters and properties (metaparameters not included).
    pub attributes: Vec<String>,
    /// Its namevars (`key_attributes`), in declaration order.
    pub key_attributes: Vec<String>,
    /// Its `title_patterns`: a regular expression and the attribute each capture sets.
    pub title_patterns: Vec<(String, Vec<String>)>,
}

/// Asks the Ruby helper for the resource type `name` that `file` defines. `Ok(None)` when
/// no helper is configured or Puppet does not find the type.
pub(crate) fn type_info(
    host: &mut dyn Host,
    name: &str,
    file: &Path,
    e: &Expr,
) -> EResult<Option<RubyType>> {
    if host.env().ruby().is_none() {
        return Ok(None);
    }
    let mut req = JMap::new();
    req.insert("name".into(), json!(name));
    req.insert("file".into(), json!(file.display().to_string()));
    let what = || format!("The resource type {name} ({})", file.display());
    let key = format!("type {name}");
    let j = match host.env().ruby_answer(&key, file) {
        Some(j) => j,
        None => {
            let j = send(host, "type", req, None, e, &what).map_err(|(err, _)| err)?;
            host.env().keep_ruby_answer(&key, file, &j);
            j
        }
    };
    let strings = |v: &J| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(J::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    if j.is_null() {
        return Ok(None);
    }
    Ok(Some(RubyType {
        attributes: strings(&j["attributes"]),
        key_attributes: strings(&j["key_attributes"]),
        title_patterns: j["title_patterns"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| Some((p[0].as_str()?.to_string(), strings(&p[1]))))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// Sends one request (`op` with `req`'s fields, in this compile's environment), holding a
/// helper for the outermost request of a chain. A Ruby error comes back with the line it
/// was raised at.
fn send(
    host: &mut dyn Host,
    op: &str,
    mut req: JMap<String, J>,
    lambda: Option<&Lambda>,
    e: &Expr,
    what: &dyn Fn() -> String,
) -> Result<J, (EvalError, Option<u64>)> {
    req.insert("op".into(), json!(op));
    req.insert("env".into(), env_spec(host));
    let no_line = |err: EvalError| (err, None);
    let outermost = host.ruby_session().is_none();
    if outermost {
        let Some(pool) = host.env().ruby() else {
            return Err(no_line(EvalError::new(format!(
                "{} is written in Ruby, and this compile has no Ruby helper",
                what()
            ))));
        };
        let s = pool.session().map_err(|f| {
            no_line(EvalError::new(format!(
                "{} is written in Ruby, and {f}",
                what()
            )))
        })?;
        *host.ruby_session() = Some(Rc::new(s));
    }
    let Some(session) = host.ruby_session().clone() else {
        return Err(no_line(EvalError::new("the Ruby helper session was lost")));
    };
    let mut answers = Answers {
        host: &mut *host,
        lambda,
        call: e,
        passed: None,
    };
    let r = session.request(req, &mut answers);
    let passed = answers.passed.take();
    drop(session);
    if outermost {
        *host.ruby_session() = None;
    }
    match r {
        Ok(v) => Ok(v),
        // Troupe's own error, passed through Ruby unchanged: keep its location.
        Err(Failure::Raised {
            remote: true,
            message,
            ..
        }) if passed.as_ref().is_some_and(|p| p.msg == message) => {
            Err(no_line(passed.unwrap_or_else(|| EvalError::new(message))))
        }
        Err(Failure::Raised { message, line, .. }) => Err((EvalError::new(message), line)),
        Err(Failure::Helper(m)) => Err(no_line(EvalError::new(format!(
            "{} is written in Ruby, and {m}",
            what()
        )))),
    }
}

/// The compile's answers to the helper's callbacks.
struct Answers<'a> {
    host: &'a mut dyn Host,
    lambda: Option<&'a Lambda>,
    call: &'a Expr,
    /// The last error troupe answered with, to give back unchanged if Ruby re-raises it.
    passed: Option<EvalError>,
}

impl Answers<'_> {
    fn args(&mut self, msg: &JMap<String, J>) -> EResult<Vec<Value>> {
        match msg.get("args") {
            Some(J::Array(a)) => a.iter().map(|x| wire::decode(self.host, x)).collect(),
            _ => Ok(Vec::new()),
        }
    }

    fn answer(&mut self, what: &str, msg: &JMap<String, J>) -> EResult<J> {
        let name = msg.get("name").and_then(J::as_str).unwrap_or("");
        match what {
            "call_function" => {
                let args = self.args(msg)?;
                let v = self.host.call_by_name(name, args, None, self.call)?;
                Ok(wire::encode(&v))
            }
            "call_lambda" => {
                let args = self.args(msg)?;
                let Some(l) = self.lambda else {
                    return Err(EvalError::new("no block was given to this function"));
                };
                let v = self.host.call_lambda(l, &args, self.call)?;
                Ok(wire::encode(&v))
            }
            "lookupvar" => {
                let v = if self.host.var_defined(name) {
                    self.host.lookup_var(name)?
                } else {
                    Value::Undef
                };
                Ok(wire::encode(&v))
            }
            "exist" => Ok(J::Bool(self.host.var_defined(name))),
            "findresource" => {
                let t = msg.get("type").and_then(J::as_str).unwrap_or("");
                let title = msg.get("title").and_then(J::as_str).unwrap_or("");
                Ok(self
                    .host
                    .find_resource(&capitalize(t), title)
                    .map_or(J::Null, |i| resource_json(self.host, i)))
            }
            "catalog_resources" => Ok(J::Array(
                (0..self.host.resource_count())
                    .map(|i| resource_json(self.host, i))
                    .collect(),
            )),
            "classes" => Ok(J::Array(
                (0..self.host.resource_count())
                    .filter(|&i| self.host.resource(i).type_name == "Class")
                    .map(|i| J::String(self.host.resource(i).title.to_lowercase()))
                    .collect(),
            )),
            "variables" => Ok(wire::encode(&Value::hash(self.host.visible_vars()))),
            other => Err(EvalError::new(format!(
                "the Ruby helper asked for '{other}', which troupe does not answer"
            ))),
        }
    }
}

impl Callbacks for Answers<'_> {
    fn callback(&mut self, _s: &Session, what: &str, msg: &JMap<String, J>) -> Result<J, String> {
        // A 4.x function's own calls and lookups happen in top scope, as in Puppet.
        let top = msg.get("scope").and_then(J::as_str) == Some("top");
        let saved = top.then(|| self.host.enter_top_scope());
        let r = self.answer(what, msg);
        if let Some(saved) = saved {
            self.host.leave_top_scope(saved);
        }
        r.map_err(|e| {
            let text = e.msg.clone();
            self.passed = Some(e);
            text
        })
    }

    fn log(&mut self, level: &str, message: &str) {
        match level {
            "warning" => self.host.warn(message.to_string()),
            "debug" | "info" => {}
            _ => {
                self.host.log(level, &[Value::str(message)]);
            }
        }
    }
}

/// `file` → `File`, `apache::vhost` → `Apache::Vhost`.
fn capitalize(t: &str) -> String {
    t.split("::")
        .map(|seg| {
            let mut c = seg.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("::")
}

fn resource_json(host: &dyn Host, idx: usize) -> J {
    let r = host.resource(idx);
    let mut params = JMap::new();
    for (k, v) in &r.params {
        params.insert(k.clone(), wire::encode(v));
    }
    json!({"type": r.type_name, "title": r.title, "parameters": params})
}
