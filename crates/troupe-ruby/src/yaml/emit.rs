//! The libyaml emitter as Psych drives it: analysis of a scalar's text, style downgrades,
//! folding after column 80, and block collections.

use crate::yaml::scalar::scalar_of;
use crate::yaml::scalar::Scalar;
use crate::yaml::scalar::Style;
use crate::yaml::simple_key_ok;
use troupe_values::value::Value;
pub(super) struct Analysis {
    pub(super) multiline: bool,
    pub(super) block_plain: bool,
    pub(super) single: bool,
    pub(super) block: bool,
}

pub(super) fn is_printable(c: char) -> bool {
    let cp = c as u32;
    cp == 0x0A
        || (0x20..=0x7E).contains(&cp)
        || (0xA0..=0xD7FF).contains(&cp)
        || ((0xE000..=0xFFFD).contains(&cp) && cp != 0xFEFF)
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

pub(super) fn is_blank_or_end(s: &[char], i: usize) -> bool {
    i >= s.len() || matches!(s[i], ' ' | '\t' | '\0') || is_break(s[i])
}

/// libyaml's `yaml_emitter_analyze_scalar` (the flags the block emitter uses).
pub(super) fn analyze(s: &[char]) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let (mut block_ind, mut line_breaks, mut special) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut prev_space, mut prev_break) =
        (false, false, false, false);
    if s.starts_with(&['-', '-', '-']) || s.starts_with(&['.', '.', '.']) {
        block_ind = true;
    }
    let mut preceded_ws = true;
    let n = s.len();
    for (i, &c) in s.iter().enumerate() {
        let followed_ws = is_blank_or_end(s, i + 1);
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c)
                || (c == '-' && followed_ws)
                || ("?:".contains(c) && followed_ws)
            {
                block_ind = true;
            }
        } else if (c == ':' && followed_ws) || (c == '#' && preceded_ws) {
            block_ind = true;
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == n - 1;
            break_space |= prev_break;
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            leading_break |= i == 0;
            trailing_break |= i == n - 1;
            space_break |= prev_space;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

pub(super) const WIDTH: usize = 80;
pub(super) const INDENT: i64 = 2;

pub(super) struct Emitter {
    pub(super) out: String,
    pub(super) column: usize,
    pub(super) whitespace: bool,
    pub(super) indention: bool,
    pub(super) open_ended: u8,
}

impl Emitter {
    pub(super) fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    pub(super) fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    pub(super) fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    pub(super) fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    pub(super) fn write_indent(&mut self, indent: i64) {
        let ind = indent.max(0) as usize;
        if !self.indention || self.column > ind || (self.column == ind && !self.whitespace) {
            self.put_break();
        }
        while self.column < ind {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    pub(super) fn indicator(&mut self, text: &str, need_ws: bool, is_ws: bool, is_ind: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        self.put_str(text);
        self.whitespace = is_ws;
        self.indention = self.indention && is_ind;
    }

    pub(super) fn node(
        &mut self,
        v: &Value,
        indent: i64,
        mapping: bool,
        simple_key: bool,
    ) -> Result<(), String> {
        troupe_values::limits::grow(|| {
            match v {
                Value::Array(a) if a.is_empty() => {
                    self.indicator("[", true, true, false);
                    self.indicator("]", false, false, false);
                }
                Value::Array(a) => {
                    let indentless = mapping && !self.indention;
                    let ind = if indent < 0 {
                        0
                    } else if indentless {
                        indent
                    } else {
                        indent + INDENT
                    };
                    for item in a.iter() {
                        self.write_indent(ind);
                        self.indicator("-", true, false, true);
                        self.node(item, ind, false, false)?;
                    }
                }
                Value::Hash(h) if h.is_empty() => {
                    self.indicator("{", true, true, false);
                    self.indicator("}", false, false, false);
                }
                Value::Hash(h) => {
                    let ind = if indent < 0 { 0 } else { indent + INDENT };
                    for (k, val) in h.iter() {
                        self.write_indent(ind);
                        if simple_key_ok(k)? {
                            self.node(k, ind, true, true)?;
                            self.indicator(":", false, false, false);
                        } else {
                            self.indicator("?", true, false, true);
                            self.node(k, ind, true, false)?;
                            self.write_indent(ind);
                            self.indicator(":", true, false, true);
                        }
                        self.node(val, ind, true, false)?;
                    }
                }
                // Ruby dumps the Sensitive object itself, value and all.
                Value::Sensitive(inner) => {
                    if !self.whitespace {
                        self.put(' ');
                    }
                    self.put_str("!ruby/object:Puppet::Pops::Types::PSensitiveType::Sensitive");
                    self.whitespace = false;
                    self.indention = false;
                    let mut m = troupe_values::value::Map::default();
                    m.insert(Value::str("value"), (**inner).clone());
                    self.node(&Value::hash(m), indent, mapping, simple_key)?;
                }
                other => {
                    let sc = scalar_of(other)?;
                    self.scalar(sc, indent, simple_key);
                }
            }
            Ok(())
        })
    }

    pub(super) fn scalar(&mut self, sc: Scalar, indent: i64, simple_key: bool) {
        let chars: Vec<char> = sc.value.chars().collect();
        let a = analyze(&chars);
        let mut style = sc.style;
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain
            && (!a.block_plain
                || (chars.is_empty() && simple_key)
                || (!sc.tagged && !sc.plain_implicit))
        {
            style = Style::Single;
        }
        if style == Style::Single && !a.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block || simple_key) {
            style = Style::Double;
        }
        let tag = if sc.tagged {
            Some("!!str")
        } else if !sc.quoted_implicit && style != Style::Plain {
            Some("!")
        } else {
            None
        };
        if let Some(t) = tag {
            if !self.whitespace {
                self.put(' ');
            }
            self.put_str(t);
            self.whitespace = false;
            self.indention = false;
        }
        let ind = if indent < 0 { INDENT } else { indent + INDENT };
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(&chars, ind, allow_breaks),
            Style::Single => self.write_single(&chars, ind, allow_breaks),
            Style::Double => self.write_double(&chars, ind, allow_breaks),
            Style::Literal => self.write_literal(&chars, ind),
        }
    }

    pub(super) fn write_plain(&mut self, s: &[char], ind: i64, allow: bool) {
        if !self.whitespace && !s.is_empty() {
            self.put(' ');
        }
        self.write_flowing(s, ind, allow, false);
    }

    pub(super) fn write_single(&mut self, s: &[char], ind: i64, allow: bool) {
        self.indicator("'", true, false, false);
        self.write_flowing(s, ind, allow, true);
        self.indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// The text of a plain or single-quoted scalar: a space after column 80 (not the first
    /// of several; for quoted text not the first or last character) becomes a line break;
    /// line breaks are doubled; single quotes are doubled inside quotes.
    pub(super) fn write_flowing(&mut self, s: &[char], ind: i64, allow: bool, quoted: bool) {
        let (mut spaces, mut breaks) = (false, false);
        let n = s.len();
        for (i, &c) in s.iter().enumerate() {
            if c == ' ' {
                let edge = quoted && (i == 0 || i == n - 1);
                if allow && !spaces && self.column > WIDTH && !edge && s.get(i + 1) != Some(&' ') {
                    self.write_indent(ind);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(ind);
                }
                if quoted && c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if quoted && breaks {
            self.write_indent(ind);
        }
        if !quoted {
            self.whitespace = false;
            self.indention = false;
        }
    }

    pub(super) fn write_double(&mut self, s: &[char], ind: i64, allow: bool) {
        self.indicator("\"", true, false, false);
        let mut spaces = false;
        let n = s.len();
        for (i, &c) in s.iter().enumerate() {
            let cp = c as u32;
            if !is_printable(c) || cp == 0xFEFF || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let short = match cp {
                    0 => Some('0'),
                    7 => Some('a'),
                    8 => Some('b'),
                    9 => Some('t'),
                    0xA => Some('n'),
                    0xB => Some('v'),
                    0xC => Some('f'),
                    0xD => Some('r'),
                    0x1B => Some('e'),
                    0x22 => Some('"'),
                    0x5C => Some('\\'),
                    0x85 => Some('N'),
                    0xA0 => Some('_'),
                    0x2028 => Some('L'),
                    0x2029 => Some('P'),
                    _ => None,
                };
                match short {
                    Some(x) => self.put(x),
                    None if cp <= 0xFF => self.put_str(&format!("x{cp:02X}")),
                    None if cp <= 0xFFFF => self.put_str(&format!("u{cp:04X}")),
                    None => self.put_str(&format!("U{cp:08X}")),
                }
                spaces = false;
            } else if c == ' ' {
                if allow && !spaces && self.column > WIDTH && i != 0 && i != n - 1 {
                    self.write_indent(ind);
                    if s[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    pub(super) fn write_literal(&mut self, s: &[char], ind: i64) {
        self.indicator("|", true, false, false);
        if s.first().is_some_and(|c| *c == ' ' || is_break(*c)) {
            self.indicator(&INDENT.to_string(), false, false, false);
        }
        self.open_ended = 0;
        let chomp = match s {
            [] => Some("-"),
            [.., last] if !is_break(*last) => Some("-"),
            [_] => Some("+"),
            [.., prev, _] if is_break(*prev) => Some("+"),
            _ => None,
        };
        if chomp == Some("+") {
            self.open_ended = 2;
        }
        if let Some(c) = chomp {
            self.indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in s {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(ind);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}
