//! Object types and their instances as Puppet writes them in rich data: an instance is
//! `{"__ptype": "Name", <attributes that differ from their defaults>}`, a type is a
//! `Pcore::ObjectType` with its init hash.

use super::{type_to_pcore, value_to_json};
use serde_json::{json, Map as JMap, Value as J};
use troupe_values::object::{Member, ObjType, ObjValue};
use troupe_values::types::Type;

pub fn object_to_json(o: &ObjValue) -> J {
    let mut m = JMap::new();
    m.insert("__ptype".into(), J::String(o.ty.label().to_string()));
    for (k, v) in o.init_hash().iter() {
        m.insert(k.to_display(), value_to_json(v));
    }
    J::Object(m)
}

fn member_json(a: &Member) -> J {
    let plain = !a.final_ && !a.override_ && a.kind.is_none() && a.value.is_none();
    let ty = nested(&a.ty);
    if plain {
        return ty;
    }
    let mut m = JMap::new();
    m.insert("type".into(), ty);
    if a.final_ && !a.is_constant() {
        m.insert("final".into(), J::Bool(true));
    }
    if a.override_ {
        m.insert("override".into(), J::Bool(true));
    }
    if let Some(k) = &a.kind {
        m.insert("kind".into(), J::String(k.clone()));
    }
    if let Some(v) = &a.value {
        m.insert("value".into(), value_to_json(v));
    }
    J::Object(m)
}

/// A named Object type inside another type goes by reference (it may be recursive).
fn nested(t: &Type) -> J {
    match t {
        Type::Obj(o) if o.name.is_some() => {
            json!({"__ptype": "Pcore::TypeReferenceType", "type_string": o.label()})
        }
        t => type_to_pcore(t),
    }
}

pub fn object_type_to_json(t: &ObjType) -> J {
    let mut h = JMap::new();
    if let Some(n) = &t.name {
        h.insert("name".into(), J::String(n.clone()));
    }
    if let Some(p) = &t.parent {
        h.insert("parent".into(), nested(p));
    }
    let members = |ms: &[Member]| {
        let mut m = JMap::new();
        for a in ms {
            m.insert(a.name.clone(), member_json(a));
        }
        J::Object(m)
    };
    if !t.attrs.is_empty() {
        h.insert("attributes".into(), members(&t.attrs));
    }
    if !t.funcs.is_empty() {
        h.insert("functions".into(), members(&t.funcs));
    }
    if let Some(eq) = &t.equality {
        h.insert("equality".into(), json!(eq));
    }
    json!({"__ptype": "Pcore::ObjectType", "_pcore_init_hash": J::Object(h)})
}
