//! `troupe-eval`: the Puppet 7 evaluator. It turns parsed code, facts and data into a
//! catalog. It reads code and data only through [`code::Environment`], never the network or
//! the clock.
//!
//! The map, in data-flow order (ARCHITECTURE.md states each part's invariants):
//!
//! * `troupe-values` (crate): values, types, assignability, mismatch texts, time, SemVer,
//!   errors, the compile budget. Depends on nothing of troupe.
//! * `troupe-ruby` (crate): Ruby's view of values (`to_s`, `inspect`, `sprintf`), JSON, Psych
//!   YAML, and ERB; calls back only through its `RubyScope` trait.
//! * `code`: the world boundary (`Environment`, parsed `Code`, definitions).
//! * `catalog/`: the output as data, and its JSON form. Names only `troupe-values`.
//! * `data/`: Hiera 5 and eyaml, behind the `DataScope` trait. Names `code`.
//! * `functions/`: every native function, one file per family or module, in ONE table
//!   (`functions/mod.rs`). A function reaches the compile only through the `functions::host::Host`
//!   trait (lambdas and calls, variables, Hiera, type names and definitions, the catalog's
//!   resources, templates, locations and warnings); it never names `lang`.
//! * `lang/`: the evaluator: state, loader, variables, expressions, operators, access, calls
//!   (the function resolution order), EPP, and `lang/build/`, the catalog builder (resources,
//!   classes, defines, nodes, defaults, overrides, collectors, relationships, the driver).
//!   Implements `RubyScope`, `DataScope` and `Host`.
//!
//! No circle between folders: `tests/layering.rs` checks which folder may name which, and that
//! `impl Evaluator` appears only in `lang/`. The old public paths
//! (`troupe_eval::value`, `::time`, `::error`, `::limits`, ...) are re-exported below.

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
pub use eval::{Evaluator, NodeData, NodeInput};
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
