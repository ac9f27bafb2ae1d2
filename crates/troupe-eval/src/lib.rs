//! `troupe-eval`: the Puppet 7 evaluator. It turns parsed code, facts and data into a
//! catalog: values and the type system, scopes, classes/defines/nodes, resources, collectors,
//! relationships, built-in functions, Hiera 5, EPP and ERB. It reads code and data only
//! through [`code::Environment`], never the network or the clock.

pub mod catalog;
pub mod code;
mod describe;
mod digest;
mod dump;
mod erb;
pub mod error;
pub mod eval;
mod eyaml;
mod functions;
pub mod hiera;
mod resources;
pub mod schema;
pub mod scope;
pub mod semver;
mod stdlib;
mod templates;
pub mod time;
pub mod types;
pub mod value;

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

/// Compiles a catalog for one node.
pub fn compile(env: &dyn Environment, input: NodeInput) -> Compiled {
    let certname = input.certname.clone();
    let mut ev = Evaluator::new(env, input);
    let result = ev.run().map_err(|e| e.render(&certname));
    Compiled {
        result,
        warnings: std::mem::take(&mut ev.warnings),
    }
}
