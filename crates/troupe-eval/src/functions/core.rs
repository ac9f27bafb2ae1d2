//! Puppet 7's built-in functions (the 4.x core set and the 3.x functions still in core).

pub mod catalog;
pub mod collections;
pub mod control;
pub mod dig;
pub mod digest;
pub mod env;
pub mod iterate;
pub mod lookup;
pub mod math;
pub mod new;
pub mod new_convert;
pub mod new_object;
pub mod regsubst;
pub mod sigs;
pub mod strconv;
pub mod strings;
pub mod time;
pub mod tree_each;
pub mod types;
