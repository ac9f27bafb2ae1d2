//! Puppet's Object types (`Object[{attributes => ..., parent => ...}]`) and their instances:
//! the members, inheritance, equality, the text Puppet prints for them (the type's init hash,
//! an instance's `Name({'a' => 1})`). Built from the init hash by `object_build`.

use crate::types::Type;
use crate::value::{puppet_quote, Map, Value};
use std::rc::Rc;

/// An attribute, constant, function or type parameter of an Object type.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub ty: Type,
    /// `constant`, `derived`, `given_or_derived`, `reference`, or none.
    pub kind: Option<String>,
    /// The declared value; `None` when it has none (Ruby's `:undef`).
    pub value: Option<Value>,
    pub final_: bool,
    pub override_: bool,
    pub function: bool,
}

impl Member {
    pub fn is_constant(&self) -> bool {
        self.kind.as_deref() == Some("constant")
    }

    /// Given when an instance is made (not constant, not derived).
    pub fn is_init(&self) -> bool {
        !self.function && !matches!(self.kind.as_deref(), Some("constant") | Some("derived"))
    }

    /// `attribute Name[a]`, `function Name[f]`, as Puppet labels a member.
    pub fn label(&self, owner: &str) -> String {
        let what = if self.function {
            "function"
        } else {
            "attribute"
        };
        format!("{what} {owner}[{}]", self.name)
    }

    /// The member as the type's init hash shows it: its type alone, or `{type => ...}`.
    fn write_text(&self, out: &mut String) {
        let mut parts = vec![format!("type => {}", self.ty)];
        if self.final_ && !self.is_constant() {
            parts.push("final => true".into());
        }
        if self.override_ {
            parts.push("override => true".into());
        }
        if let Some(k) = &self.kind {
            parts.push(format!("kind => {k}"));
        }
        if let Some(v) = &self.value {
            let mut s = String::from("value => ");
            v.write_display(&mut s, true);
            parts.push(s);
        }
        if parts.len() == 1 {
            out.push_str(&self.ty.to_string());
        } else {
            out.push('{');
            out.push_str(&parts.join(", "));
            out.push('}');
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ObjType {
    pub name: Option<String>,
    pub parent: Option<Type>,
    pub type_params: Vec<Member>,
    /// Own attributes and constants, in declaration order (`attributes`, then `constants`).
    pub attrs: Vec<Member>,
    pub funcs: Vec<Member>,
    pub equality: Option<Vec<String>>,
    pub equality_include_type: bool,
}

impl ObjType {
    /// The type's name, or `Object` when it has none.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("Object")
    }

    /// The parent, through aliases, when it is an Object type.
    pub fn parent_obj(&self) -> Option<Rc<ObjType>> {
        parent_of(self.parent.as_ref()?)
    }

    /// Every attribute (parents' first; an override keeps its parent's place).
    pub fn all_attrs(&self) -> Vec<Member> {
        let mut out: Vec<Member> = match self.parent_obj() {
            Some(p) => crate::limits::grow(|| p.all_attrs()),
            None => vec![],
        };
        for a in &self.attrs {
            match out.iter_mut().find(|x| x.name == a.name) {
                Some(slot) => *slot = a.clone(),
                None => out.push(a.clone()),
            }
        }
        out
    }

    /// The attributes an instance is made from, in order.
    pub fn init_attrs(&self) -> Vec<Member> {
        self.all_attrs()
            .into_iter()
            .filter(|a| a.is_init())
            .collect()
    }

    /// A member (attribute or function) by name, own ones first.
    pub fn member(&self, name: &str) -> Option<Member> {
        self.attrs
            .iter()
            .chain(self.funcs.iter())
            .find(|m| m.name == name)
            .cloned()
            .or_else(|| crate::limits::grow(|| self.parent_obj()?.member(name)))
    }

    /// The attributes compared by `==`, parents' first.
    pub fn equality_attrs(&self) -> Vec<String> {
        let mut out = match self.parent_obj() {
            Some(p) => crate::limits::grow(|| p.equality_attrs()),
            None => vec![],
        };
        let own: Vec<String> = match &self.equality {
            Some(eq) => eq.clone(),
            None => self
                .attrs
                .iter()
                .filter(|a| !a.is_constant())
                .map(|a| a.name.clone())
                .collect(),
        };
        for n in own {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Is `other` this type or one of its descendants?
    pub fn is_ancestor_of(&self, other: &ObjType) -> bool {
        let mut cur: Option<Rc<ObjType>> = None;
        let mut depth = 0;
        loop {
            let o = cur.as_deref().unwrap_or(other);
            if same_type(self, o) {
                return true;
            }
            depth += 1;
            match o.parent_obj() {
                Some(p) if depth < crate::limits::MAX_DEPTH => cur = Some(p),
                _ => return false,
            }
        }
    }

    /// `Object[{name => 'X', attributes => {...}, ...}]`: the type written out.
    pub fn init_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(n) = &self.name {
            parts.push(format!("name => {}", puppet_quote(n)));
        }
        if let Some(p) = &self.parent {
            parts.push(format!("parent => {p}"));
        }
        let members = |ms: &[&Member]| {
            let mut s = String::from("{");
            for (i, m) in ms.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&puppet_quote(&m.name));
                s.push_str(" => ");
                m.write_text(&mut s);
            }
            s.push('}');
            s
        };
        if !self.type_params.is_empty() {
            let ps: Vec<Member> = self
                .type_params
                .iter()
                .map(|p| Member {
                    ty: match &p.ty {
                        Type::Optional(Some(t)) => (**t).clone(),
                        t => t.clone(),
                    },
                    ..p.clone()
                })
                .collect();
            let refs: Vec<&Member> = ps.iter().collect();
            parts.push(format!("type_parameters => {}", members(&refs)));
        }
        let (consts, others): (Vec<&Member>, Vec<&Member>) = self.attrs.iter().partition(|a| {
            a.is_constant()
                && a.value
                    .as_ref()
                    .is_some_and(|v| crate::infer::generalize(v).to_string() == a.ty.to_string())
        });
        if !others.is_empty() {
            parts.push(format!("attributes => {}", members(&others)));
        }
        if !consts.is_empty() {
            let mut s = String::from("constants => {");
            for (i, c) in consts.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&puppet_quote(&c.name));
                s.push_str(" => ");
                if let Some(v) = &c.value {
                    v.write_display(&mut s, true);
                }
            }
            s.push('}');
            parts.push(s);
        }
        if !self.funcs.is_empty() {
            let fs: Vec<&Member> = self.funcs.iter().collect();
            parts.push(format!("functions => {}", members(&fs)));
        }
        if let Some(eq) = &self.equality {
            let names: Vec<String> = eq.iter().map(|n| puppet_quote(n)).collect();
            parts.push(format!("equality => [{}]", names.join(", ")));
        }
        format!("Object[{{{}}}]", parts.join(", "))
    }
}

