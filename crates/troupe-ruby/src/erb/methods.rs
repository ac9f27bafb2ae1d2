//! Method calls: the template's own `def`s and Kernel (no receiver), constants (`IPAddr`,
//! `File`, `JSON`, `Regexp`, ...), `scope`, methods every object has, and the dispatch to the
//! receiver's class (`string`, `array`, `hash`, `numbers`, `ipaddr`).

use super::parse::Block;
use super::robj::{as_obj, class_of, const_name, inspect, is_scope, to_s};
use super::Ctx;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Map;
use troupe_values::value::Value;

/// Whether `v` is of the Ruby class (or module) named `c`.
pub(super) fn is_a(v: &Value, c: &str) -> bool {
    let k = class_of(v);
    c == k
        || c == "Object"
        || c == "BasicObject"
        || c == "Kernel"
        || (c == "Numeric" || c == "Comparable") && matches!(k.as_str(), "Integer" | "Float")
        || c == "Comparable" && k == "String"
        || c == "Enumerable" && matches!(k.as_str(), "Array" | "Hash")
}

impl Ctx<'_> {
    pub(super) fn method(
        &mut self,
        recv: Option<Value>,
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let Some(r) = recv else {
            return self.kernel(name, args, blk);
        };
        if let Some(c) = const_name(&r) {
            let c = c.to_string();
            return self.class_method(&c, name, args, blk);
        }
        if is_scope(&r) {
            return self.scope_method(name, args);
        }
        match as_obj(&r) {
            Some(("IPAddr", f)) if !matches!(name, "class" | "is_a?" | "nil?") => {
                return self.ipaddr_method(f, name, &args)
            }
            Some(("IPRange", f)) => return self.iprange_method(f, name),
            Some(("Enumerator", f)) => {
                let f = f.to_vec();
                return self.enumerator_method(&f, name, args, blk);
            }
            Some(("BigInt", _)) if matches!(name, "to_s" | "inspect") => {
                return Ok(Value::str(to_s(&r)))
            }
            Some(("Symbol", [Value::Str(n)])) => {
                return match (name, args.as_slice()) {
                    ("to_s" | "id2name" | "name", []) => Ok(Value::Str(n.clone())),
                    ("to_sym", []) => Ok(r.clone()),
                    ("inspect", []) => Ok(Value::str(inspect(&r))),
                    ("==", [o]) => Ok(Value::Bool(*o == r)),
                    ("length" | "size", []) => Ok(Value::Int(n.chars().count() as i64)),
                    ("<=>", [o]) => Ok(super::compare::ruby_cmp(&r, o)
                        .map_or(Value::Undef, |o| Value::Int(o as i64))),
                    _ => Err(self.unsupported(format!("Symbol#{name}"))),
                };
            }
            Some((c, _)) if !matches!(name, "class" | "nil?") => {
                return Err(self.unsupported(format!("{c}#{name}")))
            }
            _ => {}
        }
        // Methods every object has.
        match (name, args.as_slice()) {
            ("nil?", []) => return Ok(Value::Bool(r.is_undef())),
            // Values are immutable here: a copy is the value itself.
            ("dup" | "clone" | "itself", []) => return Ok(r.clone()),
            ("freeze", []) => return Ok(r.clone()),
            ("to_s", []) if !matches!(r, Value::Int(_)) => return Ok(Value::str(to_s(&r))),
            ("inspect", []) => return Ok(Value::str(inspect(&r))),
            ("to_yaml", []) => {
                return crate::yaml::psych_yaml(&r)
                    .map(Value::str)
                    .map_err(|m| self.err(m))
            }
            ("to_json", []) => return self.json_method(&r, "to_json", &args),
            ("is_a?" | "kind_of?" | "instance_of?", [c]) => {
                let Some(c) = const_name(c) else {
                    return Err(self.err("class or module required"));
                };
                let ok = if name == "instance_of?" {
                    class_of(&r) == c
                } else {
                    is_a(&r, c)
                };
                return Ok(Value::Bool(ok));
            }
            ("class", []) => return Ok(super::robj::constant(&class_of(&r))),
            ("equal?", [o]) => {
                // Identity: only the immediate values can be told apart here.
                return match (&r, o) {
                    (Value::Undef | Value::Bool(_) | Value::Int(_), _) => Ok(Value::Bool(r == *o)),
                    _ => Err(self.unsupported("equal? (object identity)")),
                };
            }
            ("==" | "eql?", [o]) if !matches!(r, Value::Str(_)) => {
                return Ok(Value::Bool(if name == "==" {
                    self.binop("==", r.clone(), o.clone())? == Value::Bool(true)
                } else {
                    *o == r && class_of(o) == class_of(&r)
                }))
            }
            ("!=", [o]) => {
                let eq = self.binop("==", r.clone(), o.clone())?;
                return Ok(Value::Bool(eq != Value::Bool(true)));
            }
            ("then" | "yield_self", []) if blk.is_some() => {
                let b = blk.ok_or_else(|| self.err("no block"))?;
                return self.call_block(b, vec![r]);
            }
            ("send" | "public_send" | "__send__", [m, rest @ ..]) => {
                let m = to_s(m);
                return self.method(Some(r), &m, rest.to_vec(), blk);
            }
            _ => {}
        }
        match &r {
            Value::Regex(re) => self.regexp_method(&r, re, name, args),
            Value::Str(s) => self.str_method(&r, s, name, args, blk),
            Value::Array(a) => self.array_method(&r, a, name, args, blk),
            Value::Hash(h) => self.hash_method(&r, h, name, args, blk),
            Value::Int(_) | Value::Float(_) => self.num_method(&r, name, args, blk),
            Value::Undef => match (name, args.as_slice()) {
                ("to_a", []) => Ok(Value::array(vec![])),
                ("to_s", []) => Ok(Value::str("")),
                ("to_i", []) => Ok(Value::Int(0)),
                ("to_f", []) => Ok(Value::Float(0.0)),
                ("to_h", []) => Ok(Value::hash(Map::default())),
                ("&", [_]) => Ok(Value::Bool(false)),
                ("|" | "^", [o]) => Ok(Value::Bool(crate::object::truthy(o))),
                _ => Err(self.err(format!("undefined method `{name}' for nil:NilClass"))),
            },
            Value::Bool(b) => match (name, args.as_slice()) {
                ("to_s", []) => Ok(Value::str(b.to_string())),
                ("&", [o]) => Ok(Value::Bool(*b && crate::object::truthy(o))),
                ("|", [o]) => Ok(Value::Bool(*b || crate::object::truthy(o))),
                ("^", [o]) => Ok(Value::Bool(*b != crate::object::truthy(o))),
                _ => Err(self.unsupported(format!("{}#{name}", class_of(&r)))),
            },
            _ => Err(self.unsupported(format!("{}#{name}", class_of(&r)))),
        }
    }

    /// A method called without a receiver: the template's `def`s, then Kernel's.
    fn kernel(&mut self, name: &str, args: Vec<Value>, blk: Option<&Block>) -> EResult<Value> {
        if let Some(b) = self.defs.get(name).cloned() {
            return self.call_def(&b, args, blk);
        }
        match (name, args.as_slice()) {
            ("defined?", [v]) => Ok(if v.is_undef() {
                Value::Undef
            } else {
                Value::str("expression")
            }),
            ("raise" | "fail", []) => Err(self.err("unhandled exception")),
            ("raise" | "fail", [m]) => Err(self.err(to_s(m))),
            ("raise" | "fail", [_, m]) => Err(self.err(to_s(m))),
            ("require", [_]) => Ok(Value::Bool(false)),
            ("next", _) => {
                let mut e = EvalError::new("next used outside of a block");
                e.flow = Some(troupe_values::error::Flow::Next(
                    args.into_iter().next().unwrap_or(Value::Undef),
                ));
                Err(e)
            }
            ("block_given?", []) => {
                Ok(Value::Bool(self.blocks.last().is_some_and(|b| b.is_some())))
            }
            ("yield", _) => match self.blocks.last().cloned().flatten() {
                Some(b) => self.call_block(&b, args),
                None => Err(self.err("no block given (yield)")),
            },
            // Kernel conversions.
            ("Array", [v]) => Ok(match v {
                Value::Undef => Value::array(vec![]),
                a @ Value::Array(_) => a.clone(),
                Value::Hash(h) => Value::array(
                    h.iter()
                        .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
                        .collect(),
                ),
                other => Value::array(vec![other.clone()]),
            }),
            ("String", [v]) => Ok(Value::str(to_s(v))),
            ("Integer", [v]) => match v {
                Value::Int(i) => Ok(Value::Int(*i)),
                Value::Float(f) if f.is_finite() => Ok(Value::Int(f.trunc() as i64)),
                Value::Str(s) => {
                    let t = s.trim().replace('_', "");
                    let parsed = match t.strip_prefix("0x").or(t.strip_prefix("0X")) {
                        Some(h) => i64::from_str_radix(h, 16).ok(),
                        None => t.parse::<i64>().ok(),
                    };
                    parsed.map(Value::Int).ok_or_else(|| {
                        self.err(format!(
                            "{}invalid value for Integer(): {}",
                            super::RUBY_ERROR,
                            inspect(v)
                        ))
                    })
                }
                Value::Undef => Err(self.err("can't convert nil into Integer")),
                _ => Err(self.unsupported("Integer() of this value")),
            },
            ("Float", [v]) => match v {
                Value::Int(i) => Ok(Value::Float(*i as f64)),
                Value::Float(_) => Ok(v.clone()),
                Value::Str(s) => s.trim().parse::<f64>().map(Value::Float).map_err(|_| {
                    self.err(format!(
                        "{}invalid value for Float(): {}",
                        super::RUBY_ERROR,
                        inspect(v)
                    ))
                }),
                _ => Err(self.unsupported("Float() of this value")),
            },
            ("sprintf" | "format", [f, rest @ ..]) => {
                let f = to_s(f);
                Ok(Value::str(self.sprintf(&f, rest)?))
            }
            ("instance_variables", []) => {
                let mut names = vec![super::robj::symbol("@__scope__")];
                if self.file != "inline template" {
                    names.push(super::robj::symbol("@__file__"));
                }
                for k in self.scope.to_hash().keys() {
                    let n = format!(
                        "@{}",
                        to_s(k).replace(|c: char| !c.is_alphanumeric() && c != '_', "_")
                    );
                    names.push(super::robj::symbol(&n));
                }
                for k in self.ivars.keys() {
                    let n = super::robj::symbol(&format!("@{k}"));
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                Ok(Value::array(names))
            }
            ("instance_variable_get", [n]) => {
                let n = to_s(n);
                let Some(n) = n.strip_prefix('@') else {
                    return Err(
                        self.err(format!("'{n}' is not allowed as an instance variable name"))
                    );
                };
                match self.ivars.get(n) {
                    Some(v) => Ok(v.clone()),
                    None => self.lookup(n),
                }
            }
            ("has_variable?", [n]) => {
                let v = self.lookup(to_s(n).trim_start_matches("::"))?;
                Ok(Value::Bool(!v.is_undef()))
            }
            ("scope", []) => Ok(super::robj::scope()),
            _ => Err(self.unsupported(format!("method `{name}' ({} arguments)", args.len()))),
        }
    }

    /// Calls a template's `def` method: positional parameters, defaults, keywords, `return`.
    fn call_def(&mut self, b: &Block, args: Vec<Value>, blk: Option<&Block>) -> EResult<Value> {
        // A method sees its parameters only, not the template's locals.
        let saved = std::mem::take(&mut self.locals);
        self.blocks.push(blk.cloned());
        let r = self.run_def(b, args);
        self.blocks.pop();
        self.locals = saved;
        match r {
            Err(e) if matches!(e.flow, Some(troupe_values::error::Flow::Return(_))) => match e.flow
            {
                Some(troupe_values::error::Flow::Return(v)) => Ok(v),
                _ => Ok(Value::Undef),
            },
            r => r,
        }
    }

    fn run_def(&mut self, b: &Block, mut args: Vec<Value>) -> EResult<Value> {
        let mut frame = std::collections::HashMap::new();
        // Keyword parameters take a trailing Hash argument.
        let kw: Map = if !b.keywords.is_empty() {
            match args.last() {
                Some(Value::Hash(h)) => {
                    let h = (**h).clone();
                    args.pop();
                    h
                }
                _ => Map::default(),
            }
        } else {
            Map::default()
        };
        let required = b
            .params
            .iter()
            .filter(|p| !b.defaults.contains_key(*p))
            .count();
        if args.len() < required || args.len() > b.params.len() {
            return Err(self.err(format!(
                "wrong number of arguments (given {}, expected {})",
                args.len(),
                required
            )));
        }
        self.locals.push(frame.clone());
        let mut extra = args.len() - required;
        let mut it = args.into_iter();
        for p in &b.params {
            let v = match b.defaults.get(p) {
                Some(d) if extra == 0 => self.eval(d)?,
                Some(_) => {
                    extra -= 1;
                    it.next().unwrap_or(Value::Undef)
                }
                None => it.next().unwrap_or(Value::Undef),
            };
            frame.insert(p.clone(), v.clone());
            if let Some(top) = self.locals.last_mut() {
                top.insert(p.clone(), v);
            }
        }
        for (k, d) in &b.keywords {
            let v = match kw.get(&Value::str(k.as_str())) {
                Some(v) => v.clone(),
                None => match d {
                    Some(d) => self.eval(d)?,
                    None => return Err(self.err(format!("missing keyword: :{k}"))),
                },
            };
            if let Some(top) = self.locals.last_mut() {
                top.insert(k.clone(), v);
            }
        }
        let r = self.run(&b.body);
        self.locals.pop();
        r
    }

    /// Puppet's `scope` object.
    fn scope_method(&mut self, name: &str, args: Vec<Value>) -> EResult<Value> {
        match (name, args.as_slice()) {
            ("setvar", [n, v]) => {
                self.scope
                    .setvar(to_s(n).trim_start_matches("::"), v.clone());
                Ok(v.clone())
            }
            ("lookupvar" | "[]", [n]) => self.lookup(to_s(n).trim_start_matches("::")),
            ("include?", [n]) => {
                let v = self.lookup(to_s(n).trim_start_matches("::"))?;
                Ok(Value::Bool(!v.is_undef()))
            }
            ("call_function", [f, rest @ ..]) => {
                let f = to_s(f);
                // Puppet splats its second argument (`function.call(scope, *args)`): an
                // Array's items, a Hash's [key, value] pairs, nil nothing.
                let fa = match rest {
                    [Value::Array(a)] => (**a).clone(),
                    [Value::Hash(h)] => h
                        .iter()
                        .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
                        .collect(),
                    [Value::Undef] | [] => vec![],
                    other => other.to_vec(),
                };
                self.call_puppet(&f, fa).map_err(|e| {
                    if e.msg.contains(&format!("Unknown function: '{f}'.")) {
                        self.err(format!("Unknown function '{f}'"))
                    } else {
                        e
                    }
                })
            }
            ("to_hash", []) => Ok(Value::hash(self.scope.to_hash())),
            (n, _) if n.starts_with("function_") => {
                // Puppet's Scope#method_missing finds 3.x functions and wraps 4.x ones; the
                // function gets the items of its one Array argument. The 4.x built-ins that
                // Puppet ships 3.x stubs for refuse this API.
                let f = &n["function_".len()..];
                let fa =
                    match args.as_slice() {
                        [Value::Array(a)] => (**a).clone(),
                        _ => return Err(self.err(
                            "custom functions must be called with a single array that contains \
                             the arguments. For example, function_example([1]) instead of \
                             function_example(1)",
                        )),
                    };
                if FUNCTIONS_4X_ONLY.contains(&f) {
                    return Err(self.err(format!(
                        "{f}() can only be called using the 4.x function API. See Scope#call_function"
                    )));
                }
                self.call_puppet(f, fa).map_err(|e| {
                    if e.msg.contains(&format!("Unknown function: '{f}'.")) {
                        self.err(format!(
                            "undefined method `{n}' for Scope():Puppet::Parser::Scope"
                        ))
                    } else {
                        e
                    }
                })
            }
            _ => Err(self.unsupported(format!("scope.{name}"))),
        }
    }

    /// `Regexp#match`, `=~`, `match?`, `source`, `===`.
    fn regexp_method(
        &mut self,
        r: &Value,
        re: &std::rc::Rc<troupe_values::value::Regexp>,
        name: &str,
        args: Vec<Value>,
    ) -> EResult<Value> {
        match (name, args.as_slice()) {
            ("match" | "=~" | "match?", [Value::Undef]) => {
                if name != "match?" {
                    self.last_match.clear();
                }
                Ok(if name == "match?" {
                    Value::Bool(false)
                } else {
                    Value::Undef
                })
            }
            ("match" | "=~" | "match?" | "===", [Value::Str(s)]) => {
                let n = if name == "===" { "match?" } else { name };
                self.regex_match(re, s, n)
            }
            ("source", []) => Ok(Value::str(ruby_source(&re.source))),
            _ => Err(self.unsupported(format!("Regexp#{name} on {}", inspect(r)))),
        }
    }

    /// Matches `re` on `s` as `match` (the groups, setting `$~`), `=~` (the character
    /// position, setting `$~`) or `match?` (true/false, `$~` untouched).
    pub(super) fn regex_match(
        &mut self,
        re: &troupe_values::value::Regexp,
        s: &str,
        how: &str,
    ) -> EResult<Value> {
        let found = re.captures(s);
        if how == "match?" {
            return Ok(Value::Bool(found.is_some()));
        }
        Ok(match found {
            Some((start, caps)) => {
                self.last_match = caps.clone();
                if how == "=~" {
                    Value::Int(s[..start].chars().count() as i64)
                } else {
                    Value::array(caps)
                }
            }
            None => {
                self.last_match.clear();
                Value::Undef
            }
        })
    }
}

/// Puppet's 4.x functions whose 3.x stubs refuse `scope.function_x` (they are called with
/// `scope.call_function`).
const FUNCTIONS_4X_ONLY: &[&str] = &[
    "assert_type",
    "binary_file",
    "break",
    "defined",
    "dig",
    "each",
    "epp",
    "filter",
    "find_file",
    "hiera",
    "hiera_array",
    "hiera_hash",
    "hiera_include",
    "inline_epp",
    "lest",
    "lookup",
    "map",
    "match",
    "new",
    "next",
    "reduce",
    "regsubst",
    "return",
    "reverse_each",
    "slice",
    "split",
    "step",
    "strftime",
    "then",
    "type",
    "with",
];

/// A regexp literal's source as written (without the flags the lexer puts in front).
fn ruby_source(s: &str) -> &str {
    match s.strip_prefix("(?") {
        Some(rest) if s.starts_with("(?m") => rest.split_once(')').map_or(s, |(_, r)| r),
        _ => s,
    }
}
