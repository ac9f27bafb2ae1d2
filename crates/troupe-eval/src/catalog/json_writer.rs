//! The catalog's JSON written straight into a string: the bytes `serde_json::to_string` gives
//! for [`Catalog::to_json`], without first building that tree of JSON values (for a large
//! catalog, building, writing and dropping the tree took a third of the compile).

use super::schema::namevar_from_title;
use super::{value_to_json, Catalog, Resource};
use serde_json::Value as J;
use troupe_values::value::Value;

/// A parameter's value as it is written.
enum Out<'a> {
    Str(&'a str),
    Json(J),
    Value(&'a Value),
}

impl Catalog {
    /// `serde_json::to_string(&self.to_json(catalog_uuid))`, written directly.
    pub fn write_json(&self, catalog_uuid: &str) -> String {
        let mut w: Vec<u8> = Vec::with_capacity(256 + self.resources.len() * 256);
        w.extend_from_slice(b"{\"tags\":");
        strs(&mut w, &self.tags);
        w.extend_from_slice(b",\"name\":");
        string(&mut w, &self.name);
        w.extend_from_slice(b",\"version\":");
        json(&mut w, &self.version);
        w.extend_from_slice(b",\"code_id\":null,\"catalog_uuid\":");
        string(&mut w, catalog_uuid);
        w.extend_from_slice(b",\"catalog_format\":2,\"environment\":");
        string(&mut w, &self.environment);
        w.extend_from_slice(b",\"resources\":[");
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                w.push(b',');
            }
            resource(&mut w, r);
        }
        w.extend_from_slice(b"],\"edges\":[");
        for (i, (s, t)) in self.edges.iter().enumerate() {
            if i > 0 {
                w.push(b',');
            }
            w.extend_from_slice(b"{\"source\":");
            string(&mut w, s);
            w.extend_from_slice(b",\"target\":");
            string(&mut w, t);
            w.push(b'}');
        }
        w.extend_from_slice(b"],\"classes\":");
        strs(&mut w, &self.classes);
        w.push(b'}');
        String::from_utf8(w).unwrap_or_default()
    }
}

fn resource(w: &mut Vec<u8>, r: &Resource) {
    w.extend_from_slice(b"{\"type\":");
    string(w, &r.type_name);
    w.extend_from_slice(b",\"title\":");
    string(w, &r.title);
    w.extend_from_slice(b",\"tags\":");
    strs(w, &r.tags);
    if let Some(f) = &r.file {
        w.extend_from_slice(b",\"file\":");
        string(w, f);
    }
    if let Some(l) = r.line {
        w.extend_from_slice(b",\"line\":");
        w.extend_from_slice(l.to_string().as_bytes());
    }
    w.extend_from_slice(if r.exported {
        b",\"exported\":true,\"kind\":"
    } else {
        b",\"exported\":false,\"kind\":"
    });
    string(w, r.kind.as_str());
    // As `to_json` inserts them into a map: a key inserted again keeps its place.
    let mut params: Vec<(&str, Out)> = Vec::with_capacity(r.params.len() + 1);
    let mut sensitive: Vec<&str> = Vec::new();
    if r.name_param {
        params.push(("name", Out::Str(&r.title)));
    }
    let nv = r.namevar;
    let namevar = match r.params.get(nv) {
        Some(v) if !v.is_undef() => match v {
            Value::Str(s) => Out::Str(s),
            other => Out::Json(value_to_json(other)),
        },
        _ => Out::Str(namevar_from_title(&r.type_name, &r.title)),
    };
    let equals_title = match &namevar {
        Out::Str(s) => *s == r.title,
        Out::Json(j) => j.as_str() == Some(r.title.as_str()),
        Out::Value(_) => false,
    };
    if !equals_title {
        put(&mut params, nv, namevar);
    }
    for (k, v) in &r.params {
        if k == nv || v.is_undef() {
            continue;
        }
        let out = if let Value::Sensitive(inner) = v {
            sensitive.push(k);
            Out::Value(inner)
        } else {
            Out::Value(v)
        };
        if k == "name" {
            put(&mut params, k, out);
        } else {
            params.push((k, out));
        }
    }
    if !params.is_empty() {
        w.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                w.push(b',');
            }
            string(w, k);
            w.push(b':');
            match v {
                Out::Str(s) => string(w, s),
                Out::Json(j) => json(w, j),
                Out::Value(v) => value(w, v),
            }
        }
        w.push(b'}');
    }
    if !sensitive.is_empty() {
        w.extend_from_slice(b",\"sensitive_parameters\":[");
        for (i, k) in sensitive.iter().enumerate() {
            if i > 0 {
                w.push(b',');
            }
            string(w, k);
        }
        w.push(b']');
    }
    w.push(b'}');
}

