//! TypeSets in manifests: `type S = TypeSet[{...}]` (or `TypeSet {...}`) checked as Puppet's
//! PTypeSetType checks its init hash, its types made aliases named `S::Name`, and names inside
//! a member's definition resolved against the set (`Len`, `R::Bus` through a reference).

use crate::code::{Def, DefKind};
use crate::lang::eval::Evaluator;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use troupe_syntax::ast::{Expr, ExprKind, Literal};
use troupe_values::error::{EResult, EvalError};
use troupe_values::semver::{SemVer, SemVerRange};
use troupe_values::type_set::{Local, TypeSetInfo, RUNTIME_NAME_AUTHORITY};
use troupe_values::types::{infer_for_message, Type};
use troupe_values::value::{puppet_quote, Value};

/// The sets whose members are defined, and the set whose member is being evaluated.
#[derive(Default, Debug)]
pub struct TypeSets {
    member_of: HashMap<String, Rc<TypeSetInfo>>,
    pub(crate) stack: Vec<Rc<TypeSetInfo>>,
}

const SIMPLE_NAME: &str = r"Pattern[/\A[A-Z]\w*\z/]";
const QREF: &str = r"Pattern[/\A[A-Z][\w]*(?:::[A-Z][\w]*)*\z/]";

fn simple_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_uppercase()) && c.all(|c| c.is_alphanumeric() || c == '_')
}

fn qref(s: &str) -> bool {
    s.split("::").all(simple_name)
}

fn uri_like(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !s.contains(' ')
        }
        None => false,
    }
}

fn init_err(m: String) -> EvalError {
    EvalError::new(format!(
        "Error while evaluating a Type-Name, TypeSet initializer has wrong type, {m}"
    ))
}

fn plain_err(m: String) -> EvalError {
    EvalError::new(format!("Error while evaluating a Type-Name, {m}"))
}

/// `expects a Hash value, got Tuple` (Puppet infers an array as a Tuple here).
fn got_of(v: &Value) -> String {
    match v {
        Value::Array(_) => "Tuple".into(),
        other => infer_for_message(other),
    }
}

impl<'e> Evaluator<'e> {
    /// `TypeSet[{...}]` as the body of alias `name`.
    pub(crate) fn type_set_body(&mut self, name: &str, hash: &Expr) -> EResult<Value> {
        let ExprKind::Hash { entries, .. } = &hash.kind else {
            return self.eval(hash);
        };
        let mut init: Vec<(String, Value)> = Vec::new();
        let mut types: Option<Vec<(String, Expr)>> = None;
        for en in entries {
            let k = self.eval(&en.key)?.to_display();
            match (&*k, &en.value.kind) {
                ("types", ExprKind::Hash { entries: ts, .. }) => {
                    let mut out = Vec::new();
                    for t in ts {
                        out.push((self.key_text(&t.key)?, t.value.clone()));
                    }
                    types = Some(out);
                }
                ("references", ExprKind::Hash { entries: rs, .. }) => {
                    let mut m = troupe_values::value::Map::default();
                    for r in rs {
                        let rk = self.key_text(&r.key)?;
                        m.insert(Value::str(rk.as_str()), self.eval(&r.value)?);
                    }
                    init.push((k, Value::hash(m)));
                }
                _ => {
                    let v = self.eval(&en.value)?;
                    init.push((k, v));
                }
            }
        }
        let get = |k: &str| init.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        for (k, _) in &init {
            let known = [
                "pcore_uri",
                "pcore_version",
                "name_authority",
                "name",
                "version",
                "types",
                "references",
                "annotations",
            ];
            if !known.contains(&k.as_str()) {
                return Err(init_err(format!("unrecognized key '{k}'")));
            }
        }
        let Some(pcore) = get("pcore_version") else {
            return Err(init_err("expects a value for key 'pcore_version'".into()));
        };
        if let Some(Value::Str(na)) = &get("name_authority") {
            if !uri_like(na) {
                return Err(init_err(format!(
                    "entry 'name_authority' expects a match for Pattern[/{}/], got {}",
                    URI_SOURCE,
                    puppet_quote(na)
                )));
            }
        }
        if let Some(v) = get("types") {
            let m = match &v {
                Value::Hash(h) if h.is_empty() => "expects size to be at least 1, got 0".into(),
                other => format!("expects a Hash value, got {}", got_of(other)),
            };
            return Err(init_err(format!("entry 'types' {m}")));
        }
        let types = types.unwrap_or_default();
        if types.is_empty() && entries_has(entries, self, "types") {
            return Err(init_err(
                "entry 'types' expects size to be at least 1, got 0".into(),
            ));
        }
        for (k, _) in &types {
            if !simple_name(k) {
                return Err(init_err(format!(
                    "entry 'types' key of entry '{k}' expects a match for {SIMPLE_NAME}, got {}",
                    puppet_quote(k)
                )));
            }
        }
        let mut refs: Vec<(String, String, String)> = Vec::new();
        if let Some(r) = get("references") {
            let h = match &r {
                Value::Hash(h) if !h.is_empty() => h.clone(),
                Value::Hash(_) => {
                    return Err(init_err(
                        "entry 'references' expects size to be at least 1, got 0".into(),
                    ))
                }
                other => {
                    return Err(init_err(format!(
                        "entry 'references' expects a Hash value, got {}",
                        got_of(other)
                    )))
                }
            };
            for (k, v) in h.iter() {
                let k = k.to_display();
                if !simple_name(&k) {
                    return Err(init_err(format!("entry 'references' key of entry '{k}' expects a match for {SIMPLE_NAME}, got {}", puppet_quote(&k))));
                }
                let Value::Hash(rh) = v else {
                    return Err(init_err(format!(
                        "entry 'references' entry '{k}' expects a Struct value, got {}",
                        infer_for_message(v)
                    )));
                };
                let field = |f: &str| rh.get(&Value::str(f)).map(|v| v.to_display());
                let Some(rn) = field("name") else {
                    return Err(init_err(format!(
                        "entry 'references' entry '{k}' expects a value for key 'name'"
                    )));
                };
                let Some(range) = field("version_range") else {
                    return Err(init_err(format!(
                        "entry 'references' entry '{k}' expects a value for key 'version_range'"
                    )));
                };
                if !qref(&rn) {
                    return Err(init_err(format!("entry 'references' entry '{k}' entry 'name' expects a match for {QREF}, got {}", puppet_quote(&rn))));
                }
                refs.push((k, rn, range));
            }
        }
        let set_name = troupe_values::types::capitalize_type_name(name);
        let pv = SemVer::parse(&pcore.to_display()).map_err(plain_err)?;
        let version = match get("version") {
            Some(v) => Some(
                SemVer::parse(&v.to_display())
                    .map_err(plain_err)?
                    .to_string(),
            ),
            None => None,
        };
        if pv.major != 1 {
            return Err(plain_err(format!("The pcore version for TypeSet '{set_name}' is not understood by this runtime. Expected range 1.x, got {pv}")));
        }
        let authority = match get("name_authority") {
            Some(v) => v.to_display(),
            None => RUNTIME_NAME_AUTHORITY.to_string(),
        };
        let mut seen: Vec<(String, String)> = Vec::new();
        for (alias, rn, range) in &refs {
            SemVerRange::parse(range).map_err(plain_err)?;
            if seen.iter().any(|(n, r)| n == rn && r == range) {
                return Err(plain_err(format!("TypeSet '{set_name}' references TypeSet '{authority}/{rn}' more than once using overlapping version ranges")));
            }
            seen.push((rn.clone(), range.clone()));
            if types.iter().any(|(t, _)| t == alias) {
                return Err(plain_err(format!("TypeSet '{set_name}' references a TypeSet using alias '{alias}'. The alias collides with the name of a declared type")));
            }
        }
        for (_, x) in &types {
            if let ExprKind::Literal(Literal::String(s)) = &x.kind {
                return Err(plain_err(format!(
                    "The expression <{}> is not a valid type specification.",
                    puppet_quote(s)
                )));
            }
        }
        let info = Rc::new(TypeSetInfo {
            name: set_name.clone(),
            name_authority: authority,
            pcore_version: pv.to_string(),
            version,
            types: types.iter().map(|(t, _)| t.clone()).collect(),
            refs: refs
                .iter()
                .map(|(a, n, _)| (a.clone(), n.clone()))
                .collect(),
        });
        for (t, x) in types {
            let full = format!("{}::{}", name.to_lowercase(), t.to_lowercase());
            self.type_sets.member_of.insert(full.clone(), info.clone());
            self.aliases.insert(
                full.clone(),
                Arc::new(Def {
                    name: full,
                    kind: DefKind::TypeAlias { value: x },
                    params: vec![],
                    body: None,
                    source: self.src.clone(),
                    span: hash.span,
                }),
            );
        }
        Ok(Value::ty(Type::TypeSet(Some(info))))
    }

