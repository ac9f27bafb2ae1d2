//! ERB templates for the Ruby subset templates really use: `@var`, `scope[...]`,
//! `scope.lookupvar`, `scope.function_*`/`call_function`, `if/elsif/else/unless`, `each`
//! loops (also `each_with_index`, `each_pair`), common String/Array/Hash methods, and `-%>`
//! trimming. Anything else is an error that names the template and the line.

use crate::model::error::{EResult, EvalError};
use crate::model::value::{Map, Value};
use crate::ruby::object::inspect;
use crate::ruby::object::ruby_class;
use crate::ruby::object::truthy;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    OutStart,
    CodeEnd,
    Nl,
    Ident(String),
    IVar(String),
    Const(String),
    Int(i64),
    Float(f64),
    Str(Vec<SPart>),
    Sym(String),
    /// `&:name`: a method name passed as the block.
    BlockPass(String),
    Regex(String),
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum SPart {
    Lit(String),
    Code(String),
}

/// Puppet's Ruby `scope` object: everything a template may ask of the compile. The evaluator
/// implements it; ERB knows nothing else of Puppet.
pub trait RubyScope {
    /// A Puppet variable (`@x`, `scope['x']`, `scope.lookupvar('x')`); unknown ones are undef
    /// or an error as Puppet's strict mode says.
    fn lookupvar(&mut self, name: &str) -> EResult<Value>;
    /// Sets a variable in the calling scope, unchecked (`scope.setvar`, `@x[k] = v`).
    fn setvar(&mut self, name: &str, v: Value);
    /// Ruby changed the object behind the Puppet variable `name` in place: the variable and the
    /// calling resource's parameter of the same name take `v`.
    fn replace_var(&mut self, name: &str, v: Value);
    /// The variables visible from the calling scope (`scope.to_hash`).
    fn to_hash(&self) -> Map;
    /// A Puppet function (`scope.function_x`, `scope.call_function`).
    fn call_function(&mut self, name: &str, args: Vec<Value>) -> EResult<Value>;
}

struct Ctx<'a> {
    scope: &'a mut dyn RubyScope,
    locals: Vec<HashMap<String, Value>>,
    /// Groups of the last successful `=~` (`$1`, `$2`, ...; `$~`).
    last_match: Vec<Value>,
    /// Methods the template defines with `def`.
    defs: HashMap<String, Block>,
    /// Locals bound to an instance variable's object (`a = @x`): Ruby's `a << y` then
    /// changes the Puppet variable too, and the resource parameter behind it, which shows in
    /// the catalog (apache's `_scriptalias.erb` does this to `scriptaliases`).
    aliases: HashMap<String, String>,
    /// Instance variables the template assigns (`@x = ...`): Puppet's template wrapper keeps
    /// them for the rest of this template; the Puppet variable is not changed.
    ivars: HashMap<String, Value>,
    /// Assigned instance variables that are the same Ruby object as a Puppet variable's value.
    ivar_aliases: HashMap<String, String>,
    out: String,
    file: String,
    line: u32,
}

fn fail(file: &str, line: u32, detail: &str) -> EvalError {
    EvalError::new(format!("Failed to parse template {file}:\n  Filepath: {file}\n  Line: {line}\n  Detail: {detail}\n"))
}

/// Splits the template into text and code, applying ERB's `-` trim mode.
fn scan(src: &str) -> Vec<(Tok, u32, String)> {
    // (kind, line, text): kind is Text, OutStart (expression tag) or CodeEnd (code tag).
    let mut out = Vec::new();
    let mut i = 0;
    let b = src.as_bytes();
    let mut line = 1u32;
    let mut text = String::new();
    let mut text_line = 1;
    while i < src.len() {
        if src[i..].starts_with("<%%") {
            text.push_str("<%");
            i += 3;
            continue;
        }
        if src[i..].starts_with("<%") {
            let mut j = i + 2;
            let mut kind = "code";
            if src[j..].starts_with('-') {
                // `<%-`: drop the indentation before the tag.
                let trimmed = text.trim_end_matches([' ', '\t']);
                if trimmed.is_empty() || trimmed.ends_with('\n') {
                    let n = trimmed.len();
                    text.truncate(n);
                }
                j += 1;
            }
            if src[j..].starts_with('=') {
                kind = "out";
                j += 1;
            } else if src[j..].starts_with('#') {
                kind = "comment";
            }
            if !text.is_empty() {
                out.push((
                    Tok::Text(std::mem::take(&mut text)),
                    text_line,
                    String::new(),
                ));
            }
            let end = src[j..].find("%>").map(|k| j + k).unwrap_or(src.len());
            let mut code = &src[j..end];
            let trim_nl = code.ends_with('-');
            if trim_nl {
                code = &code[..code.len() - 1];
            }
            let code_line = line;
            line += src[i..end].matches('\n').count() as u32;
            match kind {
                "out" => out.push((Tok::OutStart, code_line, code.to_string())),
                "code" => out.push((Tok::CodeEnd, code_line, code.to_string())),
                _ => {}
            }
            i = (end + 2).min(src.len());
            if trim_nl && b.get(i) == Some(&b'\n') {
                i += 1;
                line += 1;
            }
            text_line = line;
            continue;
        }
        let c = src[i..].chars().next().unwrap_or(' ');
        if c == '\n' {
            line += 1;
        }
        text.push(c);
        i += c.len_utf8();
    }
    if !text.is_empty() {
        out.push((Tok::Text(text), text_line, String::new()));
    }
    out
}

