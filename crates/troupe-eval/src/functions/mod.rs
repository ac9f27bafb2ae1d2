//! Native functions: Puppet's core functions and module functions (stdlib and others).

pub mod core;
pub mod digest;
pub mod lookup;
pub mod stdlib;
pub mod templates;
