//! The evaluator (`Evaluator`, `eval.rs`): the compile's state, and Puppet's language.
//!
//! Owns: definitions and autoloading (`loader`), scopes and variables (`scope`, `variables`,
//! `settings`), expressions and `case`/selectors (`expr`), operators (`ops`), access and type
//! parameterization (`access`), function calls, lambdas and Puppet-language functions
//! (`call`: the resolution order, written once), and the catalog builder (`build/`). It
//! implements the narrow interfaces the layers below call back through: `RubyScope` for
//! ERB (`ruby_scope`), `DataScope` for Hiera (`data_scope`) and `Host` for native functions
//! (`host`). EPP templates are evaluated in `epp`.
//!
//! May call: everything in the crate, `troupe-values`, `troupe-ruby`, `troupe-syntax`.
//! `impl Evaluator` lives here and nowhere else.

pub mod access;
pub mod build;
pub mod call;
pub mod collections;
pub mod data_scope;
pub mod deferred_param;
pub mod epp;
pub mod epp_params;
pub mod eval;
pub mod expr;
pub mod host;
pub mod index;
pub mod lambda_args;
pub mod loader;
pub mod object_types;
pub mod ops;
pub mod resource_attr;
pub mod ruby_scope;
pub mod scope;
pub mod settings;
pub mod type_args;
pub mod type_keys;
pub mod type_sets;
pub mod type_text;
pub mod value_attrs;
pub mod variables;
