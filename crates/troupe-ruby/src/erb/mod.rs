//! ERB templates for the Ruby subset templates really use: `@var`, `scope[...]`,
//! `scope.lookupvar`, `scope.function_*`/`call_function`, `if/elsif/else/unless`, `each`
//! loops (also `each_with_index`, `each_pair`), common String/Array/Hash methods, and `-%>`
//! trimming. Anything else is an error that names the template and the line.

use self::parse::parse;
use self::parse::Block;
use self::parse::St;
use std::collections::HashMap;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

mod array;
mod expr;
mod interp;
mod lex;
mod methods;
mod parse;
mod parse_expr;

/// Puppet's Ruby `scope` object: everything a template may ask of the compile. The evaluator
/// implements it; ERB knows nothing else of Puppet.
pub trait RubyScope {
    /// A Puppet variable (`@x`, `scope['x']`, `scope.lookupvar('x')`); unknown ones are undef
    /// or an error as Puppet's strict mode says.
    fn lookupvar(&mut self, name: &str) -> EResult<Value>;
    /// Sets a variable in the calling scope, unchecked (`scope.setvar`, `@x[k] = v`).
    fn setvar(&mut self, name: &str, v: Value);
    /// Ruby changed the object behind the Puppet variable `name` in place: the variable and the
    /// calling resource's parameter of the same name take `v`.
    fn replace_var(&mut self, name: &str, v: Value);
    /// The variables visible from the calling scope (`scope.to_hash`).
    fn to_hash(&self) -> Map;
    /// A Puppet function (`scope.function_x`, `scope.call_function`).
    fn call_function(&mut self, name: &str, args: Vec<Value>) -> EResult<Value>;
}

struct Ctx<'a> {
    scope: &'a mut dyn RubyScope,
    locals: Vec<HashMap<String, Value>>,
    /// Groups of the last successful `=~` (`$1`, `$2`, ...; `$~`).
    last_match: Vec<Value>,
    /// Methods the template defines with `def`.
    defs: HashMap<String, Block>,
    /// Locals bound to an instance variable's object (`a = @x`): Ruby's `a << y` then
    /// changes the Puppet variable too, and the resource parameter behind it, which shows in
    /// the catalog (apache's `_scriptalias.erb` does this to `scriptaliases`).
    aliases: HashMap<String, String>,
    /// Instance variables the template assigns (`@x = ...`): Puppet's template wrapper keeps
    /// them for the rest of this template; the Puppet variable is not changed.
    ivars: HashMap<String, Value>,
    /// Assigned instance variables that are the same Ruby object as a Puppet variable's value.
    ivar_aliases: HashMap<String, String>,
    out: String,
    file: String,
    line: u32,
}

fn fail(file: &str, line: u32, detail: &str) -> EvalError {
    EvalError::new(format!("Failed to parse template {file}:\n  Filepath: {file}\n  Line: {line}\n  Detail: {detail}\n"))
}

/// Renders an ERB template's text; `file` names it in errors. The caller sets up the frame that
/// locates errors.
pub fn render(scope: &mut dyn RubyScope, src: &str, file: &str) -> EResult<String> {
    let prog = parsed(src).map_err(|(line, e)| fail(file, line, &e))?;
    let mut cx = Ctx {
        scope,
        defs: HashMap::new(),
        aliases: HashMap::new(),
        ivars: HashMap::new(),
        ivar_aliases: HashMap::new(),
        last_match: Vec::new(),
        locals: vec![HashMap::new()],
        out: String::new(),
        file: file.to_string(),
        line: 1,
    };
    cx.run(&prog)?;
    Ok(cx.out)
}

/// A template's program, parsed once per thread and text (templates are rendered for every
/// resource and every compile; their text decides the program).
fn parsed(src: &str) -> Result<std::rc::Rc<Vec<St>>, (u32, String)> {
    use std::cell::RefCell;
    thread_local! {
        static PROGRAMS: RefCell<HashMap<String, std::rc::Rc<Vec<St>>>> = RefCell::new(HashMap::new());
    }
    if let Some(p) = PROGRAMS.with(|c| c.borrow().get(src).cloned()) {
        return Ok(p);
    }
    let prog = std::rc::Rc::new(parse(src)?);
    PROGRAMS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 2_000 {
            c.clear();
        }
        c.insert(src.to_string(), prog.clone());
    });
    Ok(prog)
}

/// How a Ruby exception that `rescue` may catch starts its message (only `IPAddr.new` raises
/// one today); errors of the template's own making are not rescued.
const RUBY_ERROR: &str = "ArgumentError: ";

/// Functions written for Puppet's 3.x API, the only ones `scope.function_*` reaches.
const FUNCTIONS_3X: &[&str] = &[
    "create_resources",
    "defined",
    "digest",
    "fail",
    "file",
    "fqdn_rand",
    "generate",
    "hiera",
    "hiera_array",
    "hiera_hash",
    "hiera_include",
    "include",
    "inline_template",
    "lookup",
    "md5",
    "realize",
    "require",
    "search",
    "sha1",
    "sha256",
    "shellquote",
    "split",
    "sprintf",
    "tag",
    "tagged",
    "template",
    "versioncmp",
    "contain",
    "alert",
    "crit",
    "debug",
    "emerg",
    "err",
    "info",
    "notice",
    "warning",
];
