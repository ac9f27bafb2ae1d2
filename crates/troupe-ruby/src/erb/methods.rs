//! Methods on Strings, Hashes, numbers, and `scope`.

use super::parse::Block;
use super::Ctx;
use super::FUNCTIONS_3X;
use super::RUBY_ERROR;
use crate::object::inspect;
use crate::object::ruby_class;
use crate::object::ruby_to_s as to_s;
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::value::Map;
use troupe_values::value::Value;

impl Ctx<'_> {
    pub(super) fn method(
        &mut self,
        recv: Option<Value>,
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let Some(r) = recv else {
            if let Some(b) = self.defs.get(name).cloned() {
                // A method sees its parameters only, not the template's locals.
                let saved = std::mem::take(&mut self.locals);
                let r = self.call_block(&b, args);
                self.locals = saved;
                return r;
            }
            return match name {
                "defined?" => Ok(if args.first().is_some_and(|v| !v.is_undef()) {
                    Value::str("expression")
                } else {
                    Value::Undef
                }),
                "raise" | "fail" => Err(self.err(args.first().map(to_s).unwrap_or_default())),
                "require" => Ok(Value::Bool(true)),
                "next" => {
                    let mut e = EvalError::new("next used outside of a block");
                    e.flow = Some(troupe_values::error::Flow::Next(
                        args.into_iter().next().unwrap_or(Value::Undef),
                    ));
                    Err(e)
                }
                // Kernel conversions.
                "Array" => Ok(match &args.into_iter().next().unwrap_or(Value::Undef) {
                    Value::Undef => Value::array(vec![]),
                    a @ Value::Array(_) => a.clone(),
                    Value::Hash(h) => Value::array(
                        h.iter()
                            .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
                            .collect(),
                    ),
                    other => Value::array(vec![other.clone()]),
                }),
                "String" => Ok(Value::str(to_s(args.first().unwrap_or(&Value::Undef)))),
                "Integer" => match args.first() {
                    Some(Value::Int(i)) => Ok(Value::Int(*i)),
                    Some(Value::Float(f)) => Ok(Value::Int(*f as i64)),
                    Some(Value::Str(s)) => {
                        s.trim().parse::<i64>().map(Value::Int).map_err(|_| {
                            self.err(format!("invalid value for Integer(): {:?}", &**s))
                        })
                    }
                    _ => Err(self.err("can't convert nil into Integer")),
                },
                _ => Err(self.err(format!("undefined local variable or method `{name}'"))),
            };
        };
        if let Some(plain) = name.strip_suffix('!') {
            // A bang method on a value that is not a local: the copy it would change is the
            // result (values are immutable here).
            if !plain.is_empty() && !name.ends_with("!=") {
                return self.method(Some(r), plain, args, blk);
            }
        }
        if let Value::Type(t) = &r {
            if name == "new" {
                match t.to_string().trim_start_matches('\u{0}') {
                    "IPAddr" => {
                        let a = to_s(args.first().unwrap_or(&Value::Undef));
                        let addr = a.split('/').next().unwrap_or("");
                        return if addr.parse::<std::net::IpAddr>().is_ok() {
                            Ok(Value::str(a))
                        } else {
                            // ArgumentError, which `rescue` catches.
                            Err(self.err(format!("{RUBY_ERROR}invalid address: {a}")))
                        };
                    }
                    "Hash" => return Ok(Value::hash(Map::new())),
                    "Array" => return Ok(Value::array(vec![])),
                    "String" => return Ok(Value::str(to_s(args.first().unwrap_or(&Value::Undef)))),
                    _ => {}
                }
            }
        }
        if matches!(&r, Value::Str(s) if &**s == "\u{0}scope") {
            return match name {
                "setvar" => {
                    let n = to_s(args.first().unwrap_or(&Value::Undef));
                    let v = args.get(1).cloned().unwrap_or(Value::Undef);
                    self.scope.setvar(n.trim_start_matches("::"), v.clone());
                    Ok(v)
                }
                "lookupvar" | "[]" => {
                    let n = to_s(args.first().unwrap_or(&Value::Undef));
                    self.lookup(n.trim_start_matches("::"))
                }
                "call_function" => {
                    let f = to_s(args.first().unwrap_or(&Value::Undef));
                    let fa = match args.get(1) {
                        Some(Value::Array(a)) => (**a).clone(),
                        _ => vec![],
                    };
                    self.call_puppet(&f, fa)
                }
                n if n.starts_with("function_")
                    && FUNCTIONS_3X.contains(&&n["function_".len()..]) =>
                {
                    let fa = match args.first() {
                        Some(Value::Array(a)) => (**a).clone(),
                        _ => vec![],
                    };
                    self.call_puppet(&n["function_".len()..], fa)
                }
                "to_hash" => Ok(Value::hash(self.scope.to_hash())),
                _ => Err(self.err(format!("undefined method `{name}' for scope"))),
            };
        }
        // Generic methods.
        match name {
            "nil?" => return Ok(Value::Bool(r.is_undef())),
            // Values are immutable here: a copy is the value itself.
            "dup" | "clone" | "freeze" => return Ok(r.clone()),
            "to_s" => return Ok(Value::str(to_s(&r))),
            "inspect" => return Ok(Value::str(inspect(&r))),
            "to_yaml" if args.is_empty() => {
                return crate::yaml::psych_yaml(&r)
                    .map(Value::str)
                    .map_err(|m| self.err(m))
            }
            "to_json" if args.is_empty() => {
                return crate::json::ruby_json(&r, &crate::json::JsonLayout::default())
                    .map(Value::str)
                    .map_err(|m| self.err(m))
            }
            "is_a?" | "kind_of?" | "instance_of?" => {
                let c = match args.first() {
                    Some(Value::Type(t)) => t.to_string().trim_start_matches('\u{0}').to_string(),
                    _ => String::new(),
                };
                let k = ruby_class(&r);
                let ok = c == k
                    || (c == "Numeric" && matches!(k, "Integer" | "Float"))
                    || c == "Object"
                    || (c == "Fixnum" && k == "Integer");
                return Ok(Value::Bool(ok));
            }
            "class" => return Ok(Value::str(ruby_class(&r))),
            "respond_to?" => return Ok(Value::Bool(true)),
            "frozen?" => return Ok(Value::Bool(false)),
            "==" => return Ok(Value::Bool(args.first() == Some(&r))),
            _ => {}
        }
        let bad = |s: &Self| {
            s.err(format!(
                "undefined method `{name}' for {}:{}",
                inspect(&r),
                ruby_class(&r)
            ))
        };
        match &r {
            Value::Regex(re) if name == "match" || name == "=~" || name == "match?" => {
                let s = match args.first() {
                    Some(Value::Undef) | None => return Ok(Value::Undef),
                    Some(v) => to_s(v),
                };
                Ok(match re.captures(&s) {
                    Some((_, caps)) if name == "match" => Value::array(caps),
                    Some((start, _)) if name == "=~" => {
                        Value::Int(s[..start].chars().count() as i64)
                    }
                    Some(_) => Value::Bool(true),
                    None if name == "match?" => Value::Bool(false),
                    None => Value::Undef,
                })
            }
            Value::Str(s) => {
                let a0 = args.first().map(to_s).unwrap_or_default();
                Ok(match name {
                    "upcase" => Value::str(s.to_uppercase()),
                    "chars" => Value::array(s.chars().map(|c| Value::str(c.to_string())).collect()),
                    "match" | "match?" => {
                        let re = match args.first() {
                            Some(Value::Regex(re)) => re.clone(),
                            _ => std::rc::Rc::new(
                                troupe_values::value::Regexp::new(&a0).map_err(|e| self.err(e))?,
                            ),
                        };
                        match re.captures(s) {
                            Some(_) if name == "match?" => Value::Bool(true),
                            Some((_, caps)) => Value::array(caps),
                            None if name == "match?" => Value::Bool(false),
                            None => Value::Undef,
                        }
                    }
                    "index" => match s.find(a0.as_str()) {
                        Some(b) => Value::Int(s[..b].chars().count() as i64),
                        None => Value::Undef,
                    },
                    "downcase" => Value::str(s.to_lowercase()),
                    "capitalize" => {
                        let mut c = s.chars();
                        Value::str(
                            c.next()
                                .map(|f| {
                                    f.to_uppercase().collect::<String>()
                                        + &c.as_str().to_lowercase()
                                })
                                .unwrap_or_default(),
                        )
                    }
                    "strip" => Value::str(s.trim()),
                    "lstrip" => Value::str(s.trim_start()),
                    "rstrip" => Value::str(s.trim_end()),
                    "chomp" => Value::str(s.strip_suffix('\n').unwrap_or(s)),
                    "length" | "size" => Value::Int(s.chars().count() as i64),
                    "empty?" => Value::Bool(s.is_empty()),
                    "include?" => Value::Bool(s.contains(a0.as_str())),
                    "start_with?" => {
                        Value::Bool(args.iter().any(|a| s.starts_with(to_s(a).as_str())))
                    }
                    "end_with?" => Value::Bool(args.iter().any(|a| s.ends_with(to_s(a).as_str()))),
                    "to_i" => Value::Int(
                        s.trim()
                            .chars()
                            .take_while(|c| c.is_ascii_digit() || *c == '-')
                            .collect::<String>()
                            .parse()
                            .unwrap_or(0),
                    ),
                    "to_f" => Value::Float(s.trim().parse().unwrap_or(0.0)),
                    "to_sym" | "to_str" => r.clone(),
                    "split" => {
                        let parts: Vec<Value> = match args.first() {
                            None => s.split_whitespace().map(Value::from).collect(),
                            Some(Value::Regex(re)) => re
                                .needs_plain("String#split")
                                .map_err(|e| self.err(e))?
                                .split(s)
                                .map(Value::from)
                                .collect(),
                            Some(sep) => s.split(to_s(sep).as_str()).map(Value::from).collect(),
                        };
                        let mut parts = parts;
                        while parts
                            .last()
                            .is_some_and(|p| matches!(p, Value::Str(x) if x.is_empty()))
                        {
                            parts.pop();
                        }
                        Value::array(parts)
                    }
                    "gsub" | "sub" => {
                        let repl = args.get(1).map(to_s).unwrap_or_default();
                        let re = match args.first() {
                            Some(Value::Regex(re)) => re
                                .needs_plain("String#gsub")
                                .map_err(|e| self.err(e))?
                                .clone(),
                            Some(x) => regex::Regex::new(&regex::escape(&to_s(x)))
                                .map_err(|e| self.err(e.to_string()))?,
                            None => return Err(bad(self)),
                        };
                        let repl = repl.replace("\\\\", "\u{1}").replace('$', "$$");
                        let repl = (0..10)
                            .fold(repl, |acc, i| {
                                acc.replace(&format!("\\{i}"), &format!("${{{i}}}"))
                            })
                            .replace('\u{1}', "\\");
                        Value::str(if name == "gsub" {
                            re.replace_all(s, repl.as_str()).into_owned()
                        } else {
                            re.replace(s, repl.as_str()).into_owned()
                        })
                    }
                    "tr" => {
                        let from: Vec<char> = a0.chars().collect();
                        let to: Vec<char> =
                            args.get(1).map(to_s).unwrap_or_default().chars().collect();
                        Value::str(
                            s.chars()
                                .map(|c| match from.iter().position(|f| *f == c) {
                                    Some(i) => *to.get(i).or(to.last()).unwrap_or(&c),
                                    None => c,
                                })
                                .collect::<String>(),
                        )
                    }
                    "ljust" | "rjust" => {
                        let w = match args.first() {
                            Some(Value::Int(w)) => *w as usize,
                            _ => 0,
                        };
                        let pad = args.get(1).map(to_s).unwrap_or(" ".into());
                        let n = s.chars().count();
                        if n >= w {
                            r.clone()
                        } else {
                            troupe_values::limits::reserve(w as u64)?;
                            let fill: String = pad.chars().cycle().take(w - n).collect();
                            Value::str(if name == "ljust" {
                                format!("{s}{fill}")
                            } else {
                                format!("{fill}{s}")
                            })
                        }
                    }
                    "squeeze" => {
                        let mut out = String::new();
                        for c in s.chars() {
                            if !out.ends_with(c) {
                                out.push(c);
                            }
                        }
                        Value::str(out)
                    }
                    "each_line" | "lines" => {
                        let lines: Vec<Value> = s.split_inclusive('\n').map(Value::from).collect();
                        if let Some(b) = blk {
                            for l in &lines {
                                self.call_block(b, vec![l.clone()])?;
                            }
                            r.clone()
                        } else {
                            Value::array(lines)
                        }
                    }
                    "%" => Value::str(crate::format::sprintf(s, &args)?),
                    _ => return Err(bad(self)),
                })
            }
            Value::Array(a) => self.array_method(&r, a, name, args, blk),
            Value::Hash(h) => {
                let pairs: Vec<Value> = h
                    .iter()
                    .map(|(k, v)| Value::array(vec![k.clone(), v.clone()]))
                    .collect();
                match name {
                    "keys" => Ok(Value::array(h.keys().cloned().collect())),
                    "values" => Ok(Value::array(h.values().cloned().collect())),
                    "key?" | "has_key?" | "include?" | "member?" => {
                        Ok(Value::Bool(args.first().is_some_and(|k| h.contains_key(k))))
                    }
                    "fetch" => match h.get(args.first().unwrap_or(&Value::Undef)) {
                        Some(v) => Ok(v.clone()),
                        None => args
                            .get(1)
                            .cloned()
                            .ok_or_else(|| self.err("key not found")),
                    },
                    "empty?" => Ok(Value::Bool(h.is_empty())),
                    "size" | "length" | "count" => Ok(Value::Int(h.len() as i64)),
                    "merge" => {
                        let mut m = (**h).clone();
                        if let Some(Value::Hash(o)) = args.first() {
                            for (k, v) in o.iter() {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                        Ok(Value::hash(m))
                    }
                    "to_a" => Ok(Value::array(pairs)),
                    "each" | "each_pair" => {
                        let b = blk.ok_or_else(|| self.err("each without a block"))?;
                        for (k, v) in h.iter() {
                            if b.params.len() >= 2 {
                                self.call_block(b, vec![k.clone(), v.clone()])?;
                            } else {
                                self.call_block(b, vec![Value::array(vec![k.clone(), v.clone()])])?;
                            }
                        }
                        Ok(r.clone())
                    }
                    _ => {
                        let arr = Value::array(pairs.clone());
                        self.array_method(&arr, &pairs, name, args, blk)
                    }
                }
            }
            Value::Int(i) => Ok(match name {
                "to_i" | "to_int" | "floor" | "ceil" | "round" => r.clone(),
                "to_f" => Value::Float(*i as f64),
                "abs" => Value::Int(i.abs()),
                "zero?" => Value::Bool(*i == 0),
                "even?" => Value::Bool(i % 2 == 0),
                "odd?" => Value::Bool(i % 2 != 0),
                "times" => {
                    if let Some(b) = blk {
                        for k in 0..*i {
                            self.call_block(b, vec![Value::Int(k)])?;
                        }
                    }
                    r.clone()
                }
                _ => return Err(bad(self)),
            }),
            Value::Float(f) => Ok(match name {
                "to_i" | "floor" => Value::Int(f.floor() as i64),
                "ceil" => Value::Int(f.ceil() as i64),
                "round" => Value::Int(f.round() as i64),
                "to_f" => r.clone(),
                _ => return Err(bad(self)),
            }),
            Value::Undef => match name {
                "empty?" => Err(bad(self)),
                "to_a" => Ok(Value::array(vec![])),
                _ => Err(bad(self)),
            },
            _ => Err(bad(self)),
        }
    }
}
