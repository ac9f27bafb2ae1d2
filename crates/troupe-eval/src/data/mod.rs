//! Hiera 5: hiera.yaml, data files, merges, interpolation, eyaml. It imports `model/` and
//! `code`; it reads files only through the environment.

pub mod eyaml;
pub mod hiera;