/// The Object type a type stands for, through aliases.
pub fn parent_of(t: &Type) -> Option<Rc<ObjType>> {
    match t.resolved() {
        Type::Obj(o) => Some(o.clone()),
        Type::Late(_, w) => w.upgrade().and_then(|t| parent_of(&t)),
        _ => None,
    }
}

/// One type: the same object, or two of one name, or two anonymous ones written alike.
pub fn same_type(a: &ObjType, b: &ObjType) -> bool {
    if std::ptr::eq(a, b) {
        return true;
    }
    match (&a.name, &b.name) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.init_text() == b.init_text(),
        _ => false,
    }
}

/// An instance: its type and the values of its init attributes, in their order.
#[derive(Debug)]
pub struct ObjValue {
    pub ty: Rc<ObjType>,
    pub vals: Vec<(String, Value)>,
}

impl ObjValue {
    /// An attribute's value (constants come from the type).
    pub fn get(&self, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.vals.iter().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        let m = self.ty.member(name)?;
        if m.function {
            return None;
        }
        m.value.clone()
    }

    /// The attributes that differ from their defaults, as `Name({...})` shows them.
    pub fn init_hash(&self) -> Map {
        let attrs = self.ty.init_attrs();
        let mut out = Map::default();
        for (n, v) in &self.vals {
            let dflt = attrs
                .iter()
                .find(|a| &a.name == n)
                .and_then(|a| a.value.as_ref());
            if dflt.is_some_and(|d| d == v) {
                continue;
            }
            out.insert(Value::str(n.as_str()), v.clone());
        }
        out
    }

    pub fn write_display(&self, out: &mut String) {
        out.push_str(self.ty.label());
        out.push('(');
        Value::Hash(Rc::new(self.init_hash())).write_display(out, true);
        out.push(')');
    }

    pub fn equals(&self, other: &ObjValue) -> bool {
        if !same_type(&self.ty, &other.ty) {
            return false;
        }
        self.ty
            .equality_attrs()
            .iter()
            .all(|n| self.get(n) == other.get(n))
    }
}
