//! The Ruby subset: Ruby's view of Puppet values (`to_s`, `inspect`, JSON, Psych YAML) and the
//! ERB language. It imports only `model/`; it reaches the compile only through the
//! [`erb::RubyScope`] trait that the evaluator implements (Puppet's Ruby `scope` object).

pub mod erb;
pub mod format;
pub mod json;
pub mod object;
pub mod yaml;
