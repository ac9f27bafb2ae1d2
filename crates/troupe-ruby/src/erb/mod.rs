//! ERB templates for the Ruby subset templates really use: `@var`, `scope[...]`,
//! `scope.lookupvar`, `scope.function_*`/`call_function`, `if/elsif/else/unless`, `each`
//! loops (also `each_with_index`, `each_pair`), common String/Array/Hash methods, and `-%>`
//! trimming. Anything else fails with an [`Unsupported`] error naming the construct, the
//! template and the line ([`render_checked`] returns it as its own kind, so that a caller may
//! send the template to a real Ruby instead); nothing unknown is guessed.

use self::parse::parse;
use self::parse::Block;
use self::parse::St;
use std::collections::HashMap;
use troupe_values::error::{EResult, EvalError};
use troupe_values::value::{Map, Value};

mod array;
mod classes;
mod compare;
mod expr;
mod hash;
mod interp;
mod ipaddr;
mod lex;
mod methods;
mod mutate;
mod numbers;
mod parse;
mod parse_expr;
mod robj;
mod sprintf;
mod string;
mod to_json;

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
    /// The blocks given to the `def` methods running (`yield`, `block_given?`).
    blocks: Vec<Option<Block>>,
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
    /// Set when the run stopped at something this interpreter does not do.
    unsupported: std::cell::RefCell<Option<Unsupported>>,
}

/// A construct or method a template uses that this interpreter does not implement: Ruby
/// might well render the template, so a caller may hand it to a real Ruby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// What was not supported (`String#unpack`, `syntax: ...`).
    pub what: String,
    pub file: String,
    pub line: u32,
}

/// Why a template did not render.
#[derive(Debug, Clone)]
pub enum RenderError {
    /// The template uses something this interpreter does not do.
    Unsupported(Unsupported),
    /// The template failed as it would in Ruby (or a Puppet function it called failed).
    Failed(EvalError),
}

/// The text every unsupported-construct error carries (also when it travels up through a
/// Puppet function such as `template` called from another template).
pub const UNSUPPORTED: &str = "not supported by troupe's ERB: ";

/// Whether `e` is (or wraps) an [`Unsupported`] error.
pub fn is_unsupported(e: &EvalError) -> bool {
    e.msg.contains(UNSUPPORTED)
}

fn fail(file: &str, line: u32, detail: &str) -> EvalError {
    EvalError::new(format!("Failed to parse template {file}:\n  Filepath: {file}\n  Line: {line}\n  Detail: {detail}\n"))
}

/// Renders an ERB template's text; `file` names it in errors. The caller sets up the frame that
/// locates errors.
pub fn render(scope: &mut dyn RubyScope, src: &str, file: &str) -> EResult<String> {
    render_checked(scope, src, file).map_err(|e| match e {
        RenderError::Failed(e) => e,
        RenderError::Unsupported(u) => unsupported_error(&u),
    })
}

/// The error for a template this interpreter cannot render (and no Ruby renders instead).
pub fn unsupported_error(u: &Unsupported) -> EvalError {
    fail(&u.file, u.line, &format!("{UNSUPPORTED}{}", u.what))
}

/// [`render`], with unsupported constructs told apart from the template's own failures.
/// Error texts never carry a NUL byte.
pub fn render_checked(
    scope: &mut dyn RubyScope,
    src: &str,
    file: &str,
) -> Result<String, RenderError> {
    let prog = parsed(src).map_err(|(line, e)| {
        // Past the nesting limit is a refusal, not something another Ruby should try.
        if e.contains("nested deeper than") {
            return RenderError::Failed(fail(file, line, &e.replace('\0', "")));
        }
        RenderError::Unsupported(Unsupported {
            what: format!("syntax: {}", e.replace('\0', "")),
            file: file.to_string(),
            line,
        })
    })?;
    let mut cx = Ctx {
        scope,
        defs: HashMap::new(),
        blocks: Vec::new(),
        aliases: HashMap::new(),
        ivars: HashMap::new(),
        ivar_aliases: HashMap::new(),
        last_match: Vec::new(),
        locals: vec![HashMap::new()],
        out: String::new(),
        file: file.to_string(),
        line: 1,
        unsupported: std::cell::RefCell::new(None),
    };
    match cx.run(&prog) {
        Ok(_) => Ok(cx.out),
        Err(e) if e.flow.is_some() => Err(RenderError::Unsupported(Unsupported {
            what: "return, break or next outside of a method or block".into(),
            file: file.to_string(),
            line: cx.line,
        })),
        Err(mut e) => {
            e.msg = e.msg.replace('\0', "");
            match cx.unsupported.take() {
                Some(u) if is_unsupported(&e) && e.msg.contains(&u.what) => {
                    Err(RenderError::Unsupported(u))
                }
                _ => Err(RenderError::Failed(e)),
            }
        }
    }
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
