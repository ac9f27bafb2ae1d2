//! `troupe-values`: Puppet 7's values and types, the bottom layer of the compiler.
//!
//! Owns `Value` (with Puppet's `==`, hashing and display), `Type` (parsing type text,
//! `is_instance`, assignability), the inference of a value's type, the texts of type mismatches
//! (`describe`), time values and their formats, SemVer, `EvalError`/`Loc`/`Flow`, and the
//! compile budget (`limits`: memory reservations, stack growth, deadlines).
//!
//! May call: nothing of troupe (no syntax tree, no evaluator, no environment). `Value` and
//! `Type` refer to each other (a value can be a type, a type can hold a regexp or a value);
//! that recursion is data and stays inside this crate.

pub mod accepts;
pub mod assign;
pub mod callable;
pub mod describe;
pub mod describe_names;
pub mod error;
pub mod infer;
pub mod init;
pub mod iterate;
pub mod label;
pub mod limits;
pub mod normalize;
pub mod number;
pub mod object;
pub mod object_build;
pub mod semver;
pub mod time;
pub mod time_range;
pub mod type_set;
pub mod types;
pub mod value;
