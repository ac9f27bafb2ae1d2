//! The Ruby subset's syntax tree and its parser: statements.

use super::lex::lex_ruby;
use super::lex::scan;
use super::lex::SPart;
use super::lex::Tok;
use troupe_values::value::Value;
#[derive(Debug, Clone)]
pub(super) enum Ex {
    Lit(Value),
    /// `:name` (a Symbol).
    Sym(String),
    Str(Vec<SPart>),
    IVar(String),
    Var(String),
    /// A name assigned earlier in the source: a local, nil while unassigned.
    LVar(String),
    Const(String),
    Array(Vec<Ex>),
    Hash(Vec<(Ex, Ex)>),
    Call(Option<Box<Ex>>, String, Vec<Ex>, Option<Box<Block>>),
    Index(Box<Ex>, Vec<Ex>),
    Bin(&'static str, Box<Ex>, Box<Ex>),
    Not(Box<Ex>),
    Neg(Box<Ex>),
    Tern(Box<Ex>, Box<Ex>, Box<Ex>),
    Assign(String, Box<Ex>),
    IvarAssign(String, Box<Ex>),
    /// `&:m` as an argument (turned into a block by the call that takes it).
    BlockPass(String),
    /// `@x[k] = v` (`or`: `@x[k] ||= v`).
    IvarIndexAssign(String, Vec<Ex>, Box<Ex>, bool),
    /// `local[key] = value` on a local variable holding a hash or array.
    IndexAssign(String, Vec<Ex>, Box<Ex>),
    /// `scope.lookupvar('name')[key] = value`: templates that pass data to the templates they
    /// include through a Puppet variable (apache's `_template_scope`).
    ScopeIndexAssign(Box<Ex>, Vec<Ex>, Box<Ex>),
    Range(Box<Ex>, Box<Ex>),
    /// `*x` in an argument list or an Array literal.
    Splat(Box<Ex>),
    /// `a, b = x, y` (or `= array`).
    MultiAssign(Vec<String>, Vec<Ex>),
    /// `if`/`unless` used as a value (`x = if c then a else b end`).
    Cond(Vec<St>),
}
#[derive(Debug, Clone)]
pub(super) struct Block {
    /// Parameter names; `(a,b)` stands for a destructured one.
    pub(super) params: Vec<String>,
    pub(super) body: Vec<St>,
    /// Default values of optional parameters (`def f(a, b = 1)`).
    pub(super) defaults: std::collections::HashMap<String, Ex>,
    /// Keyword parameters (`def f(a, sep: ',')`), with their defaults.
    pub(super) keywords: Vec<(String, Option<Ex>)>,
}

impl Block {
    pub(super) fn new(params: Vec<String>, body: Vec<St>) -> Block {
        Block {
            params,
            body,
            defaults: Default::default(),
            keywords: Vec::new(),
        }
    }
}
#[derive(Debug, Clone)]
pub(super) enum St {
    Text(String),
    Out(Ex, u32),
    Ex(Ex, u32),
    If(Vec<(Ex, Vec<St>)>, Vec<St>, u32),
    /// `case subject when a, b ... else ... end`: arms matched with Ruby's `===`.
    Case(Ex, Vec<(Vec<Ex>, Vec<St>)>, Vec<St>, u32),
    /// `def name(params) ... end`: a method the rest of the template can call.
    Def(String, Block),
    /// `begin ... rescue [Class [=> e]] ... end`: the rescue body runs when the first fails
    /// with a Ruby error (not a template's own `fail`).
    Begin(Vec<St>, Vec<St>, u32),
    /// `while cond ... end` (`until`: the condition negated).
    While(Ex, Vec<St>, u32),
    /// `for a, b in xs ... end`: the names are the template's locals.
    For(Vec<String>, Ex, Vec<St>, u32),
}
pub(super) struct P {
    pub(super) toks: Vec<(Tok, u32)>,
    pub(super) i: usize,
    /// Names assigned so far in the source: from there on Ruby reads them as locals (nil
    /// until a run assigns them), before it as method calls.
    pub(super) assigned: std::collections::HashSet<String>,
    /// Nesting of the expression being parsed (recursion and operator/call chains), against
    /// `MAX_NESTING`: a hostile template cannot build a tree too deep to walk or drop.
    pub(super) depth: usize,
}
/// How deeply a template's Ruby expressions and blocks may nest.
pub(super) const MAX_NESTING: usize = 1000;
impl P {
    /// One more level of nesting; fails past `MAX_NESTING`.
    pub(super) fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "syntax error, expression nested deeper than {MAX_NESTING} levels"
            ));
        }
        Ok(())
    }

    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }
    pub(super) fn line(&self) -> u32 {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map(|t| t.1)
            .unwrap_or(0)
    }
    pub(super) fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    pub(super) fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w == k)
    }
    pub(super) fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(super) fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!(
                "syntax error, expected '{op}', got {:?}",
                self.peek()
            ))
        }
    }
    pub(super) fn skip_nl(&mut self) {
        while matches!(self.peek(), Some(Tok::Nl)) {
            self.i += 1;
        }
    }

    pub(super) fn stmts(&mut self, terms: &[&str]) -> Result<Vec<St>, String> {
        self.deeper()?;
        let r = troupe_values::limits::grow(|| self.stmts_inner(terms));
        self.depth -= 1;
        r
    }

    pub(super) fn stmts_inner(&mut self, terms: &[&str]) -> Result<Vec<St>, String> {
        let mut out = Vec::new();
        loop {
            self.skip_nl();
            match self.peek() {
                None => return Ok(out),
                Some(Tok::Ident(w)) if terms.contains(&w.as_str()) => return Ok(out),
                Some(Tok::Op("}")) if terms.contains(&"}") => return Ok(out),
                _ => {}
            }
            out.push(self.stmt()?);
        }
    }

    pub(super) fn stmt(&mut self) -> Result<St, String> {
        let line = self.line();
        match self.peek().cloned() {
            Some(Tok::Text(t)) => {
                self.i += 1;
                Ok(St::Text(t))
            }
            Some(Tok::OutStart) => {
                self.i += 1;
                let e = self.expr()?;
                let e = self.modifiers(e)?;
                self.skip_nl();
                if !matches!(self.peek(), Some(Tok::CodeEnd)) {
                    return Err(format!(
                        "syntax error in <%= %>, unexpected {:?}",
                        self.peek()
                    ));
                }
                self.i += 1;
                Ok(St::Out(e, line))
            }
            Some(Tok::CodeEnd) => {
                self.i += 1;
                Ok(St::Text(String::new()))
            }
            Some(Tok::Ident(w)) if w == "case" => {
                self.i += 1;
                let subject = self.expr()?;
                self.skip_nl();
                let mut arms = Vec::new();
                let mut els = Vec::new();
                loop {
                    if self.eat_kw("when") {
                        let mut pats = vec![self.ternary()?];
                        while self.eat_op(",") {
                            self.skip_nl();
                            pats.push(self.ternary()?);
                        }
                        self.eat_kw("then");
                        let body = self.stmts(&["when", "else", "end"])?;
                        arms.push((pats, body));
                    } else if self.eat_kw("else") {
                        els = self.stmts(&["end"])?;
                    } else if self.eat_kw("end") {
                        break;
                    } else {
                        return Err("syntax error, missing 'end' for 'case'".into());
                    }
                }
                Ok(St::Case(subject, arms, els, line))
            }
            Some(Tok::Ident(w)) if w == "begin" => {
                self.i += 1;
                let body = self.stmts(&["rescue", "end"])?;
                let mut rescue = Vec::new();
                if self.eat_kw("rescue") {
                    // The rescued classes and `=> e` are read and not used.
                    while !matches!(self.peek(), Some(Tok::Nl) | Some(Tok::CodeEnd) | None) {
                        self.i += 1;
                    }
                    rescue = self.stmts(&["end"])?;
                }
                if !self.eat_kw("end") {
                    return Err("syntax error, missing 'end' for 'begin'".into());
                }
                Ok(St::Begin(body, rescue, line))
            }
            Some(Tok::Ident(w)) if w == "def" => {
                self.i += 1;
                let name = match self.peek().cloned() {
                    Some(Tok::Ident(n)) => n,
                    other => return Err(format!("syntax error, unexpected {other:?} after def")),
                };
                self.i += 1;
                let mut b = Block::new(Vec::new(), Vec::new());
                if self.eat_op("(") {
                    while !self.eat_op(")") {
                        match (
                            self.peek().cloned(),
                            self.toks.get(self.i + 1).map(|t| &t.0),
                        ) {
                            (Some(Tok::Ident(n)), Some(Tok::Op(":"))) => {
                                self.i += 2;
                                let d = if self.is_op(",") || self.is_op(")") {
                                    None
                                } else {
                                    Some(self.ternary()?)
                                };
                                b.keywords.push((n, d));
                            }
                            (Some(Tok::Ident(n)), _) => {
                                self.i += 1;
                                if self.eat_op("=") {
                                    let d = self.ternary()?;
                                    b.defaults.insert(n.clone(), d);
                                }
                                self.assigned.insert(n.clone());
                                b.params.push(n);
                            }
                            (other, _) => {
                                return Err(format!("syntax error in def parameters: {other:?}"))
                            }
                        }
                        self.eat_op(",");
                    }
                }
                b.body = self.stmts(&["end"])?;
                if !self.eat_kw("end") {
                    return Err("syntax error, missing 'end' for 'def'".into());
                }
                Ok(St::Def(name, b))
            }
            Some(Tok::Ident(w)) if w == "while" || w == "until" => {
                self.i += 1;
                let mut c = self.expr()?;
                if w == "until" {
                    c = Ex::Not(Box::new(c));
                }
                self.eat_kw("do");
                let body = self.stmts(&["end"])?;
                if !self.eat_kw("end") {
                    return Err(format!("syntax error, missing 'end' for '{w}'"));
                }
                Ok(St::While(c, body, line))
            }
            Some(Tok::Ident(w)) if w == "for" => {
                self.i += 1;
                let mut names = Vec::new();
                loop {
                    match self.peek().cloned() {
                        Some(Tok::Ident(n)) if n != "in" => {
                            self.i += 1;
                            self.assigned.insert(n.clone());
                            names.push(n);
                        }
                        other => return Err(format!("syntax error in for: {other:?}")),
                    }
                    if !self.eat_op(",") {
                        break;
                    }
                }
                if !self.eat_kw("in") {
                    return Err("syntax error, expected 'in'".into());
                }
                let xs = self.expr()?;
                self.eat_kw("do");
                let body = self.stmts(&["end"])?;
                if !self.eat_kw("end") {
                    return Err("syntax error, missing 'end' for 'for'".into());
                }
                Ok(St::For(names, xs, body, line))
            }
            Some(Tok::Ident(w)) if w == "if" || w == "unless" => {
                self.i += 1;
                let mut c = self.expr()?;
                if w == "unless" {
                    c = Ex::Not(Box::new(c));
                }
                self.eat_kw("then");
                let body = self.stmts(&["elsif", "else", "end"])?;
                let mut arms = vec![(c, body)];
                let mut els = Vec::new();
                loop {
                    if self.eat_kw("elsif") {
                        let c = self.expr()?;
                        self.eat_kw("then");
                        let b = self.stmts(&["elsif", "else", "end"])?;
                        arms.push((c, b));
                    } else if self.eat_kw("else") {
                        els = self.stmts(&["end"])?;
                    } else if self.eat_kw("end") {
                        break;
                    } else {
                        return Err("syntax error, missing 'end' for 'if'".into());
                    }
                }
                Ok(St::If(arms, els, line))
            }
            _ => {
                if let Some(e) = self.multi_assign()? {
                    return Ok(St::Ex(e, line));
                }
                let e = self.expr()?;
                let e = self.modifiers(e)?;
                Ok(St::Ex(e, line))
            }
        }
    }

    /// `a, b = x, y`: names then `=`, else nothing is read.
    fn multi_assign(&mut self) -> Result<Option<Ex>, String> {
        let mut j = self.i;
        let mut names = Vec::new();
        loop {
            match self.toks.get(j).map(|t| &t.0) {
                Some(Tok::Ident(n)) => names.push(n.clone()),
                _ => return Ok(None),
            }
            match self.toks.get(j + 1).map(|t| &t.0) {
                Some(Tok::Op(",")) => j += 2,
                Some(Tok::Op("=")) if names.len() > 1 => break,
                _ => return Ok(None),
            }
        }
        self.i = j + 2;
        let mut vals = vec![self.ternary()?];
        while self.eat_op(",") {
            vals.push(self.ternary()?);
        }
        for n in &names {
            self.assigned.insert(n.clone());
        }
        Ok(Some(Ex::MultiAssign(names, vals)))
    }

    pub(super) fn eat_kw(&mut self, k: &str) -> bool {
        if self.is_kw(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn modifiers(&mut self, e: Ex) -> Result<Ex, String> {
        if self.eat_kw("if") {
            let c = self.expr()?;
            return Ok(Ex::Tern(
                Box::new(c),
                Box::new(e),
                Box::new(Ex::Lit(Value::Undef)),
            ));
        }
        if self.eat_kw("unless") {
            let c = self.expr()?;
            return Ok(Ex::Tern(
                Box::new(c),
                Box::new(Ex::Lit(Value::Undef)),
                Box::new(e),
            ));
        }
        Ok(e)
    }
}
pub(super) fn parse(src: &str) -> Result<Vec<St>, (u32, String)> {
    let mut toks: Vec<(Tok, u32)> = Vec::new();
    for (kind, line, code) in scan(src) {
        match kind {
            Tok::Text(t) => toks.push((Tok::Text(t), line)),
            Tok::OutStart => {
                toks.push((Tok::OutStart, line));
                lex_ruby(&code, &mut toks, line).map_err(|e| (line, e))?;
                toks.push((Tok::CodeEnd, line));
            }
            _ => {
                toks.push((Tok::Nl, line));
                lex_ruby(&code, &mut toks, line).map_err(|e| (line, e))?;
                toks.push((Tok::Nl, line));
            }
        }
    }
    let mut p = P {
        toks,
        i: 0,
        assigned: std::collections::HashSet::new(),
        depth: 0,
    };
    let r = p.stmts(&[]);
    match r {
        Ok(s) => {
            if p.i < p.toks.len() {
                Err((p.line(), format!("syntax error, unexpected {:?}", p.peek())))
            } else {
                Ok(s)
            }
        }
        Err(e) => Err((p.line(), e)),
    }
}