fn lex_ruby(code: &str, toks: &mut Vec<(Tok, u32)>, line0: u32) -> Result<(), String> {
    let cs: Vec<char> = code.chars().collect();
    let mut i = 0;
    let mut line = line0;
    while i < cs.len() {
        let c = cs[i];
        if c == '\n' || c == ';' {
            if c == '\n' {
                line += 1;
            }
            toks.push((Tok::Nl, line));
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() {
            let s = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '_') {
                i += 1;
            }
            if i + 1 < cs.len() && cs[i] == '.' && cs[i + 1].is_ascii_digit() {
                i += 1;
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
                let t: String = cs[s..i].iter().filter(|c| **c != '_').collect();
                toks.push((Tok::Float(t.parse().unwrap_or(0.0)), line));
            } else {
                let t: String = cs[s..i].iter().filter(|c| **c != '_').collect();
                toks.push((Tok::Int(t.parse().unwrap_or(0)), line));
            }
            continue;
        }
        if c == '%'
            && i + 2 < cs.len()
            && matches!(cs[i + 1], 'w' | 'W')
            && matches!(cs[i + 2], '(' | '[' | '{' | '<')
        {
            // %w(a b c): an array of words.
            let close = match cs[i + 2] {
                '(' => ')',
                '[' => ']',
                '{' => '}',
                _ => '>',
            };
            i += 3;
            let s = i;
            while i < cs.len() && cs[i] != close {
                if cs[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            let words: String = cs[s..i.min(cs.len())].iter().collect();
            i += 1;
            toks.push((Tok::Op("["), line));
            for (n, w) in words.split_whitespace().enumerate() {
                if n > 0 {
                    toks.push((Tok::Op(","), line));
                }
                toks.push((Tok::Str(vec![SPart::Lit(w.to_string())]), line));
            }
            toks.push((Tok::Op("]"), line));
            continue;
        }
        if c == '$' && i + 1 < cs.len() && cs[i + 1].is_ascii_digit() {
            let s = i;
            i += 1;
            while i < cs.len() && cs[i].is_ascii_digit() {
                i += 1;
            }
            toks.push((Tok::Ident(cs[s..i].iter().collect()), line));
            continue;
        }
        if c == '@' {
            let s = i + 1;
            i += 1;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            toks.push((Tok::IVar(cs[s..i].iter().collect()), line));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let s = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            if i < cs.len()
                && (cs[i] == '?' || cs[i] == '!')
                && !(i + 1 < cs.len() && cs[i + 1] == '=')
            {
                i += 1;
            }
            let w: String = cs[s..i].iter().collect();
            if w.chars().next().is_some_and(|c| c.is_uppercase()) {
                toks.push((Tok::Const(w), line));
            } else {
                toks.push((Tok::Ident(w), line));
            }
            continue;
        }
        if c == '&'
            && i + 2 < cs.len()
            && cs[i + 1] == ':'
            && (cs[i + 2].is_alphabetic() || cs[i + 2] == '_')
        {
            let s = i + 2;
            i += 2;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            if i < cs.len() && (cs[i] == '?' || cs[i] == '!') {
                i += 1;
            }
            toks.push((Tok::BlockPass(cs[s..i].iter().collect()), line));
            continue;
        }
        if c == ':' && i + 1 < cs.len() && (cs[i + 1].is_alphabetic() || cs[i + 1] == '_') {
            let s = i + 1;
            i += 1;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Sym(cs[s..i].iter().collect()), line));
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < cs.len() && cs[i] != '\'' {
                if cs[i] == '\\' && i + 1 < cs.len() && (cs[i + 1] == '\'' || cs[i + 1] == '\\') {
                    i += 1;
                }
                s.push(cs[i]);
                i += 1;
            }
            i += 1;
            toks.push((Tok::Str(vec![SPart::Lit(s)]), line));
            continue;
        }
        if c == '"' {
            let mut parts = Vec::new();
            let mut s = String::new();
            i += 1;
            while i < cs.len() && cs[i] != '"' {
                if cs[i] == '\\' && i + 1 < cs.len() {
                    i += 1;
                    s.push(match cs[i] {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        's' => ' ',
                        '0' => '\0',
                        o => o,
                    });
                    i += 1;
                    continue;
                }
                if cs[i] == '#' && i + 1 < cs.len() && cs[i + 1] == '{' {
                    if !s.is_empty() {
                        parts.push(SPart::Lit(std::mem::take(&mut s)));
                    }
                    i += 2;
                    let st = i;
                    let mut depth = 1;
                    while i < cs.len() {
                        if cs[i] == '{' {
                            depth += 1;
                        } else if cs[i] == '}' {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        i += 1;
                    }
                    parts.push(SPart::Code(cs[st..i].iter().collect()));
                    i += 1;
                    continue;
                }
                s.push(cs[i]);
                i += 1;
            }
            i += 1;
            if !s.is_empty() || parts.is_empty() {
                parts.push(SPart::Lit(s));
            }
            toks.push((Tok::Str(parts), line));
            continue;
        }
        if c == '/' {
            // A regex where an operand is expected.
            let after_keyword = matches!(
                toks.last(),
                Some((Tok::Ident(w), _)) if matches!(
                    w.as_str(),
                    "if" | "unless" | "elsif" | "and" | "or" | "not" | "when" | "while"
                        | "until" | "return" | "then" | "do"
                )
            );
            let prev_operand = !after_keyword
                && matches!(
                    toks.last(),
                    Some((
                        Tok::Ident(_)
                            | Tok::IVar(_)
                            | Tok::Int(_)
                            | Tok::Float(_)
                            | Tok::Str(_)
                            | Tok::Const(_),
                        _
                    )) | Some((Tok::Op(")" | "]"), _))
                );
            if !prev_operand {
                let mut s = String::new();
                i += 1;
                while i < cs.len() && cs[i] != '/' {
                    if cs[i] == '\\' && i + 1 < cs.len() {
                        s.push(cs[i]);
                        i += 1;
                    }
                    s.push(cs[i]);
                    i += 1;
                }
                i += 1;
                while i < cs.len() && cs[i].is_ascii_alphabetic() {
                    if cs[i] == 'i' {
                        s.insert_str(0, "(?i)");
                    }
                    i += 1;
                }
                toks.push((Tok::Regex(s), line));
                continue;
            }
        }
        if cs[i..].starts_with(&['.', '.', '.']) {
            toks.push((Tok::Op("..."), line));
            i += 3;
            continue;
        }
        const OPS: &[&str] = &[
            "**", "==", "!=", "<=", ">=", "&&", "||", "=~", "!~", "=>", "<<", "::", "..", "+=",
            "-=", "||=", "<=>", "&.", "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", ".", ",",
            "(", ")", "[", "]", "{", "}", "|", "=",
        ];
        let rest: String = cs[i..cs.len().min(i + 3)].iter().collect();
        let mut matched = None;
        for op in [&OPS[15..17], &OPS[..15], &OPS[17..]].concat() {
            if rest.starts_with(op) {
                matched = Some(op);
                break;
            }
        }
        match matched {
            Some(op) => {
                toks.push((Tok::Op(op), line));
                i += op.chars().count();
            }
            None => return Err(format!("unexpected character '{c}'")),
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Ex {
    Lit(Value),
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
    /// `if`/`unless` used as a value (`x = if c then a else b end`).
    Cond(Vec<St>),
}

#[derive(Debug, Clone)]
struct Block {
    params: Vec<String>,
    body: Vec<St>,
}

#[derive(Debug, Clone)]
enum St {
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
}

struct P {
    toks: Vec<(Tok, u32)>,
    i: usize,
    /// Names assigned so far in the source: from there on Ruby reads them as locals (nil
    /// until a run assigns them), before it as method calls.
    assigned: std::collections::HashSet<String>,
    /// Nesting of the expression being parsed (recursion and operator/call chains), against
    /// `MAX_NESTING`: a hostile template cannot build a tree too deep to walk or drop.
    depth: usize,
}

/// How deeply a template's Ruby expressions and blocks may nest.
const MAX_NESTING: usize = 1000;

impl P {
    /// One more level of nesting; fails past `MAX_NESTING`.
    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "syntax error, expression nested deeper than {MAX_NESTING} levels"
            ));
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }
    fn line(&self) -> u32 {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map(|t| t.1)
            .unwrap_or(0)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w == k)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!(
                "syntax error, expected '{op}', got {:?}",
                self.peek()
            ))
        }
    }
    fn skip_nl(&mut self) {
        while matches!(self.peek(), Some(Tok::Nl)) {
            self.i += 1;
        }
    }

    fn stmts(&mut self, terms: &[&str]) -> Result<Vec<St>, String> {
        self.deeper()?;
        let r = crate::model::limits::grow(|| self.stmts_inner(terms));
        self.depth -= 1;
        r
    }

    fn stmts_inner(&mut self, terms: &[&str]) -> Result<Vec<St>, String> {
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

    fn stmt(&mut self) -> Result<St, String> {
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
                let mut params = Vec::new();
                if self.eat_op("(") {
                    while !self.eat_op(")") {
                        match self.peek().cloned() {
                            Some(Tok::Ident(n)) => {
                                params.push(n);
                                self.i += 1;
                            }
                            other => {
                                return Err(format!("syntax error in def parameters: {other:?}"))
                            }
                        }
                        self.eat_op(",");
                    }
                }
                let body = self.stmts(&["end"])?;
                if !self.eat_kw("end") {
                    return Err("syntax error, missing 'end' for 'def'".into());
                }
                Ok(St::Def(name, Block { params, body }))
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
                let e = self.expr()?;
                let e = self.modifiers(e)?;
                Ok(St::Ex(e, line))
            }
        }
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        if self.is_kw(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn modifiers(&mut self, e: Ex) -> Result<Ex, String> {
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

    fn expr(&mut self) -> Result<Ex, String> {
        self.deeper()?;
        let r = crate::model::limits::grow(|| self.expr_inner());
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self) -> Result<Ex, String> {
        // `@x = v` and `@x ||= v`
        if let (Some(Tok::IVar(n)), Some((Tok::Op(op @ ("=" | "||=")), _))) =
            (self.peek().cloned(), self.toks.get(self.i + 1))
        {
            let or = *op == "||=";
            self.i += 2;
            let v = self.expr()?;
            let v = if or {
                Ex::Bin("||", Box::new(Ex::IVar(n.clone())), Box::new(v))
            } else {
                v
            };
            return Ok(Ex::IvarAssign(n, Box::new(v)));
        }
        // assignment
        if let (Some(Tok::Ident(n)), Some((Tok::Op("="), _))) =
            (self.peek().cloned(), self.toks.get(self.i + 1))
        {
            self.i += 2;
            let v = self.expr()?;
            self.assigned.insert(n.clone());
            return Ok(Ex::Assign(n, Box::new(v)));
        }
        if let (Some(Tok::Ident(n)), Some((Tok::Op("||="), _))) =
            (self.peek().cloned(), self.toks.get(self.i + 1))
        {
            self.i += 2;
            let v = self.expr()?;
            self.assigned.insert(n.clone());
            return Ok(Ex::Assign(
                n.clone(),
                Box::new(Ex::Bin("||", Box::new(Ex::LVar(n)), Box::new(v))),
            ));
        }
        let e = self.ternary()?;
        if let Ex::Index(recv, idx) = &e {
            if let Ex::IVar(n) = &**recv {
                if self.is_op("=") || self.is_op("||=") {
                    let or = self.is_op("||=");
                    self.i += 1;
                    let v = self.expr()?;
                    return Ok(Ex::IvarIndexAssign(n.clone(), idx.clone(), Box::new(v), or));
                }
            }
            if let Ex::Var(n) | Ex::LVar(n) = &**recv {
                if self.is_op("=") {
                    self.i += 1;
                    let v = self.expr()?;
                    return Ok(Ex::IndexAssign(n.clone(), idx.clone(), Box::new(v)));
                }
            }
            if let Ex::Call(Some(s), m, args, None) = &**recv {
                if matches!(&**s, Ex::Var(n) if n == "scope")
                    && (m == "lookupvar" || m == "[]")
                    && args.len() == 1
                    && self.is_op("=")
                {
                    self.i += 1;
                    let v = self.expr()?;
                    return Ok(Ex::ScopeIndexAssign(
                        Box::new(args[0].clone()),
                        idx.clone(),
                        Box::new(v),
                    ));
                }
            }
        }
        if self.eat_kw("and") {
            let r = self.expr()?;
            return Ok(Ex::Bin("&&", Box::new(e), Box::new(r)));
        }
        if self.eat_kw("or") {
            let r = self.expr()?;
            return Ok(Ex::Bin("||", Box::new(e), Box::new(r)));
        }
        Ok(e)
    }

    fn ternary(&mut self) -> Result<Ex, String> {
        let c = self.binary(0)?;
        if self.eat_op("?") {
            let a = self.ternary()?;
            self.expect_op(":")?;
            let b = self.ternary()?;
            return Ok(Ex::Tern(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    fn binary(&mut self, min: u8) -> Result<Ex, String> {
        let base = self.depth;
        let r = self.binary_chain(min);
        self.depth = base;
        r
    }

    fn binary_chain(&mut self, min: u8) -> Result<Ex, String> {
        self.deeper()?;
        let mut l = self.unary()?;
        while let Some(Tok::Op(o)) = self.peek() {
            let (op, prec) = {
                match *o {
                    "||" => ("||", 1),
                    "&&" => ("&&", 2),
                    ".." => ("..", 3),
                    "..." => ("...", 3),
                    "==" | "!=" | "=~" | "!~" | "<=>" => (*o, 4),
                    "<" | ">" | "<=" | ">=" => (*o, 5),
                    "<<" => ("<<", 6),
                    "+" | "-" => (*o, 7),
                    "*" | "/" | "%" => (*o, 8),
                    _ => break,
                }
            };
            if prec < min {
                break;
            }
            self.deeper()?;
            self.i += 1;
            self.skip_nl();
            let r = self.binary(prec + 1)?;
            l = if op == ".." {
                Ex::Range(Box::new(l), Box::new(r))
            } else if op == "..." {
                // An exclusive range: the same as `a..(b - 1)` for integers.
                Ex::Range(
                    Box::new(l),
                    Box::new(Ex::Bin("-", Box::new(r), Box::new(Ex::Lit(Value::Int(1))))),
                )
            } else {
                Ex::Bin(op, Box::new(l), Box::new(r))
            };
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Ex, String> {
        self.deeper()?;
        let r = crate::model::limits::grow(|| self.unary_inner());
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<Ex, String> {
        if self.eat_op("!") || self.eat_kw("not") {
            return Ok(Ex::Not(Box::new(self.unary()?)));
        }
        if self.eat_op("-") {
            return Ok(Ex::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn args(&mut self, close: &str) -> Result<Vec<Ex>, String> {
        let mut out = Vec::new();
        self.skip_nl();
        if self.eat_op(close) {
            return Ok(out);
        }
        loop {
            self.skip_nl();
            if let Some(Tok::BlockPass(m)) = self.peek().cloned() {
                // `&:m` is the block `{ |x| x.m }`; it comes last.
                self.i += 1;
                self.skip_nl();
                self.expect_op(close)?;
                out.push(Ex::BlockPass(m));
                return Ok(out);
            }
            let e = self.expr()?;
            if self.eat_op("=>") {
                // Bare hash argument.
                let v = self.expr()?;
                let mut pairs = vec![(e, v)];
                while self.eat_op(",") {
                    self.skip_nl();
                    let k = self.expr()?;
                    self.expect_op("=>")?;
                    pairs.push((k, self.expr()?));
                }
                out.push(Ex::Hash(pairs));
            } else {
                out.push(e);
            }
            self.skip_nl();
            if self.eat_op(close) {
                return Ok(out);
            }
            self.expect_op(",")?;
        }
    }

    fn block(&mut self) -> Result<Option<Box<Block>>, String> {
        let brace = self.is_op("{");
        if !(brace || self.is_kw("do")) {
            return Ok(None);
        }
        self.i += 1;
        self.skip_nl();
        let mut params = Vec::new();
        if self.eat_op("|") {
            loop {
                if self.eat_op("(") {
                    continue;
                }
                match self.peek().cloned() {
                    Some(Tok::Ident(n)) => {
                        params.push(n);
                        self.i += 1;
                    }
                    _ => return Err("syntax error in block parameters".into()),
                }
                self.eat_op(")");
                if self.eat_op("|") {
                    break;
                }
                self.expect_op(",")?;
            }
        }
        let body = if brace {
            self.stmts(&["}"])?
        } else {
            self.stmts(&["end"])?
        };
        if brace {
            self.expect_op("}")?;
        } else if !self.eat_kw("end") {
            return Err("syntax error, missing 'end' for 'do'".into());
        }
        Ok(Some(Box::new(Block { params, body })))
    }

    fn postfix(&mut self) -> Result<Ex, String> {
        let base = self.depth;
        let r = self.postfix_chain();
        self.depth = base;
        r
    }

    fn postfix_chain(&mut self) -> Result<Ex, String> {
        let mut e = self.primary()?;
        loop {
            self.deeper()?;
            if self.eat_op(".") || self.eat_op("&.") {
                let name = match self.peek().cloned() {
                    Some(Tok::Ident(n)) => n,
                    Some(Tok::Const(n)) => n,
                    other => return Err(format!("syntax error, unexpected {other:?} after '.'")),
                };
                self.i += 1;
                let args = if self.eat_op("(") {
                    self.args(")")?
                } else if matches!(
                    self.peek(),
                    Some(Tok::Str(_) | Tok::IVar(_) | Tok::Int(_) | Tok::Sym(_) | Tok::Float(_))
                ) || (name.ends_with('?') && matches!(self.peek(), Some(Tok::Const(_))))
                {
                    // A command call: `x.include? "y"`.
                    vec![self.ternary()?]
                } else {
                    vec![]
                };
                let mut args = args;
                let mut blk = self.block()?;
                if let Some(Ex::BlockPass(m)) = args.last().cloned() {
                    args.pop();
                    let it = "\u{0}it".to_string();
                    blk = Some(Box::new(Block {
                        params: vec![it.clone()],
                        body: vec![St::Ex(
                            Ex::Call(Some(Box::new(Ex::LVar(it))), m, vec![], None),
                            0,
                        )],
                    }));
                }
                e = Ex::Call(Some(Box::new(e)), name, args, blk);
            } else if self.is_op("[") {
                self.i += 1;
                let args = self.args("]")?;
                e = Ex::Index(Box::new(e), args);
            } else if self.eat_op("::") {
                match self.peek().cloned() {
                    Some(Tok::Const(n)) => {
                        self.i += 1;
                        e = Ex::Const(n);
                    }
                    _ => return Err("syntax error after '::'".into()),
                }
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Ex, String> {
        let t = self.peek().cloned();
        self.i += 1;
        Ok(match t {
            Some(Tok::Int(i)) => Ex::Lit(Value::Int(i)),
            Some(Tok::Float(f)) => Ex::Lit(Value::Float(f)),
            Some(Tok::Str(p)) => Ex::Str(p),
            Some(Tok::Sym(s)) => Ex::Lit(Value::str(s)),
            Some(Tok::Regex(r)) => Ex::Lit(Value::Regex(std::rc::Rc::new(
                crate::model::value::Regexp::new(&r)?,
            ))),
            Some(Tok::IVar(n)) => Ex::IVar(n),
            Some(Tok::Const(n)) if self.is_op("(") => {
                self.i += 1;
                let args = self.args(")")?;
                Ex::Call(None, n, args, None)
            }
            Some(Tok::Const(n)) => Ex::Const(n),
            Some(Tok::Op("(")) => {
                self.skip_nl();
                let e = self.expr()?;
                self.skip_nl();
                self.expect_op(")")?;
                e
            }
            Some(Tok::Op("[")) => Ex::Array(self.args("]")?),
            Some(Tok::Op("{")) => {
                let mut pairs = Vec::new();
                self.skip_nl();
                if !self.eat_op("}") {
                    loop {
                        self.skip_nl();
                        let k = match self.peek().cloned() {
                            Some(Tok::Ident(n))
                                if matches!(self.toks.get(self.i + 1), Some((Tok::Op(":"), _))) =>
                            {
                                self.i += 2;
                                Ex::Lit(Value::str(n))
                            }
                            _ => {
                                let k = self.expr()?;
                                self.expect_op("=>")?;
                                k
                            }
                        };
                        let v = self.expr()?;
                        pairs.push((k, v));
                        self.skip_nl();
                        if self.eat_op("}") {
                            break;
                        }
                        self.expect_op(",")?;
                        // A trailing comma before the closing brace.
                        self.skip_nl();
                        if self.eat_op("}") {
                            break;
                        }
                    }
                }
                Ex::Hash(pairs)
            }
            Some(Tok::Ident(w)) if w == "if" || w == "unless" || w == "case" => {
                // Re-read it as a statement, and use the statement's value.
                self.i -= 1;
                let st = self.stmt()?;
                Ex::Cond(vec![st])
            }
            Some(Tok::Ident(w)) => match w.as_str() {
                "nil" => Ex::Lit(Value::Undef),
                "true" => Ex::Lit(Value::Bool(true)),
                "false" => Ex::Lit(Value::Bool(false)),
                "defined?" => {
                    let paren = self.eat_op("(");
                    let e = self.expr()?;
                    if paren {
                        self.expect_op(")")?;
                    }
                    Ex::Call(None, "defined?".into(), vec![e], None)
                }
                _ => {
                    if self.is_op("(") {
                        self.i += 1;
                        let args = self.args(")")?;
                        let blk = self.block()?;
                        Ex::Call(None, w, args, blk)
                    } else if self.assigned.contains(&w) {
                        Ex::LVar(w)
                    } else {
                        Ex::Var(w)
                    }
                }
            },
            other => {
                return Err(format!(
                    "syntax error, unexpected {}",
                    match other {
                        Some(Tok::Op(o)) => format!("'{o}'"),
                        Some(t) => format!("{t:?}"),
                        None => "end of template".into(),
                    }
                ))
            }
        })
    }
}

fn parse(src: &str) -> Result<Vec<St>, (u32, String)> {
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

/// Renders an ERB template's text; `file` names it in errors. The caller sets up the frame that
/// locates errors.
pub fn render(scope: &mut dyn RubyScope, src: &str, file: &str) -> EResult<String> {
    let prog = parsed(src).map_err(|(line, e)| fail(file, line, &e))?;
    let mut cx = Ctx {
        scope,
        defs: HashMap::new(),
        aliases: HashMap::new(),
        ivars: HashMap::new(),
        ivar_aliases: HashMap::new(),
        last_match: Vec::new(),
        locals: vec![HashMap::new()],
        out: String::new(),
        file: file.to_string(),
        line: 1,
    };
    cx.run(&prog)?;
    Ok(cx.out)
}

/// A template's program, parsed once per thread and text (templates are rendered for every
/// resource and every compile; their text decides the program).
fn parsed(src: &str) -> Result<std::rc::Rc<Vec<St>>, (u32, String)> {
    use std::cell::RefCell;
    thread_local! {
        static PROGRAMS: RefCell<HashMap<String, std::rc::Rc<Vec<St>>>> = RefCell::new(HashMap::new());
    }
    if let Some(p) = PROGRAMS.with(|c| c.borrow().get(src).cloned()) {
        return Ok(p);
    }
    let prog = std::rc::Rc::new(parse(src)?);
    PROGRAMS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 2_000 {
            c.clear();
        }
        c.insert(src.to_string(), prog.clone());
    });
    Ok(prog)
}

/// Ruby's `===` as `case`/`when` uses it: a regexp matches, a class names the value's class,
/// anything else compares with `==`.
fn case_eq(pat: &Value, v: &Value) -> bool {
    match pat {
        Value::Regex(re) => matches!(v, Value::Str(s) if re.is_match(s)),
        Value::Type(t) => {
            let c = t.to_string();
            let c = c.trim_start_matches('\u{0}');
            let k = ruby_class(v);
            c == k || (c == "Numeric" && matches!(k, "Integer" | "Float")) || c == "Object"
        }
        Value::Array(items)
            if matches!(v, Value::Int(_)) && items.iter().all(|x| matches!(x, Value::Int(_))) =>
        {
            // A range literal evaluates to its integers.
            items.contains(v)
        }
        _ => pat == v,
    }
}

/// How a Ruby exception that `rescue` may catch starts its message (only `IPAddr.new` raises
/// one today); errors of the template's own making are not rescued.
const RUBY_ERROR: &str = "ArgumentError: ";

/// Ruby's `to_s`.
/// Ruby's `to_s` of a value.
use crate::ruby::object::ruby_to_s as to_s;

impl Ctx<'_> {
    fn err(&self, detail: impl Into<String>) -> EvalError {
        fail(&self.file, self.line, &detail.into())
    }

    /// `container[key] = v` on an immutable value: the changed copy.
    fn index_set(&self, cur: Value, key: Value, v: Value) -> EResult<Value> {
        Ok(match &cur {
            Value::Hash(h) => {
                let mut m = (**h).clone();
                m.insert(key, v);
                Value::hash(m)
            }
            Value::Array(a) => {
                let mut a = (**a).clone();
                let Value::Int(i) = key else {
                    return Err(self.err("no implicit conversion into Integer"));
                };
                let i = usize::try_from(i).map_err(|_| self.err("negative index"))?;
                if a.len() <= i {
                    crate::model::limits::reserve_items(
                        i as u64 + 1,
                        std::mem::size_of::<Value>(),
                    )?;
                    a.resize(i + 1, Value::Undef);
                }
                a[i] = v;
                Value::array(a)
            }
            other => return Err(self.err(format!("undefined method `[]=' for {}", inspect(other)))),
        })
    }

    fn run(&mut self, prog: &[St]) -> EResult<Value> {
        crate::model::limits::grow(|| self.run_stmts(prog))
    }

    fn run_stmts(&mut self, prog: &[St]) -> EResult<Value> {
        let mut last = Value::Undef;
        for s in prog {
            match s {
                St::Text(t) => self.out.push_str(t),
                St::Out(e, line) => {
                    self.line = *line;
                    let v = self.eval(e)?;
                    self.out.push_str(&to_s(&v));
                }
                St::Ex(e, line) => {
                    self.line = *line;
                    last = self.eval(e)?;
                }
                St::If(arms, els, line) => {
                    self.line = *line;
                    let mut done = false;
                    for (c, body) in arms {
                        if truthy(&self.eval(c)?) {
                            last = self.run(body)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        last = self.run(els)?;
                    }
                }
                St::Case(subject, arms, els, line) => {
                    self.line = *line;
                    let v = self.eval(subject)?;
                    let mut done = false;
                    'arms: for (pats, body) in arms {
                        for p in pats {
                            let pv = self.eval(p)?;
                            if case_eq(&pv, &v) {
                                last = self.run(body)?;
                                done = true;
                                break 'arms;
                            }
                        }
                    }
                    if !done {
                        last = self.run(els)?;
                    }
                }
                St::Begin(body, rescue, line) => {
                    self.line = *line;
                    let out_len = self.out.len();
                    match self.run(body) {
                        Ok(v) => last = v,
                        Err(e) if e.flow.is_none() && e.msg.contains(RUBY_ERROR) => {
                            self.out.truncate(out_len);
                            last = self.run(rescue)?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                St::Def(name, b) => {
                    self.defs.insert(name.clone(), b.clone());
                    last = Value::str(name.as_str());
                }
            }
        }
        Ok(last)
    }

    fn var(&self, n: &str) -> Option<Value> {
        self.locals.iter().rev().find_map(|m| m.get(n).cloned())
    }

    fn lookup(&mut self, name: &str) -> EResult<Value> {
        self.scope.lookupvar(name)
    }

    /// A local changed in place (`<<`, `[]=`, `delete`, bang methods). Values are immutable
    /// here, so the new value is stored back where the local lives; and when the local is the
    /// object of an instance variable (`a = @x`), Ruby changed that object too: the Puppet
    /// variable and the resource parameter behind it follow.
    fn mutated_local(&mut self, n: &str, new: Value) {
        match self.locals.iter_mut().rev().find(|m| m.contains_key(n)) {
            Some(m) => {
                m.insert(n.to_string(), new.clone());
            }
            None => {
                if let Some(m) = self.locals.last_mut() {
                    m.insert(n.to_string(), new.clone());
                }
            }
        }
        if let Some(iv) = self.aliases.get(n).cloned() {
            self.write_through(&iv, new);
        }
    }

    /// Ruby changed the object behind the Puppet variable `var` in place: the variable and
    /// the resource parameter of the same name follow.
    fn write_through(&mut self, var: &str, new: Value) {
        self.scope.replace_var(var, new);
    }

    fn call_block(&mut self, b: &Block, args: Vec<Value>) -> EResult<Value> {
        crate::model::limits::checkpoint()?;
        let mut m = HashMap::new();
        if b.params.len() > 1 && args.len() == 1 {
            if let Value::Array(a) = &args[0] {
                for (i, p) in b.params.iter().enumerate() {
                    m.insert(p.clone(), a.get(i).cloned().unwrap_or(Value::Undef));
                }
            }
        } else {
            for (i, p) in b.params.iter().enumerate() {
                m.insert(p.clone(), args.get(i).cloned().unwrap_or(Value::Undef));
            }
        }
        self.locals.push(m);
        let r = self.run(&b.body);
        self.locals.pop();
        match r {
            Err(e) if matches!(e.flow, Some(crate::model::error::Flow::Next(_))) => match e.flow {
                Some(crate::model::error::Flow::Next(v)) => Ok(v),
                _ => Ok(Value::Undef),
            },
            r => r,
        }
    }

    fn eval(&mut self, e: &Ex) -> EResult<Value> {
        crate::model::limits::grow(|| self.eval_ex(e))
    }

    fn eval_ex(&mut self, e: &Ex) -> EResult<Value> {
        Ok(match e {
            Ex::Lit(v) => v.clone(),
            Ex::Str(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        SPart::Lit(l) => s.push_str(l),
                        SPart::Code(c) => {
                            let mut toks = Vec::new();
                            lex_ruby(c, &mut toks, self.line).map_err(|e| self.err(e))?;
                            let mut p = P {
                                toks,
                                i: 0,
                                assigned: std::collections::HashSet::new(),
                                depth: 0,
                            };
                            let ex = p.expr().map_err(|e| self.err(e))?;
                            let v = self.eval(&ex)?;
                            s.push_str(&to_s(&v));
                        }
                    }
                }
                Value::str(s)
            }
            Ex::IVar(n) => match self.ivars.get(n) {
                Some(v) => v.clone(),
                None => self.lookup(n)?,
            },
            Ex::BlockPass(m) => {
                return Err(self.err(format!("&:{m} is only supported as a method's block")))
            }
            Ex::IvarAssign(n, v) => {
                // `@a = @x` and `@a = Array(@x)` (for an Array) keep Ruby's object: changing
                // `@a` in place changes `@x` too.
                let source = match &**v {
                    Ex::IVar(src) => Some(src.clone()),
                    Ex::Call(None, f, args, None) if f == "Array" && args.len() == 1 => {
                        match &args[0] {
                            Ex::IVar(src) => Some(src.clone()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let v = self.eval(v)?;
                match source {
                    Some(src) if matches!(v, Value::Array(_) | Value::Hash(_)) => {
                        let root = self.ivar_aliases.get(&src).cloned().unwrap_or(src);
                        self.ivar_aliases.insert(n.clone(), root);
                    }
                    _ => {
                        self.ivar_aliases.remove(n);
                    }
                }
                self.ivars.insert(n.clone(), v.clone());
                v
            }
            Ex::LVar(n) => self.var(n).unwrap_or(Value::Undef),
            Ex::Var(n) if n.starts_with('$') => {
                let i: usize = n[1..].parse().unwrap_or(0);
                self.last_match.get(i).cloned().unwrap_or(Value::Undef)
            }
            Ex::Var(n) => match self.var(n) {
                Some(v) => v,
                None => {
                    if n == "scope" {
                        Value::str("\u{0}scope")
                    } else {
                        return self.method(None, n, vec![], None);
                    }
                }
            },
            Ex::Const(n) => Value::ty(crate::model::types::Type::Resource(
                Some(format!("\u{0}{n}")),
                None,
            )),
            Ex::Array(xs) => {
                let mut out = Vec::new();
                for x in xs {
                    out.push(self.eval(x)?);
                }
                Value::array(out)
            }
            Ex::Hash(ps) => {
                let mut m = Map::new();
                for (k, v) in ps {
                    let k = self.eval(k)?;
                    let v = self.eval(v)?;
                    m.insert(k, v);
                }
                Value::hash(m)
            }
            Ex::Assign(n, v) => {
                match &**v {
                    Ex::IVar(iv) => {
                        self.aliases.insert(n.clone(), iv.clone());
                    }
                    _ => {
                        self.aliases.remove(n);
                    }
                }
                let v = self.eval(v)?;
                if let Some(m) = self.locals.last_mut() {
                    m.insert(n.clone(), v.clone());
                }
                v
            }
            Ex::IndexAssign(n, idx, v) => {
                let v = self.eval(v)?;
                let key = match idx.first() {
                    Some(k) => self.eval(k)?,
                    None => Value::Undef,
                };
                let cur = self.var(n).unwrap_or(Value::Undef);
                let new = self.index_set(cur, key, v.clone())?;
                self.mutated_local(n, new);
                v
            }
            Ex::IvarIndexAssign(n, idx, v, or) => {
                let key = match idx.first() {
                    Some(k) => self.eval(k)?,
                    None => Value::Undef,
                };
                let cur = match self.ivars.get(n) {
                    Some(c) => c.clone(),
                    None => self.lookup(n)?,
                };
                if *or {
                    let old = self.index(&cur, std::slice::from_ref(&key))?;
                    if truthy(&old) {
                        return Ok(old);
                    }
                }
                let v = self.eval(v)?;
                let new = self.index_set(cur, key, v.clone())?;
                if let Some(root) = self.ivar_aliases.get(n).cloned() {
                    match self.ivars.get_mut(&root) {
                        Some(slot) => *slot = new.clone(),
                        None => self.write_through(&root, new.clone()),
                    }
                }
                self.ivars.insert(n.clone(), new);
                v
            }
            Ex::ScopeIndexAssign(name, idx, v) => {
                let name = to_s(&self.eval(name)?);
                let name = name.trim_start_matches("::").to_string();
                let key = match idx.first() {
                    Some(k) => self.eval(k)?,
                    None => Value::Undef,
                };
                let v = self.eval(v)?;
                let mut m = match &self.lookup(&name)? {
                    Value::Hash(h) => (**h).clone(),
                    other => {
                        return Err(
                            self.err(format!("undefined method `[]=' for {}", inspect(other)))
                        )
                    }
                };
                m.insert(key, v.clone());
                self.scope.setvar(&name, Value::hash(m));
                v
            }
            Ex::Cond(body) => self.run(body)?,
            Ex::Not(x) => Value::Bool(!truthy(&self.eval(x)?)),
            Ex::Neg(x) => match self.eval(x)? {
                Value::Int(i) => Value::Int(-i),
                Value::Float(f) => Value::Float(-f),
                other => {
                    return Err(self.err(format!("undefined method `-@' for {}", inspect(&other))))
                }
            },
            Ex::Tern(c, a, b) => {
                if truthy(&self.eval(c)?) {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
            Ex::Range(a, b) => {
                let (Value::Int(a), Value::Int(b)) = (self.eval(a)?, self.eval(b)?) else {
                    return Err(self.err("ranges must be of integers"));
                };
                let n = (b as i128 - a as i128 + 1).max(0) as u64;
                crate::model::limits::reserve_items(n, std::mem::size_of::<Value>())?;
                Value::array((a..=b).map(Value::Int).collect())
            }
            Ex::Bin(op, l, r) => {
                if *op == "&&" {
                    let lv = self.eval(l)?;
                    return if truthy(&lv) { self.eval(r) } else { Ok(lv) };
                }
                if *op == "||" {
                    let lv = self.eval(l)?;
                    return if truthy(&lv) { Ok(lv) } else { self.eval(r) };
                }
                let lv = self.eval(l)?;
                let rv = self.eval(r)?;
                let out = self.binop(op, lv, rv)?;
                // `local << x` appends in place in Ruby: the local sees the new value.
                if *op == "<<" {
                    if let Ex::Var(n) | Ex::LVar(n) = &**l {
                        if self.var(n).is_some() {
                            self.mutated_local(n, out.clone());
                        }
                    }
                }
                out
            }
            Ex::Index(recv, args) => {
                let r = self.eval(recv)?;
                let mut a = Vec::new();
                for x in args {
                    a.push(self.eval(x)?);
                }
                if matches!(&r, Value::Str(s) if &**s == "\u{0}scope") {
                    let n = to_s(a.first().unwrap_or(&Value::Undef));
                    return self.lookup(n.trim_start_matches("::"));
                }
                self.index(&r, &a)?
            }
            Ex::Call(Some(recv), name, args, None)
                if name == "delete"
                    && matches!(&**recv, Ex::Var(n) | Ex::LVar(n) if self.var(n).is_some()) =>
            {
                let (Ex::Var(n) | Ex::LVar(n)) = &**recv else {
                    return Err(self.err("delete"));
                };
                let key = match args.first() {
                    Some(a) => self.eval(a)?,
                    None => return Err(self.err("wrong number of arguments (given 0, expected 1)")),
                };
                let cur = self.var(n).unwrap_or(Value::Undef);
                let (removed, new) = match &cur {
                    Value::Hash(h) => {
                        let mut m = (**h).clone();
                        let removed = m.shift_remove(&key).unwrap_or(Value::Undef);
                        (removed, Value::hash(m))
                    }
                    Value::Array(a) => {
                        let found = a.contains(&key);
                        let kept: Vec<Value> = a.iter().filter(|x| **x != key).cloned().collect();
                        (
                            if found { key.clone() } else { Value::Undef },
                            Value::array(kept),
                        )
                    }
                    other => {
                        return Err(
                            self.err(format!("undefined method `delete' for {}", inspect(other)))
                        )
                    }
                };
                self.mutated_local(n, new);
                removed
            }
            Ex::Call(Some(recv), name, args, blk)
                if name.ends_with('!')
                    && matches!(&**recv, Ex::Var(n) | Ex::LVar(n) if self.var(n).is_some()) =>
            {
                // `local.compact!` and friends: the non-bang method, stored back in the local.
                let (Ex::Var(n) | Ex::LVar(n)) = &**recv else {
                    return Err(self.err("bang method"));
                };
                let cur = self.var(n).unwrap_or(Value::Undef);
                let mut a = Vec::new();
                for x in args {
                    a.push(self.eval(x)?);
                }
                let new = self.method(Some(cur), name.trim_end_matches('!'), a, blk.as_deref())?;
                self.mutated_local(n, new.clone());
                new
            }
            Ex::Call(recv, name, args, blk) => {
                let r = match recv {
                    Some(r) => Some(self.eval(r)?),
                    None => None,
                };
                let mut a = Vec::new();
                for x in args {
                    a.push(self.eval(x)?);
                }
                return self.method(r, name, a, blk.as_deref());
            }
        })
    }

    fn index(&self, r: &Value, a: &[Value]) -> EResult<Value> {
        Ok(match (r, a) {
            (Value::Hash(h), [k]) => h.get(k).cloned().unwrap_or(Value::Undef),
            (Value::Array(x), [Value::Int(i)]) => {
                let i = if *i < 0 { x.len() as i64 + i } else { *i };
                x.get(i as usize).cloned().unwrap_or(Value::Undef)
            }
            (Value::Array(x), [Value::Int(s), Value::Int(n)]) => {
                let s = (*s).max(0) as usize;
                Value::array(x.iter().skip(s).take(*n as usize).cloned().collect())
            }
            (Value::Str(s), [Value::Int(i)]) => {
                let cs: Vec<char> = s.chars().collect();
                let i = if *i < 0 { cs.len() as i64 + i } else { *i };
                cs.get(i as usize)
                    .map(|c| Value::str(c.to_string()))
                    .unwrap_or(Value::Undef)
            }
            (Value::Str(s), [Value::Int(st), Value::Int(n)]) => Value::str(
                s.chars()
                    .skip((*st).max(0) as usize)
                    .take(*n as usize)
                    .collect::<String>(),
            ),
            (Value::Str(s), [Value::Array(range)]) => {
                // `s[a..b]`: ranges evaluate to their integers.
                let Some(Value::Int(st)) = range.first() else {
                    return Ok(Value::str(""));
                };
                let n = range.len();
                Value::str(
                    s.chars()
                        .skip((*st).max(0) as usize)
                        .take(n)
                        .collect::<String>(),
                )
            }
            (Value::Array(x), [Value::Array(range)]) => {
                let Some(Value::Int(st)) = range.first() else {
                    return Ok(Value::array(vec![]));
                };
                Value::array(
                    x.iter()
                        .skip((*st).max(0) as usize)
                        .take(range.len())
                        .cloned()
                        .collect(),
                )
            }
            (Value::Undef, _) => return Err(self.err("undefined method `[]' for nil:NilClass")),
            _ => return Err(self.err(format!("unsupported index on {}", inspect(r)))),
        })
    }

    fn binop(&mut self, op: &str, l: Value, r: Value) -> EResult<Value> {
        use std::cmp::Ordering;
        let cmp = |a: &Value, b: &Value| -> Option<Ordering> {
            match (a, b) {
                (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                    crate::model::number::as_f64(a).partial_cmp(&crate::model::number::as_f64(b))
                }
                (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
                _ => None,
            }
        };
        Ok(match op {
            "==" => Value::Bool(
                l == r
                    || (matches!(
                        (&l, &r),
                        (
                            Value::Int(_) | Value::Float(_),
                            Value::Int(_) | Value::Float(_)
                        )
                    ) && crate::model::number::as_f64(&l) == crate::model::number::as_f64(&r)),
            ),
            "!=" => Value::Bool(!(l == r)),
            "<" | ">" | "<=" | ">=" | "<=>" => {
                let Some(o) = cmp(&l, &r) else {
                    return Err(self.err(format!(
                        "comparison of {} with {} failed",
                        inspect(&l),
                        inspect(&r)
                    )));
                };
                match op {
                    "<" => Value::Bool(o == Ordering::Less),
                    ">" => Value::Bool(o == Ordering::Greater),
                    "<=" => Value::Bool(o != Ordering::Greater),
                    ">=" => Value::Bool(o != Ordering::Less),
                    _ => Value::Int(o as i64),
                }
            }
            "=~" | "!~" => {
                let (s, re) = match (&l, &r) {
                    (Value::Str(s), Value::Regex(re)) | (Value::Regex(re), Value::Str(s)) => {
                        (s, re)
                    }
                    (Value::Undef, _) | (_, Value::Undef) => {
                        return Ok(if op == "=~" {
                            Value::Undef
                        } else {
                            Value::Bool(true)
                        })
                    }
                    _ => return Err(self.err("=~ needs a string and a regexp")),
                };
                match re.captures(s) {
                    Some((start, caps)) => {
                        self.last_match = caps;
                        let at = s[..start].chars().count();
                        if op == "=~" {
                            Value::Int(at as i64)
                        } else {
                            Value::Bool(false)
                        }
                    }
                    None => {
                        self.last_match.clear();
                        if op == "=~" {
                            Value::Undef
                        } else {
                            Value::Bool(true)
                        }
                    }
                }
            }
            "+" => match (&l, &r) {
                (Value::Str(a), Value::Str(b)) => Value::str(format!("{a}{b}")),
                (Value::Array(a), Value::Array(b)) => {
                    Value::array(a.iter().chain(b.iter()).cloned().collect())
                }
                (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_add(*b)),
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    crate::model::number::as_f64(&l) + crate::model::number::as_f64(&r),
                ),
                _ => {
                    return Err(self.err(format!(
                        "no implicit conversion of {} into {}",
                        ruby_class(&r),
                        ruby_class(&l)
                    )))
                }
            },
            "-" => match (&l, &r) {
                (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_sub(*b)),
                (Value::Array(a), Value::Array(b)) => {
                    Value::array(a.iter().filter(|x| !b.contains(x)).cloned().collect())
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    crate::model::number::as_f64(&l) - crate::model::number::as_f64(&r),
                ),
                _ => return Err(self.err("unsupported '-'")),
            },
            "*" => match (&l, &r) {
                (Value::Int(a), Value::Int(b)) => Value::Int(a.wrapping_mul(*b)),
                (Value::Str(s), Value::Int(n)) => {
                    let n = (*n).max(0) as u64;
                    crate::model::limits::reserve(n.saturating_mul(s.len() as u64))?;
                    Value::str(s.repeat(n as usize))
                }
                (Value::Array(a), Value::Str(s)) => {
                    Value::str(a.iter().map(to_s).collect::<Vec<_>>().join(s))
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => Value::Float(
                    crate::model::number::as_f64(&l) * crate::model::number::as_f64(&r),
                ),
                _ => return Err(self.err("unsupported '*'")),
            },
            "/" | "%" => match (&l, &r) {
                (Value::Int(_), Value::Int(0)) => return Err(self.err("divided by 0")),
                (Value::Int(a), Value::Int(b)) => Value::Int(if op == "/" {
                    a.div_euclid(*b)
                } else {
                    a.rem_euclid(*b)
                }),
                (Value::Str(f), args) if op == "%" => {
                    let a = match args {
                        Value::Array(a) => (**a).clone(),
                        other => vec![other.clone()],
                    };
                    Value::str(crate::ruby::format::sprintf(f, &a)?)
                }
                (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                    let (a, b) = (
                        crate::model::number::as_f64(&l),
                        crate::model::number::as_f64(&r),
                    );
                    Value::Float(if op == "/" { a / b } else { a % b })
                }
                _ => return Err(self.err(format!("unsupported '{op}'"))),
            },
            "<<" => match (&l, &r) {
                (Value::Array(a), _) => {
                    let mut x = (**a).clone();
                    x.push(r.clone());
                    Value::array(x)
                }
                (Value::Str(a), _) => Value::str(format!("{a}{}", to_s(&r))),
                _ => return Err(self.err("unsupported '<<'")),
            },
            _ => return Err(self.err(format!("unsupported operator '{op}'"))),
        })
    }

    fn method(
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
                    e.flow = Some(crate::model::error::Flow::Next(
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
                return crate::ruby::dump::psych_yaml(&r)
                    .map(Value::str)
                    .map_err(|m| self.err(m))
            }
            "to_json" if args.is_empty() => {
                return crate::ruby::dump::ruby_json(&r, &crate::ruby::dump::JsonLayout::default())
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
                                crate::model::value::Regexp::new(&a0).map_err(|e| self.err(e))?,
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
                            crate::model::limits::reserve(w as u64)?;
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
                    "%" => Value::str(crate::ruby::format::sprintf(s, &args)?),
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

    fn array_method(
        &mut self,
        r: &Value,
        a: &[Value],
        name: &str,
        args: Vec<Value>,
        blk: Option<&Block>,
    ) -> EResult<Value> {
        let bad = |s: &Self| {
            s.err(format!(
                "undefined method `{name}' for {}:Array",
                inspect(r)
            ))
        };
        Ok(match name {
            "each" => {
                let b = blk.ok_or_else(|| self.err("each without a block"))?;
                for x in a {
                    self.call_block(b, vec![x.clone()])?;
                }
                r.clone()
            }
            "each_index" => {
                let b = blk.ok_or_else(|| self.err("each_index without a block"))?;
                for i in 0..a.len() {
                    self.call_block(b, vec![Value::Int(i as i64)])?;
                }
                r.clone()
            }
            "each_with_index" => {
                let b = blk.ok_or_else(|| self.err("each_with_index without a block"))?;
                for (i, x) in a.iter().enumerate() {
                    self.call_block(b, vec![x.clone(), Value::Int(i as i64)])?;
                }
                r.clone()
            }
            "inject" | "reduce" if blk.is_some() => {
                let b = blk.ok_or_else(|| self.err("inject without a block"))?;
                let mut items = a.iter().cloned();
                let mut acc = match args.first() {
                    Some(init) => init.clone(),
                    None => items.next().unwrap_or(Value::Undef),
                };
                for x in items {
                    acc = self.call_block(b, vec![acc, x])?;
                }
                acc
            }
            "map" | "collect" | "select" | "filter" | "reject" | "find" | "detect" | "any?"
            | "all?" | "sort_by" | "flat_map" | "count" => {
                let Some(b) = blk else {
                    return Ok(match name {
                        // Without a block: an enumerator, which chains like the array.
                        "map" | "collect" => r.clone(),
                        "count" => Value::Int(if let Some(x) = args.first() {
                            a.iter().filter(|y| *y == x).count() as i64
                        } else {
                            a.len() as i64
                        }),
                        "any?" => Value::Bool(a.iter().any(truthy)),
                        "all?" => Value::Bool(a.iter().all(truthy)),
                        _ => return Err(bad(self)),
                    });
                };
                let mut out = Vec::new();
                let mut keyed = Vec::new();
                for x in a {
                    let v = self.call_block(b, vec![x.clone()])?;
                    match name {
                        "map" | "collect" => out.push(v),
                        "flat_map" => match &v {
                            Value::Array(xs) => out.extend(xs.iter().cloned()),
                            o => out.push(o.clone()),
                        },
                        "select" | "filter" => {
                            if truthy(&v) {
                                out.push(x.clone())
                            }
                        }
                        "reject" => {
                            if !truthy(&v) {
                                out.push(x.clone())
                            }
                        }
                        "find" | "detect" => {
                            if truthy(&v) {
                                return Ok(x.clone());
                            }
                        }
                        "any?" => {
                            if truthy(&v) {
                                return Ok(Value::Bool(true));
                            }
                        }
                        "all?" => {
                            if !truthy(&v) {
                                return Ok(Value::Bool(false));
                            }
                        }
                        "count" => {
                            if truthy(&v) {
                                out.push(x.clone())
                            }
                        }
                        _ => keyed.push((v, x.clone())),
                    }
                }
                match name {
                    "find" | "detect" => Value::Undef,
                    "any?" => Value::Bool(false),
                    "all?" => Value::Bool(true),
                    "count" => Value::Int(out.len() as i64),
                    "sort_by" => {
                        keyed.sort_by(|x, y| crate::ruby::object::sort_cmp(&x.0, &y.0));
                        Value::array(keyed.into_iter().map(|(_, x)| x).collect())
                    }
                    _ => Value::array(out),
                }
            }
            "join" => {
                let sep = args.first().map(to_s).unwrap_or_default();
                let flat = crate::model::value::flatten(a);
                Value::str(flat.iter().map(to_s).collect::<Vec<_>>().join(&sep))
            }
            "sort" => {
                let mut v = a.to_vec();
                v.sort_by(crate::ruby::object::sort_cmp);
                Value::array(v)
            }
            "first" => match args.first() {
                Some(Value::Int(n)) => Value::array(a.iter().take(*n as usize).cloned().collect()),
                _ => a.first().cloned().unwrap_or(Value::Undef),
            },
            "last" => match args.first() {
                Some(Value::Int(n)) => {
                    Value::array(a[a.len().saturating_sub(*n as usize)..].to_vec())
                }
                _ => a.last().cloned().unwrap_or(Value::Undef),
            },
            "length" | "size" => Value::Int(a.len() as i64),
            "empty?" => Value::Bool(a.is_empty()),
            "include?" | "member?" => Value::Bool(args.first().is_some_and(|x| a.contains(x))),
            "uniq" => {
                let mut out: Vec<Value> = Vec::new();
                for x in a {
                    if !out.contains(x) {
                        out.push(x.clone());
                    }
                }
                Value::array(out)
            }
            "flatten" => Value::array(crate::model::value::flatten(a)),
            "transpose" => {
                let rows: Vec<&Vec<Value>> = a
                    .iter()
                    .map(|x| match x {
                        Value::Array(row) => Ok(&**row),
                        other => Err(self.err(format!(
                            "no implicit conversion of {} into Array",
                            ruby_class(other)
                        ))),
                    })
                    .collect::<Result<_, _>>()?;
                let width = rows.first().map_or(0, |r| r.len());
                if let Some(bad) = rows.iter().find(|r| r.len() != width) {
                    return Err(self.err(format!(
                        "element size differs ({} should be {width})",
                        bad.len()
                    )));
                }
                Value::array(
                    (0..width)
                        .map(|c| Value::array(rows.iter().map(|r| r[c].clone()).collect()))
                        .collect(),
                )
            }
            "compact" => Value::array(a.iter().filter(|x| !x.is_undef()).cloned().collect()),
            "reverse" => Value::array(a.iter().rev().cloned().collect()),
            "min" => a
                .iter()
                .cloned()
                .min_by(crate::ruby::object::sort_cmp)
                .unwrap_or(Value::Undef),
            "max" => a
                .iter()
                .cloned()
                .max_by(crate::ruby::object::sort_cmp)
                .unwrap_or(Value::Undef),
            "to_a" | "entries" => r.clone(),
            "index" => a
                .iter()
                .position(|x| Some(x) == args.first())
                .map(|i| Value::Int(i as i64))
                .unwrap_or(Value::Undef),
            "each_slice" => {
                let n = match args.first() {
                    Some(Value::Int(n)) if *n > 0 => *n as usize,
                    _ => return Err(bad(self)),
                };
                let chunks: Vec<Value> = a.chunks(n).map(|c| Value::array(c.to_vec())).collect();
                match blk {
                    Some(b) => {
                        for c in chunks {
                            self.call_block(b, vec![c])?;
                        }
                        Value::Undef
                    }
                    None => Value::array(chunks),
                }
            }
            "to_h" => {
                let mut m = Map::new();
                for x in a {
                    if let Value::Array(p) = x {
                        m.insert(
                            p.first().cloned().unwrap_or(Value::Undef),
                            p.get(1).cloned().unwrap_or(Value::Undef),
                        );
                    }
                }
                Value::hash(m)
            }
            _ => return Err(bad(self)),
        })
    }

    fn call_puppet(&mut self, f: &str, args: Vec<Value>) -> EResult<Value> {
        let line = self.line;
        let file = self.file.clone();
        self.scope
            .call_function(f, args)
            .map_err(|e| fail(&file, line, &e.msg))
    }
}

/// Functions written for Puppet's 3.x API, the only ones `scope.function_*` reaches.
const FUNCTIONS_3X: &[&str] = &[
    "create_resources",
    "defined",
    "digest",
    "fail",
    "file",
    "fqdn_rand",
    "generate",
    "hiera",
    "hiera_array",
    "hiera_hash",
    "hiera_include",
    "include",
    "inline_template",
    "lookup",
    "md5",
    "realize",
    "require",
    "search",
    "sha1",
    "sha256",
    "shellquote",
    "split",
    "sprintf",
    "tag",
    "tagged",
    "template",
    "versioncmp",
    "contain",
    "alert",
    "crit",
    "debug",
    "emerg",
    "err",
    "info",
    "notice",
    "warning",
];
