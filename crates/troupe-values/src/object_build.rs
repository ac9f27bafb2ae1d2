//! An Object type built from its init hash, checked as Puppet's PObjectType checks it
//! (`_pcore_init_from_hash`, PAttribute, PFunction, assert_override), with its messages.

use crate::describe::mismatch;
use crate::object::{parent_of, Member, ObjType};
use crate::types::{Type, INT_MAX};
use crate::value::{Map, Value};

const KINDS: [&str; 4] = ["constant", "derived", "given_or_derived", "reference"];

fn opt(k: &str, t: Type) -> (String, bool, Type) {
    (k.to_string(), true, t)
}

fn initializer_type() -> Type {
    Type::Struct(vec![
        opt("name", Type::String(0, INT_MAX)),
        opt("parent", Type::Type(None)),
        opt("type_parameters", Type::Any),
        opt("attributes", Type::Any),
        opt("constants", Type::Any),
        opt("functions", Type::Any),
        opt("equality", Type::Any),
        opt("equality_include_type", Type::Boolean),
        opt("checks", Type::Any),
        opt("annotations", Type::Any),
        opt("serialization", Type::Any),
    ])
}

fn attribute_type() -> Type {
    Type::Struct(vec![
        ("type".into(), false, Type::Type(None)),
        opt("final", Type::Boolean),
        opt("override", Type::Boolean),
        opt(
            "kind",
            Type::Enum(KINDS.iter().map(|s| s.to_string()).collect(), false),
        ),
        opt("value", Type::Any),
        opt("annotations", Type::Any),
    ])
}

fn function_type() -> Type {
    Type::Struct(vec![
        (
            "type".into(),
            false,
            Type::Type(Some(Box::new(Type::Callable))),
        ),
        opt("final", Type::Boolean),
        opt("override", Type::Boolean),
        opt("annotations", Type::Any),
    ])
}

fn get<'a>(h: &'a Map, k: &str) -> Option<&'a Value> {
    h.get(&Value::str(k)).filter(|v| !matches!(v, Value::Undef))
}

fn flag(h: &Map, k: &str) -> bool {
    matches!(get(h, k), Some(Value::Bool(true)))
}

fn entries(v: Option<&Value>) -> Vec<(String, Value)> {
    match v {
        Some(Value::Hash(h)) => h.iter().map(|(k, v)| (k.to_display(), v.clone())).collect(),
        _ => vec![],
    }
}

