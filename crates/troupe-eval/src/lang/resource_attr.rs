//! Reading a resource's attributes through its reference (`Notify['x'][message]`,
//! `File['x'][mode, owner]`), as Puppet's `access_PResourceType` does for a reference that
//! has a title: the resource must exist, each key must be one of its type's parameters, and
//! a parameter not set reads the resource defaults of the scope that declared it.

use crate::catalog::schema::{core_type, METAPARAMS};
use crate::lang::eval::Evaluator;
use troupe_syntax::ast::Expr;
use troupe_values::error::EResult;
use troupe_values::value::Value;

/// Puppet's `String#capitalize`: the first character upper case, the rest lower case.
fn ruby_capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(|x| x.to_lowercase()))
            .collect(),
        None => String::new(),
    }
}

impl<'e> Evaluator<'e> {
    /// `Type['title'][keys]`: the values of the resource's parameters `keys`.
    pub(crate) fn resource_attributes(
        &mut self,
        type_name: &str,
        title: &str,
        args: &[Value],
        e: &Expr,
    ) -> EResult<Value> {
        let as_array = args.len() > 1 || matches!(args.first(), Some(Value::Array(_)));
        let keys: Vec<Value> = troupe_values::value::flatten(args)
            .into_iter()
            .filter(|k| !k.is_undef())
            .collect();
        if keys.is_empty() {
            return Ok(self.no_reference_args(as_array, e));
        }
        let Some(idx) = self.find_resource(type_name, title) else {
            return self.err(format!("Resource not found: {type_name}['{title}']"), e);
        };
        let type_lc = type_name.to_lowercase();
        let mut out = Vec::with_capacity(keys.len());
        for k in &keys {
            let name = match k {
                Value::Str(s) => s.to_string(),
                other => other.to_display(),
            };
            if !matches!(k, Value::Str(_)) || !self.valid_parameter(idx, &type_lc, &name)? {
                return self.err(
                    format!(
                        "The resource {}['{title}'] does not have a parameter called '{name}'",
                        ruby_capitalize(type_name)
                    ),
                    e,
                );
            }
            let v = match self.res[idx].params.get(&name) {
                Some(v) => v.clone(),
                None => self
                    .lookup_defaults(self.res[idx].scope, &type_lc)
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v)
                    .unwrap_or(Value::Undef),
            };
            out.push(v);
        }
        Ok(if as_array {
            Value::array(out)
        } else {
            out.pop().unwrap_or(Value::Undef)
        })
    }

    /// Puppet's `valid_parameter?`: a metaparameter, a parameter of the core type, or one
    /// of the defined type's (or class's) parameters.
    fn valid_parameter(&mut self, idx: usize, type_lc: &str, name: &str) -> EResult<bool> {
        if METAPARAMS.contains(&name) || self.res[idx].params.contains_key(name) {
            return Ok(true);
        }
        if let Some(schema) = core_type(type_lc) {
            return Ok(name == "name" || schema.namevar == name || schema.attrs.contains(&name));
        }
        if name == "name" {
            return Ok(true);
        }
        let def = if type_lc == "class" {
            self.find_class(&self.res[idx].title.clone())?
        } else {
            self.find_define(type_lc)?
        };
        Ok(match def {
            Some(d) => d.params.iter().any(|p| p.name == name),
            // A type troupe does not know (a module's Ruby type): accept, as Puppet would for
            // one of its parameters.
            None => true,
        })
    }
}
