//! Hiera 5 (`hiera`): hiera.yaml v5, global/environment/module layers, data files, merges,
//! `lookup_options`, `%{...}` interpolation, and eyaml (`eyaml`). Owns the per-compile
//! `HieraCache`.
//!
//! May call: `troupe-values` and `code` (the environment's files). It reaches the compile only
//! through the `DataScope` trait (files, variables, its cache, frames), which the evaluator
//! implements; `lookup()`'s argument handling is a function in `functions/lookup.rs`.

pub mod default_hierarchy;
pub mod eyaml;
pub mod hiera;
pub mod hiera_check;
pub mod hiera_config;
pub mod hiera_v3;
pub mod keys;
pub mod merge;
pub mod providers;