/// Builds the Object type `name` (the alias's name, else the hash's `name`) from `init`.
pub fn build(name: Option<String>, init: &Map) -> Result<ObjType, String> {
    let ih = Value::Hash(std::rc::Rc::new(init.clone()));
    let it = initializer_type();
    if !it.is_instance(&ih) {
        return Err(mismatch("object initializer has wrong type,", &it, &ih));
    }
    let mut t = ObjType {
        name: name.or_else(|| get(init, "name").map(|v| v.to_display())),
        parent: match get(init, "parent") {
            Some(Value::Type(p)) => Some((**p).clone()),
            _ => None,
        },
        equality_include_type: true,
        ..ObjType::default()
    };
    let label = t.label().to_string();
    let parent = t.parent.as_ref().and_then(parent_of);
    if inherits_itself(&t) {
        return Err(format!("The Object type '{label}' inherits from itself"));
    }
    let parent_member = |n: &str| parent.as_ref().and_then(|p| p.member(n));
    for (k, spec) in entries(get(init, "type_parameters")) {
        let ty = match &spec {
            Value::Type(ty) => (**ty).clone(),
            Value::Hash(h) => match get(h, "type") {
                Some(Value::Type(ty)) => (**ty).clone(),
                _ => Type::Any,
            },
            other => {
                return Err(mismatch(
                    &format!("type_parameter {label}[{k}] has wrong type,"),
                    &Type::Type(None),
                    other,
                ))
            }
        };
        let ty = match ty {
            Type::Optional(_) => ty,
            t => Type::Optional(Some(Box::new(t))),
        };
        t.type_params.push(member(&k, &label, ty, None, None));
    }
    let mut specs: Vec<(String, Value)> = entries(get(init, "attributes"));
    for (k, v) in entries(get(init, "constants")) {
        if specs.iter().any(|(n, _)| *n == k) {
            return Err(format!(
                "attribute {label}[{k}] is defined as both a constant and an attribute"
            ));
        }
        let mut h = Map::default();
        h.insert(Value::str("type"), Value::ty(crate::infer::generalize(&v)));
        h.insert(Value::str("value"), v);
        h.insert(Value::str("kind"), Value::str("constant"));
        if parent_member(&k).is_some() {
            h.insert(Value::str("override"), Value::Bool(true));
        }
        specs.push((k, Value::Hash(std::rc::Rc::new(h))));
    }
    for (k, spec) in specs {
        let a = attribute(&k, &label, spec)?;
        if let Some(pm) = parent_member(&k) {
            can_override(&pm, &a, &a.label(&label), parent.as_deref())?;
        } else if a.override_ {
            return Err(format!(
                "expected {} to override an inherited attribute, but no such attribute was found",
                a.label(&label)
            ));
        }
        t.attrs.push(a);
    }
    for (k, spec) in entries(get(init, "functions")) {
        let h = match &spec {
            Value::Hash(h) => (**h).clone(),
            Value::Type(ft) if matches!(ft.resolved(), Type::Callable | Type::CallableOf(_)) => {
                let mut h = Map::default();
                h.insert(Value::str("type"), spec.clone());
                h
            }
            other => {
                let got = match other {
                    Value::Type(ft) => format!("Type[{ft}]"),
                    v => crate::types::infer_for_message(v),
                };
                return Err(format!("function {label}[{k}] has wrong type, expects a Type[Callable] value, got {got}"));
            }
        };
        let fv = Value::Hash(std::rc::Rc::new(h.clone()));
        let ft = function_type();
        if !ft.is_instance(&fv) {
            return Err(mismatch(
                &format!("initializer for function {label}[{k}] has wrong type,"),
                &ft,
                &fv,
            ));
        }
        let ty = match get(&h, "type") {
            Some(Value::Type(x)) => (**x).clone(),
            _ => Type::Callable,
        };
        let mut f = member(&k, &label, ty, None, None);
        f.function = true;
        f.final_ = flag(&h, "final");
        f.override_ = flag(&h, "override");
        if t.attrs.iter().any(|a| a.name == k) {
            return Err(format!(
                "{} conflicts with attribute with the same name",
                f.label(&label)
            ));
        }
        if let Some(pm) = parent_member(&k) {
            can_override(&pm, &f, &f.label(&label), parent.as_deref())?;
        } else if f.override_ {
            return Err(format!(
                "expected {} to override an inherited function, but no such function was found",
                f.label(&label)
            ));
        }
        t.funcs.push(f);
    }
    if let Some(Value::Bool(b)) = get(init, "equality_include_type") {
        t.equality_include_type = *b;
    }
    let equality = match get(init, "equality") {
        Some(Value::Str(s)) => Some(vec![s.to_string()]),
        Some(Value::Array(a)) => Some(a.iter().map(|v| v.to_display()).collect()),
        _ => None,
    };
    if let Some(eq) = &equality {
        if !eq.is_empty() && !t.equality_include_type {
            return Err(
                "equality_include_type = false cannot be combined with non empty equality specification".into(),
            );
        }
        for n in eq {
            let from_parent = parent_member(n);
            let m = match &from_parent {
                Some(pm) if !pm.function => {
                    let p = parent.as_ref().expect("a parent member has a parent");
                    if p.equality_attrs().contains(n) {
                        let definer = equality_definer(p, n);
                        return Err(format!(
                            "{label} equality is referencing {} which is included in equality of {definer}",
                            pm.label(&owner_of(p, n))
                        ));
                    }
                    Some(pm.clone())
                }
                Some(pm) => Some(pm.clone()),
                None => t
                    .attrs
                    .iter()
                    .chain(t.funcs.iter())
                    .find(|m| &m.name == n)
                    .cloned(),
            };
            let Some(m) = m else {
                return Err(format!(
                    "{label} equality is referencing non existent attribute '{n}'"
                ));
            };
            let owner = if from_parent.is_some() {
                owner_of(parent.as_ref().expect("parent"), n)
            } else {
                label.clone()
            };
            if m.function {
                return Err(format!(
                    "{label} equality is referencing {}. Only attribute references are allowed",
                    m.label(&owner)
                ));
            }
            if m.is_constant() {
                return Err(format!("{label} equality is referencing constant {}. Reference to constant is not allowed in equality", m.label(&owner)));
            }
        }
    }
    t.equality = equality;
    Ok(t)
}

/// Does `t`'s parent chain lead back to `t` (also through an alias still being defined)?
fn inherits_itself(t: &ObjType) -> bool {
    let Some(name) = &t.name else {
        return false;
    };
    let mut cur = t.parent.clone();
    for _ in 0..crate::limits::MAX_DEPTH {
        let Some(p) = cur else {
            return false;
        };
        let next = match &p {
            Type::Alias(n, inner) => {
                if n.eq_ignore_ascii_case(name) {
                    return true;
                }
                (**inner).clone()
            }
            other => other.clone(),
        };
        cur = match next {
            Type::Late(n, w) => {
                if n.eq_ignore_ascii_case(name) {
                    return true;
                }
                w.upgrade().map(|x| (*x).clone())
            }
            Type::Obj(o) => {
                if o.name.as_deref() == Some(name.as_str()) {
                    return true;
                }
                o.parent.clone()
            }
            Type::Alias(..) => Some(next),
            _ => None,
        };
    }
    false
}

