//! `troupe-ruby`: the Ruby subset a Puppet compile needs, over `troupe-values`.
//!
//! Owns Ruby's view of a Puppet value (`object`: class, `to_s`, `inspect`, `<=>`, `to_i`,
//! `succ`; `format`: `Kernel#sprintf`), Ruby's data writers (`json`: the `json` generator;
//! `yaml`: Psych on libyaml), and the ERB language (`erb`: lexer, parser, interpreter).
//!
//! May call: `troupe-values` only. ERB reaches the compile through one trait,
//! [`erb::RubyScope`] (Puppet's Ruby `scope` object: variables, `setvar`, `to_hash`,
//! `call_function`), which the evaluator implements; nothing here knows the evaluator.

pub mod erb;
pub mod format;
pub mod json;
pub mod object;
pub mod yaml;
