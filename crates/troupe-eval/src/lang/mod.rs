//! The evaluator: expressions, operators, scopes, lambdas, Puppet-language functions
//! (`eval`, `scope`), and the catalog builder (`build/`). The only place with
//! `impl Evaluator` besides the function and Hiera adapters being moved behind traits.

pub mod access;
pub mod build;
pub mod call;
pub mod data_scope;
pub mod eval;
pub mod expr;
pub mod loader;
pub mod ops;
pub mod ruby_scope;
pub mod scope;
pub mod settings;
pub mod variables;
