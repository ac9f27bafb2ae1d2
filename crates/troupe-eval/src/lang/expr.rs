//! Expressions: evaluation dispatch, literals, arguments, type references, assignment, and
//! `case`/selector matching.

use crate::code::DefKind;
use crate::code::LoadKind;
use crate::lang::eval::Evaluator;
use std::rc::Rc;
use troupe_syntax::ast::{AssignOp, CaseOption, Expr, ExprKind, HashEntry, Literal, StrPart, UnOp};
use troupe_values::error::EResult;
use troupe_values::error::EvalError;
use troupe_values::types::capitalize_type_name;
use troupe_values::types::Type;
use troupe_values::value::a_value;
use troupe_values::value::Map;
use troupe_values::value::Regexp;
use troupe_values::value::Value;
impl<'e> Evaluator<'e> {
    /// Evaluates an expression. Deep trees grow the stack on the heap, and every 256
    /// expressions the compile's budget is checked.
    pub fn eval(&mut self, e: &Expr) -> EResult<Value> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(256) {
            troupe_values::limits::checkpoint().map_err(|err| err.at(self.loc_e(e)))?;
        }
        // Checking the stack costs a call: every eighth level is enough (the red zone holds
        // the eight in between).
        self.nesting = self.nesting.wrapping_add(1);
        let r = if self.nesting.is_multiple_of(8) {
            troupe_values::limits::grow(|| self.eval_expr(e))
        } else {
            self.eval_expr(e)
        };
        self.nesting = self.nesting.wrapping_sub(1);
        r
    }

    pub(crate) fn eval_expr(&mut self, e: &Expr) -> EResult<Value> {
        match &e.kind {
            ExprKind::Nop => Ok(Value::Undef),
            ExprKind::Block(items) => {
                let mut last = Value::Undef;
                for i in items {
                    last = self.eval(i)?;
                }
                Ok(last)
            }
            ExprKind::Literal(l) => self.literal(l, e),
            ExprKind::QName(n) => Ok(Value::str(n.as_str())),
            ExprKind::QRef(n) => self.type_ref(n).map_err(|err| err.at(self.loc_e(e))),
            ExprKind::Variable(n) => self.lookup_var(n, Some(e)),
            ExprKind::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        StrPart::Text(t) => s.push_str(t),
                        StrPart::Expr(x) => {
                            let v = self.eval(x)?;
                            v.write_display(&mut s, false);
                        }
                    }
                }
                Ok(Value::str(s))
            }
            ExprKind::Heredoc { syntax, text } => {
                let v = self.eval(text)?;
                // A literal heredoc was checked when the file was validated.
                if let (false, Value::Str(s)) = (matches!(text.kind, ExprKind::Literal(_)), &v) {
                    if let Some(msg) = troupe_syntax::checkers::check(syntax, s) {
                        // Puppet reports it as its parser does: no "Evaluation Error"
                        // prefix, at the start of the text's first line.
                        let mut at = self.loc_e(text);
                        at.col = Some(1);
                        return Err(troupe_values::error::EvalError::plain(msg).at(at));
                    }
                }
                Ok(v)
            }
            ExprKind::Array(items) => Ok(Value::array(self.eval_args(items)?)),
            ExprKind::Hash { entries, .. } => {
                let mut m = Map::with_capacity_and_hasher(entries.len(), Default::default());
                for HashEntry { key, value, .. } in entries {
                    let k = self.eval(key)?;
                    let v = self.eval(value)?;
                    m.insert(k, v);
                }
                Ok(Value::hash(m))
            }
            ExprKind::Unary { op, expr } => {
                let v = self.eval(expr)?;
                match op {
                    UnOp::Not => Ok(Value::Bool(!v.truthy())),
                    UnOp::Splat => Ok(Value::array(unfold(v))),
                    UnOp::Neg if matches!(v, Value::Timespan(_)) => match v {
                        Value::Timespan(n) => Ok(Value::Timespan(n.saturating_neg())),
                        _ => Ok(v),
                    },
                    UnOp::Neg => match self.to_number(&v, expr)? {
                        Value::Int(i) => i
                            .checked_neg()
                            .map(Value::Int)
                            .ok_or_else(|| EvalError::new("Integer overflow").at(self.loc_e(e))),
                        Value::Float(f) => Ok(Value::Float(-f)),
                        _ => self.err(
                            format!("Operator '-' is not applicable to {}.", a_value(&v)),
                            e,
                        ),
                    },
                }
            }
            ExprKind::Binary { op, lhs, rhs, .. } => self.binary(*op, lhs, rhs, e),
            ExprKind::Assign { op, lhs, rhs, .. } => {
                if *op != AssignOp::Assign {
                    return self.err(format!("The operator '{}' is no longer supported. See http://links.puppet.com/remove-plus-equals", if *op == AssignOp::Append { "+=" } else { "-=" }), e);
                }
                let v = self.eval(rhs)?;
                self.assign(lhs, v.clone(), e)?;
                Ok(v)
            }
            ExprKind::Relationship { .. } => {
                self.relationship(e)?;
                Ok(Value::Undef)
            }
            ExprKind::Access { target, args } => self.access(target, args, e),
            ExprKind::Selector { test, entries } => self.selector(test, entries, e),
            ExprKind::Paren(x) => self.eval(x),
            ExprKind::If { cond, then, els } => self.with_match_guard(|s| {
                let c = s.eval(cond)?;
                if c.truthy() {
                    s.eval_opt(then)
                } else {
                    s.eval_opt(els)
                }
            }),
            ExprKind::Unless { cond, then, els } => self.with_match_guard(|s| {
                let c = s.eval(cond)?;
                if !c.truthy() {
                    s.eval_opt(then)
                } else {
                    s.eval_opt(els)
                }
            }),
            ExprKind::Case { test, options } => self.case(test, options),
            ExprKind::Call(c) => {
                // `Optional[Integer](...)` is `new(Optional[Integer], ...)`.
                if let ExprKind::Access { target, .. } = &c.func.kind {
                    if matches!(target.kind, ExprKind::QRef(_)) {
                        let t = self.eval(&c.func)?;
                        let mut args = self.eval_args(&c.args)?;
                        args.insert(0, t);
                        return self.call_function("new", args, c.lambda.as_ref(), e);
                    }
                }
                let mut args = self.eval_args(&c.args)?;
                let name = match &c.func.kind {
                    ExprKind::QName(n) => n.as_str(),
                    // `Integer(...)` is `new(Integer, ...)`.
                    ExprKind::QRef(n) => {
                        args.insert(0, self.type_ref(n)?);
                        "new"
                    }
                    _ => return self.err("Illegal function call", e),
                };
                self.call_function(name, args, c.lambda.as_ref(), e)
            }
            ExprKind::MethodCall(m) => {
                // The receiver is unfolded too: `(*[fmt, $a]).sprintf` passes two arguments.
                let mut args = vec![];
                self.eval_unfolded(&m.receiver, &mut args)?;
                args.extend(self.eval_args(&m.args)?);
                if let Some(Value::Object(o)) = args.first() {
                    let o = o.clone();
                    if let Some(r) = self.object_member(&o, &m.name, args.len()) {
                        return r.map_err(|err| {
                            EvalError {
                                msg: format!("Error while evaluating a Method call, {}", err.msg),
                                ..err
                            }
                            .at(self.loc_e(e))
                        });
                    }
                }
                if let ([v], None) = (args.as_slice(), &m.lambda) {
                    if let Some(a) = super::value_attrs::attribute(v, &m.name) {
                        return Ok(a);
                    }
                }
                self.call_function(&m.name, args, m.lambda.as_ref(), e)
            }
            ExprKind::Collect { .. } => {
                self.collect_expr(e)?;
                Ok(Value::Undef)
            }
            ExprKind::Resource { .. } => self.resource_expr(e),
            ExprKind::ResourceDefaults { type_expr, ops, .. } => {
                self.resource_defaults(type_expr, ops, e)?;
                Ok(Value::Undef)
            }
            ExprKind::ResourceOverride { target, ops, .. } => {
                self.resource_override(target, ops, e)?;
                Ok(Value::Undef)
            }
            ExprKind::Class { .. }
            | ExprKind::Define(_)
            | ExprKind::Node { .. }
            | ExprKind::Function { .. }
            | ExprKind::TypeAlias { .. }
            | ExprKind::TypeDefinition { .. } => Ok(Value::Undef),
            ExprKind::Reserved(w) => self.err(
                format!(
                    "Use of reserved word: {w}, must be quoted if intended to be a String value"
                ),
                e,
            ),
            ExprKind::RenderString(s) => {
                if let Some(buf) = self.render.last_mut() {
                    buf.push_str(s);
                }
                Ok(Value::Undef)
            }
            ExprKind::RenderExpr(x) => {
                let v = self.eval(x)?;
                let s = v.to_display();
                if let Some(buf) = self.render.last_mut() {
                    buf.push_str(&s);
                }
                Ok(Value::Undef)
            }
            ExprKind::Epp { body, .. } => self.eval_opt(body),
            ExprKind::Error => self.err("Syntax error", e),
        }
    }

    pub fn eval_opt(&mut self, e: &Option<Box<Expr>>) -> EResult<Value> {
        match e {
            Some(e) => self.eval(e),
            None => Ok(Value::Undef),
        }
    }

    pub fn eval_args(&mut self, args: &[Expr]) -> EResult<Vec<Value>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            self.eval_unfolded(a, &mut out)?;
        }
        Ok(out)
    }

    /// Evaluates `e` into `out`; a splat (`*$x`, also in parentheses) contributes what it
    /// unfolds to (see [`unfold`]).
    pub(crate) fn eval_unfolded(&mut self, e: &Expr, out: &mut Vec<Value>) -> EResult<()> {
        let mut inner = e;
        while let ExprKind::Paren(x) = &inner.kind {
            inner = x;
        }
        if let ExprKind::Unary {
            op: UnOp::Splat,
            expr,
        } = &inner.kind
        {
            let v = self.eval(expr)?;
            out.extend(unfold(v));
        } else {
            out.push(self.eval(e)?);
        }
        Ok(())
    }

    pub(crate) fn literal(&mut self, l: &Literal, e: &Expr) -> EResult<Value> {
        Ok(match l {
            Literal::Undef => Value::Undef,
            Literal::Default => Value::Default,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Integer { value, .. } => Value::Int(*value),
            Literal::Float(f) => Value::Float(*f),
            Literal::String(s) => Value::str(s.as_str()),
            Literal::Regex(r) => Value::Regex(self.regex(r, e)?),
        })
    }

    pub fn regex(&self, src: &str, e: &Expr) -> EResult<Rc<Regexp>> {
        Regexp::new(src)
            .map(Rc::new)
            .map_err(|m| EvalError::new(m).at(self.loc_e(e)))
    }

    pub fn type_ref(&mut self, name: &str) -> EResult<Value> {
        Ok(Value::ty(self.resolve_type_name(name)?))
    }

    pub fn resolve_type_name(&mut self, name: &str) -> EResult<Type> {
        let name = name.trim_start_matches("::");
        if let Some(t) = Type::from_name(name) {
            return Ok(t);
        }
        if let Some(full) = self.type_set_name(name)? {
            return self.resolve_type_name(&full);
        }
        let lc = name.to_lowercase();
        if let Some(t) = self.alias_cache.get(&lc) {
            return Ok(Type::Alias(capitalize_type_name(name), t.clone()));
        }
        if let Some(w) = self.alias_pending.get(&lc) {
            return Ok(Type::Late(capitalize_type_name(name), w.clone()));
        }
        if let Some(def) = self.find_def(LoadKind::Type, &lc)? {
            if let DefKind::TypeAlias { value } = &def.kind {
                // The definition is evaluated inside `new_cyclic`, so that references to the
                // alias from inside it (a recursive alias) can point at the result.
                let mut failed = None;
                let rc = Rc::new_cyclic(|me| {
                    self.alias_pending.insert(lc.clone(), me.clone());
                    let saved = std::mem::replace(&mut self.src, def.source.clone());
                    let set = self.type_set_of(&lc);
                    let pushed = set.is_some();
                    self.type_sets.stack.extend(set);
                    let v = self.in_frame("type alias", &lc, |s| s.eval_alias_body(name, value));
                    if pushed {
                        self.type_sets.stack.pop();
                    }
                    self.src = saved;
                    match &v {
                        Ok(Value::Type(t)) => (**t).clone(),
                        Ok(_) => Type::Any,
                        Err(_) => {
                            failed = v.err();
                            Type::Any
                        }
                    }
                });
                self.alias_pending.remove(&lc);
                if let Some(e) = failed {
                    return Err(e);
                }
                // An alias made of nothing but aliases fails once its chain has closed (the
                // alias the chain was entered by names the error, as Puppet's does).
                if only_aliases(&rc, &self.alias_pending) {
                    return Err(EvalError::new(format!(
                        "Error while evaluating a Type-Name, Type alias '{}' cannot be resolved to a real type",
                        capitalize_type_name(name)
                    )));
                }
                self.alias_cache.insert(lc, rc.clone());
                return Ok(Type::Alias(capitalize_type_name(name), rc));
            }
        }
        // Not a type, an alias, a Ruby resource type nor a define: Puppet's type reference
        // fails when it is evaluated.
        if self.resource_type_info(name)?.is_none() {
            return Err(EvalError::new(format!("Resource type not found: {name}")));
        }
        Ok(Type::Resource(Some(capitalize_type_name(name)), None))
    }

    pub(crate) fn assign(&mut self, lhs: &Expr, v: Value, e: &Expr) -> EResult<()> {
        match &lhs.kind {
            ExprKind::Variable(n) => self.set_var(n, v, e),
            ExprKind::Array(targets) => match &v {
                Value::Array(vals) => {
                    if vals.len() != targets.len() {
                        return self.err(format!("Mismatched number of assignable entries and values, expected {}, got {}", targets.len(), vals.len()), e);
                    }
                    for (t, x) in targets.iter().zip(vals.iter()) {
                        self.assign(t, x.clone(), e)?;
                    }
                    Ok(())
                }
                Value::Hash(h) => {
                    for t in targets {
                        if let ExprKind::Variable(n) = &t.kind {
                            let x = h.get(&Value::str(n.as_str())).cloned();
                            match x {
                                Some(x) => self.set_var(n, x, t)?,
                                None => return self.err(format!("No value for required key '{n}' in assignment to variables from hash"), e),
                            }
                        }
                    }
                    Ok(())
                }
                Value::Type(t) if matches!(t.resolved(), Type::Class(Some(_))) => {
                    let Type::Class(Some(class)) = t.resolved() else {
                        return Ok(());
                    };
                    let class = class.clone();
                    self.assign_from_class(targets, &class, e)
                }
                _ => self.err(
                    format!(
                        "Mismatched number of assignable entries and values, expected {}, got 1",
                        targets.len()
                    ),
                    e,
                ),
            },
            _ => self.err(
                "Illegal attempt to assign to 'a Value'. Not an assignable reference",
                e,
            ),
        }
    }

    /// `[$a, $b] = Class['x']`: the class's variables of those names (Puppet's
    /// `assign_Array` for a class reference).
    fn assign_from_class(&mut self, targets: &[Expr], class: &str, e: &Expr) -> EResult<()> {
        if self.find_resource("class", class).is_none() {
            let at = match &e.kind {
                ExprKind::Assign { rhs, .. } => &**rhs,
                _ => e,
            };
            return self.err(format!("Resource not found: Class['{class}']"), at);
        }
        for t in targets {
            let ExprKind::Variable(n) = &t.kind else {
                continue;
            };
            let varname = format!("{}::{n}", class.to_lowercase());
            if !self.var_defined(&varname) {
                return self.err(
                    format!("No value for required variable '${varname}' in assignment to variables from class reference"),
                    t,
                );
            }
            let v = self.lookup_var(&varname, Some(t))?;
            self.set_var(n, v, e)?;
        }
        Ok(())
    }

    /// Does a case/selector option match? (Sets match variables for regexes.)
    pub(crate) fn option_matches(&mut self, test: &Value, opt: &Value) -> EResult<bool> {
        troupe_values::limits::grow(|| {
            Ok(match opt {
                Value::Default => true,
                Value::Regex(re) => match test {
                    Value::Str(s) => match re.captures(s) {
                        Some((_, caps)) => {
                            self.set_matches(caps);
                            true
                        }
                        None => false,
                    },
                    _ => false,
                },
                Value::Type(t) => t.is_instance(test),
                Value::SemVerRange(r) => match test {
                    Value::SemVer(v) => r.includes(v),
                    Value::Str(s) => {
                        troupe_values::semver::SemVer::parse(s).is_ok_and(|v| r.includes(&v))
                    }
                    _ => false,
                },
                Value::SemVer(v) => match test {
                    Value::SemVer(t) => t == v,
                    Value::Str(s) => {
                        troupe_values::semver::SemVer::parse(s).is_ok_and(|t| t == **v)
                    }
                    _ => false,
                },
                Value::Array(items) => match test {
                    Value::Array(tv) => {
                        items.len() == tv.len() && {
                            let mut all = true;
                            for (o, t) in items.iter().zip(tv.iter()) {
                                if !self.option_matches(t, o)? {
                                    all = false;
                                    break;
                                }
                            }
                            all
                        }
                    }
                    _ => test.puppet_eq(opt),
                },
                // Every key of the option matches the test's value for it (a missing one
                // is undef); the test may have more keys.
                Value::Hash(pattern) => match test {
                    Value::Hash(th) => {
                        let mut all = true;
                        for (k, o) in pattern.iter() {
                            let t = th.get(k).cloned().unwrap_or(Value::Undef);
                            if !self.option_matches(&t, o)? {
                                all = false;
                                break;
                            }
                        }
                        all
                    }
                    _ => false,
                },
                _ => test.puppet_eq(opt),
            })
        })
    }

    /// Does one case/selector option (possibly `*$list`) match the test value?
    pub(crate) fn option_hits(&mut self, test: &Value, opt: &Expr) -> EResult<bool> {
        let mut vals = Vec::new();
        self.eval_unfolded(opt, &mut vals)?;
        for ov in vals {
            if self.option_matches(test, &ov)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) fn is_default(e: &Expr) -> bool {
        matches!(e.kind, ExprKind::Literal(Literal::Default))
    }

    pub(crate) fn case(&mut self, test: &Expr, options: &[CaseOption]) -> EResult<Value> {
        self.with_match_guard(|s| {
            let t = s.eval(test)?;
            let mut default_body = None;
            for o in options {
                for v in &o.values {
                    if Self::is_default(v) {
                        default_body = Some(&o.body);
                    } else if s.option_hits(&t, v)? {
                        return s.eval_opt(&o.body);
                    }
                }
            }
            match default_body {
                Some(b) => s.eval_opt(b),
                None => Ok(Value::Undef),
            }
        })
    }

    pub(crate) fn selector(
        &mut self,
        test: &Expr,
        entries: &[HashEntry],
        e: &Expr,
    ) -> EResult<Value> {
        self.with_match_guard(|s| {
            let t = s.eval(test)?;
            let mut default = None;
            for HashEntry { key, value, .. } in entries {
                if Self::is_default(key) {
                    default = Some(value);
                } else if s.option_hits(&t, key)? {
                    return s.eval(value);
                }
            }
            match default {
                Some(v) => s.eval(v),
                None => s.err(
                    format!(
                        "No matching entry for selector parameter with value '{}'",
                        t.to_display()
                    ),
                    e,
                ),
            }
        })
    }
}

/// What `*x` unfolds to, as Puppet's UnfoldExpression: undef to nothing, an Array to its
/// elements, a Hash to its `[key, value]` pairs, anything else to itself.
fn unfold(v: Value) -> Vec<Value> {
    match &v {
        Value::Undef => vec![],
        Value::Array(xs) => xs.to_vec(),
        Value::Hash(h) => h
            .iter()
            .map(|(k, x)| Value::array(vec![k.clone(), x.clone()]))
            .collect(),
        _ => vec![v],
    }
}

/// Is `t` nothing but (variants of) aliases whose chains end in references to aliases no
/// longer being resolved?
fn only_aliases(
    t: &Type,
    pending: &troupe_values::value::FastMap<String, std::rc::Weak<Type>>,
) -> bool {
    troupe_values::limits::grow(|| match t {
        Type::Late(n, _) => !pending.contains_key(&n.to_lowercase()),
        Type::Alias(_, r) => only_aliases(r, pending),
        Type::Variant(ts) => !ts.is_empty() && ts.iter().all(|t| only_aliases(t, pending)),
        _ => false,
    })
}
