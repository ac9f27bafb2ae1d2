//! `troupe-eval`: the Puppet 7 evaluator. It turns parsed code, facts and data into a
//! catalog: values and the type system, scopes, classes/defines/nodes, resources, collectors,
//! relationships, built-in functions, Hiera 5, EPP and ERB. It reads code and data only
//! through [`code::Environment`], never the network or the clock.

pub mod catalog;
pub mod code;
pub mod data;
mod functions;
pub mod lang;

// The crate's public paths, as callers know them.
pub use data::hiera;
pub use lang::{eval, scope};
pub use troupe_values::{error, limits, semver, time, types, value};

pub use catalog::Catalog;
pub use code::{Code, Environment, LoadKind};
pub use error::{EvalError, Loc};
pub use eval::{Evaluator, NodeInput};
pub use value::Value;

/// The outcome of a compile: the catalog or Puppet's error text, plus warnings.
#[derive(Debug)]
pub struct Compiled {
    pub result: Result<Catalog, String>,
    pub warnings: Vec<String>,
}

/// Compiles a catalog for one node, without limits of time or memory.
pub fn compile(env: &dyn Environment, input: NodeInput) -> Compiled {
    compile_with(env, input, &limits::Budget::default())
}

/// Compiles a catalog for one node within `budget`: a compile that exceeds it fails with
/// the budget's message (whatever error it was on its way to), nothing else.
pub fn compile_with(env: &dyn Environment, input: NodeInput, budget: &limits::Budget) -> Compiled {
    let guard = limits::install(budget);
    let certname = input.certname.clone();
    let mut ev = Evaluator::new(env, input);
    let mut result = ev.run().map_err(|e| e.render(&certname));
    if let Some(x) = guard.exceeded() {
        result = Err(x.message(&certname));
    }
    let warnings = std::mem::take(&mut ev.warnings);
    // The evaluator (and with it any deep value) is dropped under the budget's guard.
    drop(ev);
    Compiled { result, warnings }
}
