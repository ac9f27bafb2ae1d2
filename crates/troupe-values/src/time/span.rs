//! Timespan formats (`%D`, `%H`, `%M`, `%S`, `%L`, `%N`, with flags and widths): formatting and
//! parsing.

use super::*;

/// One piece of a `Timespan` format.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Unit {
    Day,
    Hour,
    Min,
    Sec,
    Milli,
    Nano,
}
pub(super) enum Seg {
    Lit(String),
    Val {
        unit: Unit,
        pad: Option<char>,
        width: Option<usize>,
        total: bool,
    },
}
impl Unit {
    fn default_width(self) -> usize {
        match self {
            Unit::Day => 1,
            Unit::Hour | Unit::Min | Unit::Sec => 2,
            Unit::Milli => 3,
            Unit::Nano => 9,
        }
    }
    fn rank(self) -> u8 {
        match self {
            Unit::Nano => 0,
            Unit::Milli => 1,
            Unit::Sec => 2,
            Unit::Min => 3,
            Unit::Hour => 4,
            Unit::Day => 5,
        }
    }
}
pub(super) fn parse_span_format(f: &str) -> Result<Vec<Seg>, String> {
    let bad = |start: usize, pos: usize| {
        let expr: String = f.chars().skip(start).take(pos - start).collect();
        format!("Bad format specifier '{expr}' in '{f}', at position {pos}")
    };
    let mut segs: Vec<Seg> = vec![];
    let mut state = 0; // 0 literal, 1 pad, 2 width
    let mut pad = Some('0');
    let mut width: Option<usize> = None;
    let mut fstart = 0;
    let mut highest: Option<Unit> = None;
    let mut pos = 0;
    for (i, c) in f.chars().enumerate() {
        pos = i;
        if state == 0 {
            if c == '%' {
                state = 1;
                fstart = i;
                pad = Some('0');
                width = None;
            } else if let Some(Seg::Lit(l)) = segs.last_mut() {
                l.push(c);
            } else {
                segs.push(Seg::Lit(c.to_string()));
            }
            continue;
        }
        let unit = match c {
            '%' => {
                if let Some(Seg::Lit(l)) = segs.last_mut() {
                    l.push('%');
                } else {
                    segs.push(Seg::Lit("%".into()));
                }
                state = 0;
                continue;
            }
            '-' | '_' => {
                if state != 1 {
                    return Err(bad(fstart, i));
                }
                pad = if c == '-' { None } else { Some(' ') };
                state = 2;
                continue;
            }
            'D' => Unit::Day,
            'H' => Unit::Hour,
            'M' => Unit::Min,
            'S' => Unit::Sec,
            'L' => Unit::Milli,
            'N' => Unit::Nano,
            d if d.is_ascii_digit() => {
                if state == 1 && d == '0' {
                    pad = Some('0');
                } else {
                    width = Some(width.unwrap_or(0) * 10 + (d as usize - '0' as usize));
                }
                state = 2;
                continue;
            }
            _ => return Err(bad(fstart, i)),
        };
        if highest.is_none_or(|h| unit.rank() > h.rank()) {
            highest = Some(unit);
        }
        segs.push(Seg::Val {
            unit,
            pad,
            width,
            total: false,
        });
        state = 0;
    }
    if state != 0 {
        return Err(bad(fstart, pos + 1));
    }
    if let Some(h) = highest {
        for s in segs.iter_mut() {
            if let Seg::Val { unit, total, .. } = s {
                if *unit == h {
                    *total = true;
                    break;
                }
            }
        }
    }
    Ok(segs)
}
/// `Timespan#format`.
pub fn format_timespan(nsecs: i128, format: &str) -> Result<String, String> {
    let segs = parse_span_format(format)?;
    let abs = nsecs.abs();
    let mut out = String::new();
    if nsecs < 0 {
        out.push('-');
    }
    for s in &segs {
        let (unit, pad, width, total) = match s {
            Seg::Lit(l) => {
                out.push_str(l);
                continue;
            }
            Seg::Val {
                unit,
                pad,
                width,
                total,
            } => (*unit, *pad, *width, *total),
        };
        let w = width.unwrap_or(unit.default_width());
        let mut n: i128 = match unit {
            Unit::Day => abs / NS_PER_DAY,
            Unit::Hour => abs / NS_PER_HOUR % if total { i128::MAX } else { 24 },
            Unit::Min => abs / NS_PER_MIN % if total { i128::MAX } else { 60 },
            Unit::Sec => abs / NS_PER_SEC % if total { i128::MAX } else { 60 },
            Unit::Milli => abs / 1_000_000 % if total { i128::MAX } else { 1000 },
            Unit::Nano => {
                if w < 9 {
                    let v = abs / 10i128.pow(9 - w as u32);
                    if total {
                        v
                    } else {
                        v % 10i128.pow(w as u32)
                    }
                } else if total {
                    abs
                } else {
                    abs % NS_PER_SEC
                }
            }
        };
        let fragment = matches!(unit, Unit::Milli | Unit::Nano);
        if fragment && !total && pad != Some('0') {
            // Trailing zeros of a fraction carry no information.
            let t = n.to_string();
            let trimmed = t.trim_end_matches('0');
            n = if trimmed.is_empty() {
                0
            } else {
                trimmed.parse().unwrap_or(n)
            };
        }
        let digits = n.to_string();
        match pad {
            None => out.push_str(&digits),
            Some(_) if fragment => {
                // Fractions are left-aligned.
                out.push_str(&digits);
                for _ in digits.len()..w {
                    out.push(' ');
                }
            }
            Some(p) => {
                for _ in digits.len()..w {
                    out.push(p);
                }
                out.push_str(&digits);
            }
        }
    }
    Ok(out)
}
/// The default string form: `1-02:03:04.5`.
pub fn timespan_to_s(nsecs: i128) -> String {
    format_timespan(nsecs, TIMESPAN_DEFAULTS[0]).unwrap_or_default()
}
pub(super) fn parse_span_with(s: &str, format: &str) -> Result<i128, String> {
    let segs = parse_span_format(format)?;
    let fail = || format!("Unable to parse '{s}' using format '{format}'");
    let neg = s.starts_with('-');
    let mut rest = s.strip_prefix('-').unwrap_or(s);
    let mut total: i128 = 0;
    for seg in &segs {
        match seg {
            Seg::Lit(l) => rest = rest.strip_prefix(l.as_str()).ok_or_else(fail)?,
            Seg::Val {
                unit,
                pad,
                width,
                total: use_total,
            } => {
                let w = width.unwrap_or(unit.default_width());
                let spaces = if *pad == Some(' ') {
                    rest.len() - rest.trim_start().len()
                } else {
                    0
                };
                let body = &rest[spaces..];
                let max = if *use_total && width.is_none() {
                    usize::MAX
                } else {
                    w.saturating_sub(spaces).max(1)
                };
                let n = body
                    .bytes()
                    .take(max)
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if n == 0 || (width.is_some() && *pad == Some('0') && n != w) {
                    return Err(fail());
                }
                let group = &body[..n];
                let v: i128 = group.parse().map_err(|_| fail())?;
                total += match unit {
                    Unit::Day => v * NS_PER_DAY,
                    Unit::Hour => v * NS_PER_HOUR,
                    Unit::Min => v * NS_PER_MIN,
                    Unit::Sec => v * NS_PER_SEC,
                    Unit::Milli | Unit::Nano => {
                        if *use_total {
                            return Err("Format specifiers %L and %N denotes fractions and must be used together with a specifier of higher magnitude".into());
                        }
                        let p = 9 - group.len() as i32;
                        if p <= 0 {
                            v
                        } else {
                            v * 10i128.pow(p as u32)
                        }
                    }
                };
                rest = &body[n..];
            }
        }
    }
    if !rest.is_empty() {
        return Err(fail());
    }
    Ok(if neg { -total } else { total })
}
/// `Timespan.new(string, format?)`.
pub fn parse_timespan(s: &str, formats: Option<&[String]>) -> Result<i128, String> {
    match formats {
        Some([one]) => parse_span_with(s, one),
        _ => {
            let list: Vec<&str> = match formats {
                Some(l) => l.iter().map(|s| s.as_str()).collect(),
                None => TIMESPAN_DEFAULTS.to_vec(),
            };
            for f in &list {
                if let Ok(v) = parse_span_with(s, f) {
                    return Ok(v);
                }
            }
            Err(format!(
                "Unable to parse '{s}' using any of the formats {}",
                list.join(", ")
            ))
        }
    }
}
