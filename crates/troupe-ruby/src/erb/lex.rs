//! ERB's scanner: template text into text/code parts, and Ruby code into tokens.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) enum SPart {
    Lit(String),
    Code(String),
}
/// Splits the template into text and code, applying ERB's `-` trim mode.
pub(super) fn scan(src: &str) -> Vec<(Tok, u32, String)> {
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
pub(super) fn lex_ruby(code: &str, toks: &mut Vec<(Tok, u32)>, line0: u32) -> Result<(), String> {
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
        if c == '0' && matches!(cs.get(i + 1), Some('x' | 'X' | 'b' | 'B' | 'o' | 'O')) {
            let radix = match cs[i + 1] {
                'x' | 'X' => 16,
                'b' | 'B' => 2,
                _ => 8,
            };
            i += 2;
            let s = i;
            while i < cs.len() && (cs[i].is_digit(radix) || cs[i] == '_') {
                i += 1;
            }
            let t: String = cs[s..i].iter().filter(|c| **c != '_').collect();
            let n = i64::from_str_radix(&t, radix)
                .map_err(|_| "numeric literal without digits".to_string())?;
            toks.push((Tok::Int(n), line));
            continue;
        }
        if c.is_ascii_digit() {
            let s = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '_') {
                i += 1;
            }
            if i + 1 < cs.len() && cs[i] == '.' && cs[i + 1].is_ascii_digit() {
                i += 1;
                while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '_') {
                    i += 1;
                }
                if matches!(cs.get(i), Some('e' | 'E'))
                    && (cs.get(i + 1).is_some_and(|c| c.is_ascii_digit())
                        || matches!(cs.get(i + 1), Some('+' | '-'))
                            && cs.get(i + 2).is_some_and(|c| c.is_ascii_digit()))
                {
                    i += 2;
                    while i < cs.len() && cs[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let t: String = cs[s..i].iter().filter(|c| **c != '_').collect();
                toks.push((Tok::Float(t.parse().unwrap_or(0.0)), line));
            } else if matches!(cs.get(i), Some('e' | 'E'))
                && (cs.get(i + 1).is_some_and(|c| c.is_ascii_digit())
                    || matches!(cs.get(i + 1), Some('+' | '-'))
                        && cs.get(i + 2).is_some_and(|c| c.is_ascii_digit()))
            {
                i += 2;
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
                let t: String = cs[s..i].iter().filter(|c| **c != '_').collect();
                toks.push((Tok::Float(t.parse().unwrap_or(0.0)), line));
            } else {
                let t: String = cs[s..i].iter().filter(|c| **c != '_').collect();
                let n = t
                    .parse()
                    .map_err(|_| "integer literal past 64 bits".to_string())?;
                toks.push((Tok::Int(n), line));
            }
            continue;
        }
        if c == '%' && percent_literal_at(&cs, i, toks.last().map(|t| &t.0)) {
            // %w() %i() %q() %Q() %(): any bracket (nesting) or other punctuation.
            let (kind, open) = if cs[i + 1].is_ascii_alphabetic() {
                (cs[i + 1], cs[i + 2])
            } else {
                ('Q', cs[i + 1])
            };
            i += if cs[i + 1].is_ascii_alphabetic() {
                3
            } else {
                2
            };
            let close = match open {
                '(' => ')',
                '[' => ']',
                '{' => '}',
                '<' => '>',
                o => o,
            };
            let mut depth = 1;
            let s = i;
            while i < cs.len() {
                if cs[i] == '\\' {
                    i += 2;
                    continue;
                }
                if cs[i] == close && open != close {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                } else if cs[i] == open && open != close {
                    depth += 1;
                } else if cs[i] == close {
                    break;
                }
                if cs[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            if i >= cs.len() {
                return Err("unterminated string meets end of file".into());
            }
            let body: String = cs[s..i].iter().collect();
            i += 1;
            match kind {
                'i' | 'I' => {
                    toks.push((Tok::Op("["), line));
                    for (n, w) in body.split_whitespace().enumerate() {
                        if n > 0 {
                            toks.push((Tok::Op(","), line));
                        }
                        toks.push((Tok::Sym(w.to_string()), line));
                    }
                    toks.push((Tok::Op("]"), line));
                }
                'w' | 'W' => {
                    toks.push((Tok::Op("["), line));
                    for (n, w) in body.split_whitespace().enumerate() {
                        if n > 0 {
                            toks.push((Tok::Op(","), line));
                        }
                        toks.push((Tok::Str(vec![SPart::Lit(w.to_string())]), line));
                    }
                    toks.push((Tok::Op("]"), line));
                }
                'q' => {
                    let mut t = String::new();
                    let mut it = body.chars().peekable();
                    while let Some(ch) = it.next() {
                        if ch == '\\'
                            && matches!(it.peek(), Some(x) if *x == '\\' || *x == open || *x == close)
                        {
                            t.extend(it.next());
                        } else {
                            t.push(ch);
                        }
                    }
                    toks.push((Tok::Str(vec![SPart::Lit(t)]), line));
                }
                'Q' => toks.push((
                    Tok::Str(double_quoted(&body.chars().collect::<Vec<_>>())),
                    line,
                )),
                other => return Err(format!("unknown type of %string: %{other}")),
            }
            continue;
        }
        if c == '$' && cs.get(i + 1) == Some(&'~') {
            toks.push((Tok::Ident("$~".into()), line));
            i += 2;
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
        if c == ':'
            && cs.get(i.wrapping_sub(1)) != Some(&':')
            && cs.get(i + 1) != Some(&':')
            && !matches!(toks.last(), Some((Tok::Ident(_) | Tok::Const(_) | Tok::Int(_) | Tok::Str(_) | Tok::IVar(_) | Tok::Op(")" | "]"), _)) if cs.get(i + 1) == Some(&' '))
        {
            // `:+`, `:<=>`, `:[]`: operator Symbols.
            let rest: String = cs[i + 1..cs.len().min(i + 4)].iter().collect();
            if let Some(op) = [
                "<=>", "==", "<<", "[]", "**", "+", "-", "*", "/", "%", "<", ">",
            ]
            .iter()
            .find(|op| rest.starts_with(**op))
            {
                if !matches!(toks.last(), Some((Tok::Op("?"), _))) {
                    i += 1 + op.len();
                    toks.push((Tok::Sym(op.to_string()), line));
                    continue;
                }
            }
        }
        if c == ':'
            && i + 1 < cs.len()
            && (cs[i + 1].is_alphabetic() || cs[i + 1] == '_' || cs[i + 1] == '@')
        {
            let s = i + 1;
            i += 1;
            while i < cs.len()
                && (cs[i].is_alphanumeric() || cs[i] == '_' || (i == s && cs[i] == '@'))
            {
                i += 1;
            }
            if i < cs.len() && matches!(cs[i], '?' | '!') {
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
            if i >= cs.len() {
                return Err("unterminated string meets end of file".into());
            }
            i += 1;
            toks.push((Tok::Str(vec![SPart::Lit(s)]), line));
            continue;
        }
        if c == '"' {
            let s = i + 1;
            i += 1;
            while i < cs.len() && cs[i] != '"' {
                if cs[i] == '\\' {
                    i += 1;
                } else if cs[i] == '#' && cs.get(i + 1) == Some(&'{') {
                    let mut depth = 0;
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
                }
                i += 1;
            }
            if i >= cs.len() {
                return Err("unterminated string meets end of file".into());
            }
            toks.push((Tok::Str(double_quoted(&cs[s..i])), line));
            i += 1;
            continue;
        }
        if c == '<'
            && cs.get(i + 1) == Some(&'<')
            && matches!(cs.get(i + 2), Some('~' | '-'))
            && matches!(toks.last(), Some((Tok::Op("="), _)))
        {
            return Err("heredocs are not supported".into());
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
                if s.contains("#{") {
                    return Err("regexp interpolation is not supported".into());
                }
                // Ruby's `^` and `$` always match at line ends; its `m` is dot-all.
                let mut flags = String::from("m");
                while i < cs.len() && cs[i].is_ascii_alphabetic() {
                    match cs[i] {
                        'i' => flags.push('i'),
                        'm' => flags.push('s'),
                        'x' => flags.push('x'),
                        f => return Err(format!("unknown regexp option - {f}")),
                    }
                    i += 1;
                }
                s.insert_str(0, &format!("(?{flags})"));
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
            "**=", "||=", "&&=", "<<=", "<=>", "===", "...", "**", "==", "!=", "<=", ">=", "&&",
            "||", "=~", "!~", "=>", "<<", "::", "..", "+=", "-=", "*=", "/=", "&.", "->", "+", "-",
            "*", "/", "%", "<", ">", "!", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}", "|",
            "=", "&", "^",
        ];
        let rest: String = cs[i..cs.len().min(i + 3)].iter().collect();
        let matched = OPS.iter().find(|op| rest.starts_with(**op)).copied();
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

/// Whether the `%` at `i` opens a percent literal (not the modulo operator).
fn percent_literal_at(cs: &[char], i: usize, prev: Option<&Tok>) -> bool {
    let operand_before = matches!(
        prev,
        Some(
            Tok::Ident(_)
                | Tok::IVar(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Str(_)
                | Tok::Const(_)
        ) | Some(Tok::Op(")" | "]" | "}"))
    );
    let Some(&n) = cs.get(i + 1) else {
        return false;
    };
    if matches!(n, 'w' | 'W' | 'i' | 'I' | 'q' | 'Q') {
        return cs
            .get(i + 2)
            .is_some_and(|c| !c.is_alphanumeric() && !c.is_whitespace())
            && (!operand_before
                || matches!(prev, Some(Tok::Ident(_))) && cs.get(i.wrapping_sub(1)) == Some(&' '));
    }
    !operand_before && matches!(n, '(' | '[' | '{' | '<' | '|' | '!' | '/')
}

/// A double-quoted string's text: escapes and `#{...}` parts.
fn double_quoted(cs: &[char]) -> Vec<SPart> {
    let mut parts = Vec::new();
    let mut s = String::new();
    let mut i = 0;
    while i < cs.len() {
        if cs[i] == '\\' && i + 1 < cs.len() {
            i += 1;
            match cs[i] {
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                's' => s.push(' '),
                'e' => s.push('\u{1b}'),
                'a' => s.push('\u{7}'),
                'b' => s.push('\u{8}'),
                'v' => s.push('\u{b}'),
                'f' => s.push('\u{c}'),
                '0'..='7' => {
                    let st = i;
                    while i < cs.len() && i < st + 3 && cs[i].is_digit(8) {
                        i += 1;
                    }
                    let t: String = cs[st..i].iter().collect();
                    s.extend(u32::from_str_radix(&t, 8).ok().and_then(char::from_u32));
                    continue;
                }
                'x' => {
                    let st = i + 1;
                    i = st;
                    while i < cs.len() && i < st + 2 && cs[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                    let t: String = cs[st..i].iter().collect();
                    s.extend(u32::from_str_radix(&t, 16).ok().and_then(char::from_u32));
                    continue;
                }
                'u' if cs.get(i + 1) == Some(&'{') => {
                    let st = i + 2;
                    i = st;
                    while i < cs.len() && cs[i] != '}' {
                        i += 1;
                    }
                    let t: String = cs[st..i].iter().collect();
                    for h in t.split_whitespace() {
                        s.extend(u32::from_str_radix(h, 16).ok().and_then(char::from_u32));
                    }
                }
                'u' => {
                    let st = i + 1;
                    i = st;
                    while i < cs.len() && i < st + 4 && cs[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                    let t: String = cs[st..i].iter().collect();
                    s.extend(u32::from_str_radix(&t, 16).ok().and_then(char::from_u32));
                    continue;
                }
                '\n' => {}
                o => s.push(o),
            }
            i += 1;
            continue;
        }
        if cs[i] == '#' && cs.get(i + 1) == Some(&'{') {
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
            parts.push(SPart::Code(cs[st..i.min(cs.len())].iter().collect()));
            i += 1;
            continue;
        }
        s.push(cs[i]);
        i += 1;
    }
    if !s.is_empty() || parts.is_empty() {
        parts.push(SPart::Lit(s));
    }
    parts
}
