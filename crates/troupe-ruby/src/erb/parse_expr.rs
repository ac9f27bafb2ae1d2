//! The Ruby subset's parser: expressions, operators, calls, blocks, literals.

use super::lex::Tok;
use super::parse::Block;
use super::parse::Ex;
use super::parse::St;
use super::parse::P;
use troupe_values::value::Value;

/// The operator of an assignment operator (`+=` is `+`).
fn op_assign(op: &str) -> Option<&'static str> {
    Some(match op {
        "+=" => "+",
        "-=" => "-",
        "*=" => "*",
        "/=" => "/",
        "||=" => "||",
        "&&=" => "&&",
        "<<=" => "<<",
        _ => return None,
    })
}

impl P {
    pub(super) fn expr(&mut self) -> Result<Ex, String> {
        self.deeper()?;
        let r = troupe_values::limits::grow(|| self.expr_inner());
        self.depth -= 1;
        r
    }

    pub(super) fn expr_inner(&mut self) -> Result<Ex, String> {
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
        if let (Some(Tok::Ident(n)), Some((Tok::Op(op), _))) =
            (self.peek().cloned(), self.toks.get(self.i + 1))
        {
            if let Some(bin) = op_assign(op) {
                self.i += 2;
                let v = self.expr()?;
                self.assigned.insert(n.clone());
                return Ok(Ex::Assign(
                    n.clone(),
                    Box::new(Ex::Bin(bin, Box::new(Ex::LVar(n)), Box::new(v))),
                ));
            }
        }
        if let (Some(Tok::IVar(n)), Some((Tok::Op(op), _))) =
            (self.peek().cloned(), self.toks.get(self.i + 1))
        {
            if let Some(bin) = op_assign(op) {
                self.i += 2;
                let v = self.expr()?;
                return Ok(Ex::IvarAssign(
                    n.clone(),
                    Box::new(Ex::Bin(bin, Box::new(Ex::IVar(n)), Box::new(v))),
                ));
            }
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
                if let Some(Tok::Op(op)) = self.peek() {
                    if let Some(bin) = op_assign(op) {
                        self.i += 1;
                        let v = self.expr()?;
                        let cur = Ex::Index(recv.clone(), idx.clone());
                        let v = Ex::Bin(bin, Box::new(cur), Box::new(v));
                        return Ok(Ex::IvarIndexAssign(
                            n.clone(),
                            idx.clone(),
                            Box::new(v),
                            false,
                        ));
                    }
                }
            }
            if let Ex::Var(n) | Ex::LVar(n) = &**recv {
                if self.is_op("=") {
                    self.i += 1;
                    let v = self.expr()?;
                    return Ok(Ex::IndexAssign(n.clone(), idx.clone(), Box::new(v)));
                }
                if let Some(Tok::Op(op)) = self.peek() {
                    if let Some(bin) = op_assign(op) {
                        self.i += 1;
                        let v = self.expr()?;
                        let cur = Ex::Index(Box::new(Ex::LVar(n.clone())), idx.clone());
                        let v = Ex::Bin(bin, Box::new(cur), Box::new(v));
                        return Ok(Ex::IndexAssign(n.clone(), idx.clone(), Box::new(v)));
                    }
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

    pub(super) fn ternary(&mut self) -> Result<Ex, String> {
        let c = self.binary(0)?;
        if self.eat_op("?") {
            let a = self.ternary()?;
            self.expect_op(":")?;
            let b = self.ternary()?;
            return Ok(Ex::Tern(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    pub(super) fn binary(&mut self, min: u8) -> Result<Ex, String> {
        let base = self.depth;
        let r = self.binary_chain(min);
        self.depth = base;
        r
    }

    pub(super) fn binary_chain(&mut self, min: u8) -> Result<Ex, String> {
        self.deeper()?;
        let mut l = self.unary()?;
        while let Some(Tok::Op(o)) = self.peek() {
            let (op, prec) = {
                match *o {
                    ".." => ("..", 1),
                    "..." => ("...", 1),
                    "||" => ("||", 2),
                    "&&" => ("&&", 3),
                    "==" | "!=" | "=~" | "!~" | "<=>" | "===" => (*o, 4),
                    "<" | ">" | "<=" | ">=" => (*o, 5),
                    "|" | "^" => (*o, 6),
                    "&" => ("&", 7),
                    "<<" => ("<<", 8),
                    "+" | "-" => (*o, 9),
                    "*" | "/" | "%" => (*o, 10),
                    "**" => ("**", 12),
                    _ => break,
                }
            };
            if prec < min {
                break;
            }
            self.deeper()?;
            self.i += 1;
            self.skip_nl();
            // `**` is right-associative; `a..` is endless before `]` or `)`.
            let r = if matches!(op, ".." | "...") && (self.is_op("]") || self.is_op(")")) {
                Ex::Lit(Value::Undef)
            } else {
                self.binary(if op == "**" { prec } else { prec + 1 })?
            };
            l = if op == ".." || op == "..." && matches!(r, Ex::Lit(Value::Undef)) {
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

    pub(super) fn unary(&mut self) -> Result<Ex, String> {
        self.deeper()?;
        let r = troupe_values::limits::grow(|| self.unary_inner());
        self.depth -= 1;
        r
    }

    pub(super) fn unary_inner(&mut self) -> Result<Ex, String> {
        if self.eat_op("!") || self.eat_kw("not") {
            return Ok(Ex::Not(Box::new(self.unary()?)));
        }
        if self.is_op("-")
            && !matches!(
                self.toks.get(self.i + 1).map(|t| &t.0),
                Some(Tok::Int(_) | Tok::Float(_))
            )
        {
            self.i += 1;
            return Ok(Ex::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    pub(super) fn args(&mut self, close: &str) -> Result<Vec<Ex>, String> {
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
            if self.eat_op("*") {
                let e = self.ternary()?;
                out.push(Ex::Splat(Box::new(e)));
                self.skip_nl();
                if self.eat_op(close) {
                    return Ok(out);
                }
                self.expect_op(",")?;
                continue;
            }
            let label = match (self.peek(), self.toks.get(self.i + 1).map(|t| &t.0)) {
                (Some(Tok::Ident(n)), Some(Tok::Op(":"))) => Some(n.clone()),
                _ => None,
            };
            if let Some(first) = label {
                // Keyword arguments: a trailing Hash.
                self.i += 2;
                let mut pairs = vec![(Ex::Lit(Value::str(first)), self.expr()?)];
                while self.eat_op(",") {
                    self.skip_nl();
                    match (
                        self.peek().cloned(),
                        self.toks.get(self.i + 1).map(|t| &t.0),
                    ) {
                        (Some(Tok::Ident(n)), Some(Tok::Op(":"))) => {
                            self.i += 2;
                            pairs.push((Ex::Lit(Value::str(n)), self.expr()?));
                        }
                        _ => {
                            let k = self.expr()?;
                            self.expect_op("=>")?;
                            pairs.push((k, self.expr()?));
                        }
                    }
                }
                out.push(Ex::Hash(pairs));
                self.skip_nl();
                self.expect_op(close)?;
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
            // A trailing comma before the closing bracket.
            self.skip_nl();
            if close == "]" && self.eat_op(close) {
                return Ok(out);
            }
        }
    }

    pub(super) fn block(&mut self) -> Result<Option<Box<Block>>, String> {
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
                    let mut inner = Vec::new();
                    while let Some(Tok::Ident(n)) = self.peek().cloned() {
                        self.i += 1;
                        self.assigned.insert(n.clone());
                        inner.push(n);
                        if !self.eat_op(",") {
                            break;
                        }
                    }
                    self.expect_op(")")?;
                    params.push(format!("({})", inner.join(",")));
                } else {
                    match self.peek().cloned() {
                        Some(Tok::Ident(n)) => {
                            self.assigned.insert(n.clone());
                            params.push(n);
                            self.i += 1;
                        }
                        _ => return Err("syntax error in block parameters".into()),
                    }
                }
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
        Ok(Some(Box::new(Block::new(params, body))))
    }

    pub(super) fn postfix(&mut self) -> Result<Ex, String> {
        let base = self.depth;
        let r = self.postfix_chain();
        self.depth = base;
        r
    }

    pub(super) fn postfix_chain(&mut self) -> Result<Ex, String> {
        let mut e = self.primary()?;
        loop {
            self.deeper()?;
            let safe = self.is_op("&.");
            if self.eat_op(".") || self.eat_op("&.") {
                if self.is_op("(") {
                    return Err("syntax error: `.()` calls".into());
                }
                let name = match self.peek().cloned() {
                    Some(Tok::Ident(n)) if safe => format!("&.{n}"),
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
                    blk = Some(Box::new(Block::new(
                        vec![it.clone()],
                        vec![St::Ex(
                            Ex::Call(Some(Box::new(Ex::LVar(it))), m, vec![], None),
                            0,
                        )],
                    )));
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

    pub(super) fn primary(&mut self) -> Result<Ex, String> {
        let t = self.peek().cloned();
        self.i += 1;
        Ok(match t {
            Some(Tok::Int(i)) => Ex::Lit(Value::Int(i)),
            Some(Tok::Float(f)) => Ex::Lit(Value::Float(f)),
            Some(Tok::Str(p)) => Ex::Str(p),
            Some(Tok::Sym(s)) => Ex::Sym(s),
            Some(Tok::Regex(r)) => Ex::Lit(Value::Regex(std::rc::Rc::new(
                troupe_values::value::Regexp::new(&r)?,
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
                                Ex::Sym(n)
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
            Some(Tok::Op("-")) => match self.peek().cloned() {
                Some(Tok::Int(i)) => {
                    self.i += 1;
                    Ex::Lit(Value::Int(-i))
                }
                Some(Tok::Float(f)) => {
                    self.i += 1;
                    Ex::Lit(Value::Float(-f))
                }
                _ => return Err("syntax error, unexpected '-'".into()),
            },
            Some(Tok::Op("*"))
                if self.is_op("[") || matches!(self.peek(), Some(Tok::IVar(_) | Tok::Ident(_))) =>
            {
                Ex::Splat(Box::new(self.postfix()?))
            }
            Some(Tok::Ident(w))
                if matches!(w.as_str(), "raise" | "fail" | "require")
                    && matches!(
                        self.peek(),
                        Some(Tok::Str(_) | Tok::Const(_) | Tok::IVar(_) | Tok::Ident(_))
                    )
                    && !self.is_kw("if")
                    && !self.is_kw("unless") =>
            {
                // A command call: `raise ArgumentError, 'message'`.
                let mut args = vec![self.ternary()?];
                while self.eat_op(",") {
                    args.push(self.ternary()?);
                }
                Ex::Call(None, w, args, None)
            }
            Some(Tok::Ident(w)) if matches!(w.as_str(), "return" | "break" | "next") => {
                let ends = matches!(self.peek(), None | Some(Tok::Nl | Tok::CodeEnd))
                    || self.is_kw("if")
                    || self.is_kw("unless")
                    || self.is_kw("end")
                    || self.is_op("}");
                let args = if ends { vec![] } else { vec![self.expr()?] };
                Ex::Call(None, w, args, None)
            }
            Some(Tok::Ident(w))
                if w == "if"
                    || w == "unless"
                    || w == "case"
                    || w == "begin"
                    || w == "while"
                    || w == "until"
                    || w == "for" =>
            {
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
