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
