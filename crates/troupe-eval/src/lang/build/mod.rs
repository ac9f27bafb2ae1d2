//! The catalog builder: resources, classes, defines, nodes, defaults, overrides, collectors,
//! relationships, and finishing the catalog. Methods of the evaluator.

pub mod resources;