fn member(
    name: &str,
    _owner: &str,
    ty: Type,
    kind: Option<String>,
    value: Option<Value>,
) -> Member {
    Member {
        name: name.to_string(),
        ty,
        kind,
        value,
        final_: false,
        override_: false,
        function: false,
    }
}

/// The name of the ancestor (of `t` or `t` itself) that declares member `n`.
fn owner_of(t: &ObjType, n: &str) -> String {
    let mut cur: std::rc::Rc<ObjType> = std::rc::Rc::new(t.clone());
    for _ in 0..crate::limits::MAX_DEPTH {
        if cur
            .attrs
            .iter()
            .chain(cur.funcs.iter())
            .any(|m| m.name == n)
        {
            return cur.label().to_string();
        }
        match cur.parent_obj() {
            Some(p) => cur = p,
            None => break,
        }
    }
    t.label().to_string()
}

/// The topmost ancestor whose equality includes `n`.
fn equality_definer(t: &ObjType, n: &str) -> String {
    let mut cur: std::rc::Rc<ObjType> = std::rc::Rc::new(t.clone());
    for _ in 0..crate::limits::MAX_DEPTH {
        match cur.parent_obj() {
            Some(p) if p.equality_attrs().iter().any(|x| x == n) => cur = p,
            _ => break,
        }
    }
    cur.label().to_string()
}

fn attribute(k: &str, label: &str, spec: Value) -> Result<Member, String> {
    let lbl = format!("attribute {label}[{k}]");
    let h = match &spec {
        Value::Hash(h) => (**h).clone(),
        Value::Type(ty) => {
            let mut h = Map::default();
            h.insert(Value::str("type"), spec.clone());
            if matches!(ty.resolved(), Type::Optional(_)) {
                h.insert(Value::str("value"), Value::Undef);
            }
            h
        }
        other => {
            return Err(mismatch(
                &format!("{lbl} has wrong type,"),
                &Type::Type(None),
                other,
            ))
        }
    };
    let hv = Value::Hash(std::rc::Rc::new(h.clone()));
    let at = attribute_type();
    if !at.is_instance(&hv) {
        return Err(mismatch(
            &format!("initializer for {lbl} has wrong type,"),
            &at,
            &hv,
        ));
    }
    if k == "__ptype" || k == "__pvalue" {
        return Err(format!(
            "The attribute '{k}' is reserved and cannot be used"
        ));
    }
    let ty = match get(&h, "type") {
        Some(Value::Type(x)) => (**x).clone(),
        _ => Type::Any,
    };
    let kind = get(&h, "kind").map(|v| v.to_display());
    let mut final_ = flag(&h, "final");
    if kind.as_deref() == Some("constant") {
        if matches!(get(&h, "final"), Some(Value::Bool(false))) {
            return Err(format!(
                "{lbl} of kind 'constant' cannot be combined with final => false"
            ));
        }
        final_ = true;
    }
    let value = match h.get(&Value::str("value")) {
        Some(v) => {
            if let Some(kd @ ("derived" | "given_or_derived")) = kind.as_deref() {
                return Err(format!(
                    "{lbl} of kind '{kd}' cannot be combined with an attribute value"
                ));
            }
            if !matches!(v, Value::Default) && !ty.is_instance(v) {
                return Err(mismatch(&format!("{lbl} value has wrong type,"), &ty, v));
            }
            Some(v.clone())
        }
        None => {
            if kind.as_deref() == Some("constant") {
                return Err(format!("{lbl} of kind 'constant' requires a value"));
            }
            None
        }
    };
    let mut m = member(k, label, ty, kind, value);
    m.final_ = final_;
    m.override_ = flag(&h, "override");
    Ok(m)
}

/// Puppet's assert_can_be_overridden: may `m` override the inherited `pm`?
fn can_override(
    pm: &Member,
    m: &Member,
    member: &str,
    parent: Option<&ObjType>,
) -> Result<(), String> {
    let owner = match parent {
        Some(p) => owner_of(p, &pm.name),
        None => String::new(),
    };
    let plabel = pm.label(&owner);
    if pm.function != m.function {
        return Err(format!("{member} attempts to override {plabel}"));
    }
    if pm.final_ && !(pm.is_constant() && m.is_constant()) {
        return Err(format!("{member} attempts to override final {plabel}"));
    }
    if !m.override_ {
        return Err(format!(
            "{member} attempts to override {plabel} without having override => true"
        ));
    }
    if !pm.ty.is_assignable(&m.ty) {
        return Err(format!(
            "{member} attempts to override {plabel} with a type that does not match"
        ));
    }
    Ok(())
}