fn put<'a>(params: &mut Vec<(&'a str, Out<'a>)>, key: &'a str, out: Out<'a>) {
    match params.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 = out,
        None => params.push((key, out)),
    }
}

fn value(w: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => string(w, s),
        Value::Bool(true) => w.extend_from_slice(b"true"),
        Value::Bool(false) => w.extend_from_slice(b"false"),
        Value::Int(i) => w.extend_from_slice(i.to_string().as_bytes()),
        other => json(w, &value_to_json(other)),
    }
}

fn string(w: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *w, s);
}

fn strs(w: &mut Vec<u8>, list: &[String]) {
    w.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        string(w, s);
    }
    w.push(b']');
}

fn json(w: &mut Vec<u8>, j: &J) {
    let _ = serde_json::to_writer(&mut *w, j);
}

#[cfg(test)]
mod tests {
    use super::super::{Catalog, Kind, Resource};
    use troupe_values::value::Value;

    fn res(t: &str, title: &str, params: &[(&str, Value)], namevar: &'static str) -> Resource {
        Resource {
            type_name: t.into(),
            title: title.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<crate::catalog::Params>(),
            tags: vec!["a".into(), "q\"uote".into()],
            file: Some("/x/\u{e9}.pp".into()),
            line: Some(7),
            exported: false,
            virtual_: false,
            kind: Kind::Compilable,
            scope: 0,
            evaluated: true,
            name_param: false,
            namevar,
        }
    }

    #[test]
    fn writes_the_bytes_serde_writes_for_to_json() {
        let sens = Value::Sensitive(std::rc::Rc::new(Value::str("s")));
        let arr = Value::array(vec![Value::Int(-3), Value::Float(1.5), Value::Undef]);
        let mut named = res("Stage", "main", &[("name", Value::str("other"))], "name");
        named.name_param = true;
        named.exported = true;
        let mut stage = res("Class", "main", &[], "name");
        stage.name_param = true;
        stage.file = None;
        stage.line = None;
        let cat = Catalog {
            name: "n\u{1}ode".into(),
            environment: "production".into(),
            version: serde_json::json!(1234),
            tags: vec!["settings".into()],
            resources: vec![
                res("File", "/tmp/x/", &[("mode", Value::str("0644"))], "path"),
                res("File", "/tmp/y", &[("path", Value::str("/tmp/z"))], "path"),
                res("Package", "p", &[("name", Value::str("p"))], "name"),
                res("Exec", "e", &[("command", Value::str("e"))], "command"),
                res(
                    "Notify",
                    "m",
                    &[
                        ("message", arr),
                        ("withpath", Value::Bool(true)),
                        ("loglevel", Value::Undef),
                    ],
                    "name",
                ),
                res(
                    "User",
                    "u",
                    &[("password", sens), ("uid", Value::Int(9))],
                    "name",
                ),
                res("Ini_setting", "i", &[("name", Value::str("j"))], "path"),
                named,
                stage,
            ],
            edges: vec![("Stage[main]".into(), "Class[main]".into())],
            stored_only: vec![],
            stored_edges: vec![],
            classes: vec!["main".into()],
        };
        let expected = serde_json::to_string(&cat.to_json("uuid")).expect("JSON");
        assert_eq!(cat.write_json("uuid"), expected);
    }
}