    /// A key of the types or references hash: a bare type name stands for itself.
    fn key_text(&mut self, k: &Expr) -> EResult<String> {
        match &k.kind {
            ExprKind::QRef(n) => Ok(n.clone()),
            _ => Ok(self.eval(k)?.to_display()),
        }
    }

    /// The set whose member `lc` is, if it is one.
    pub(crate) fn type_set_of(&self, lc: &str) -> Option<Rc<TypeSetInfo>> {
        self.type_sets.member_of.get(lc).cloned()
    }

    /// Inside a member's definition: the full name `name` stands for in the set.
    pub(crate) fn type_set_name(&mut self, name: &str) -> EResult<Option<String>> {
        let Some(mut set) = self.type_sets.stack.last().cloned() else {
            return Ok(None);
        };
        let mut path = name.to_string();
        for _ in 0..troupe_values::limits::MAX_DEPTH {
            match set.local(&path) {
                None => return Ok(None),
                Some(Local::Member(full)) => return Ok(Some(full)),
                Some(Local::Ref(other, rest)) => {
                    // The referenced set is resolved first (it defines its members).
                    let saved = std::mem::take(&mut self.type_sets.stack);
                    let r = self.resolve_type_name(&other);
                    self.type_sets.stack = saved;
                    let t = r?;
                    let Some(rest) = rest else {
                        return Ok(Some(other));
                    };
                    match t.resolved() {
                        Type::TypeSet(Some(s)) => {
                            set = s.clone();
                            path = rest;
                        }
                        _ => return Ok(None),
                    }
                }
            }
        }
        Ok(None)
    }
}

fn entries_has(entries: &[troupe_syntax::ast::HashEntry], _ev: &Evaluator, key: &str) -> bool {
    entries.iter().any(|e| {
        matches!(&e.key.kind, ExprKind::QName(n) if n == key)
            || matches!(&e.key.kind, ExprKind::Literal(Literal::String(s)) if s == key)
    })
}

/// Ruby's URI regexp, as Puppet prints the Pattern a name authority must match.
const URI_SOURCE: &str = include_str!("uri_regexp.txt");
