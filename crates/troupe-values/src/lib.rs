//! The model: Puppet's values and types, and what every layer above shares (errors, the
//! compile budget). The bottom layer: it imports nothing from the crate outside `model/`.
//! `Value` and `Type` refer to each other (a value can be a type; a type can hold a regexp or
//! a value); that recursion is data and stays inside this folder.

pub mod describe;
pub mod error;
pub mod infer;
pub mod iterate;
pub mod limits;
pub mod number;
pub mod semver;
pub mod time;
pub mod types;
pub mod value;
