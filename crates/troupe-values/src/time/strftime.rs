//! Ruby's `strftime` and `strptime` as Puppet's Timestamp uses them.

use super::*;

pub(super) fn strftime(tm: &Tm, format: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut pad: Option<char> = None;
        let mut upcase = false;
        let mut swapcase = false;
        let mut colons = 0;
        while i < chars.len() && matches!(chars[i], '-' | '_' | '0' | '^' | '#') {
            match chars[i] {
                '-' => pad = Some('\0'),
                '_' => pad = Some(' '),
                '0' => pad = Some('0'),
                '^' => upcase = true,
                _ => swapcase = true,
            }
            i += 1;
        }
        let mut width: Option<usize> = None;
        while i < chars.len() && chars[i].is_ascii_digit() {
            // Padding past a page is Ruby's "too big" territory: clamp it, never allocate it.
            width = Some((width.unwrap_or(0) * 10 + chars[i] as usize - '0' as usize).min(4096));
            i += 1;
        }
        while i < chars.len() && chars[i] == ':' {
            colons += 1;
            i += 1;
        }
        let Some(&d) = chars.get(i) else {
            out.extend(&chars[start..]);
            break;
        };
        i += 1;
        let num = |v: i64, w: usize, p: char| -> String {
            let p = pad.unwrap_or(p);
            let w = width.unwrap_or(w);
            let s = v.abs().to_string();
            let sign = if v < 0 { "-" } else { "" };
            if p == '\0' || s.len() + sign.len() >= w {
                return format!("{sign}{s}");
            }
            let fill: String = std::iter::repeat_n(p, w - s.len() - sign.len()).collect();
            if p == '0' {
                format!("{sign}{fill}{s}")
            } else {
                format!("{fill}{sign}{s}")
            }
        };
        let text = |s: &str| -> String {
            let s = if upcase {
                s.to_uppercase()
            } else if swapcase {
                if s.chars().any(|c| c.is_lowercase()) {
                    s.to_uppercase()
                } else {
                    s.to_lowercase()
                }
            } else {
                s.to_string()
            };
            match (width, pad) {
                (Some(w), p) if p != Some('\0') && s.chars().count() < w => {
                    let p = if p == Some('0') { '0' } else { ' ' };
                    let fill: String = std::iter::repeat_n(p, w - s.chars().count()).collect();
                    format!("{fill}{s}")
                }
                _ => s,
            }
        };
        let hour12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
        let piece = match d {
            'Y' => {
                if tm.year >= 0 {
                    num(tm.year, 4, '0')
                } else {
                    num(tm.year, 5, '0')
                }
            }
            'C' => num(tm.year.div_euclid(100), 2, '0'),
            'y' => num(tm.year.rem_euclid(100), 2, '0'),
            'm' => num(tm.mon, 2, '0'),
            'B' => text(MONTHS[(tm.mon - 1) as usize]),
            'b' | 'h' => text(&MONTHS[(tm.mon - 1) as usize][..3]),
            'd' => num(tm.day, 2, '0'),
            'e' => num(tm.day, 2, ' '),
            'j' => num(tm.yday, 3, '0'),
            'H' => num(tm.hour, 2, '0'),
            'k' => num(tm.hour, 2, ' '),
            'I' => num(hour12, 2, '0'),
            'l' => num(hour12, 2, ' '),
            'P' => text(if tm.hour < 12 { "am" } else { "pm" }),
            'p' => {
                let s = if tm.hour < 12 { "AM" } else { "PM" };
                if swapcase {
                    s.to_lowercase()
                } else {
                    text(s)
                }
            }
            'M' => num(tm.min, 2, '0'),
            'S' => num(tm.sec, 2, '0'),
            'L' | 'N' => {
                let digits = width.unwrap_or(if d == 'L' { 3 } else { 9 });
                let mut s = format!("{:09}", tm.nsec);
                if digits <= 9 {
                    s.truncate(digits);
                } else {
                    s.extend(std::iter::repeat_n('0', digits - 9));
                }
                s
            }
            'z' => {
                let sign = if tm.offset < 0 { '-' } else { '+' };
                let o = tm.offset.abs();
                let (h, m, s) = (o / 3600, o % 3600 / 60, o % 60);
                let body = match colons {
                    0 => format!("{h:02}{m:02}"),
                    1 => format!("{h:02}:{m:02}"),
                    _ => format!("{h:02}:{m:02}:{s:02}"),
                };
                format!("{sign}{body}")
            }
            'Z' => text(if tm.utc { "UTC" } else { "" }),
            'A' => text(DAYS[tm.wday as usize]),
            'a' => text(&DAYS[tm.wday as usize][..3]),
            'u' => num(if tm.wday == 0 { 7 } else { tm.wday }, 1, '0'),
            'w' => num(tm.wday, 1, '0'),
            'U' => num((tm.yday - 1 + 7 - tm.wday) / 7, 2, '0'),
            'W' => num((tm.yday - 1 + 7 - (tm.wday + 6) % 7) / 7, 2, '0'),
            'G' | 'g' | 'V' => {
                let (iy, iw) = iso_week(tm);
                match d {
                    'G' => num(iy, 4, '0'),
                    'g' => num(iy.rem_euclid(100), 2, '0'),
                    _ => num(iw, 2, '0'),
                }
            }
            's' => num(tm.epoch, 1, '0'),
            'n' => "\n".into(),
            't' => "\t".into(),
            '%' => "%".into(),
            'c' => text(&strftime(tm, "%a %b %e %H:%M:%S %Y")),
            'D' | 'x' => text(&strftime(tm, "%m/%d/%y")),
            'F' => text(&strftime(tm, "%Y-%m-%d")),
            'T' | 'X' => text(&strftime(tm, "%H:%M:%S")),
            'R' => text(&strftime(tm, "%H:%M")),
            'r' => text(&strftime(tm, "%I:%M:%S %p")),
            _ => chars[start..i].iter().collect(),
        };
        out.push_str(&piece);
    }
    out
}
pub(super) fn iso_week(tm: &Tm) -> (i64, i64) {
    let wday_mon = (tm.wday + 6) % 7; // Monday = 0
    let week = (tm.yday - 1 - wday_mon + 10) / 7;
    if week < 1 {
        let py = tm.year - 1;
        let pdays = if is_leap(py) { 366 } else { 365 };
        let pyday = tm.yday + pdays;
        (py, (pyday - 1 - wday_mon + 10) / 7)
    } else {
        let ydays = if is_leap(tm.year) { 366 } else { 365 };
        if week == 53 && (tm.yday - 1 - wday_mon + 3) >= ydays {
            (tm.year + 1, 1)
        } else {
            (tm.year, week)
        }
    }
}
/// What `strptime` took from a string.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) year: Option<i64>,
    pub(super) mon: Option<i64>,
    pub(super) day: Option<i64>,
    pub(super) yday: Option<i64>,
    pub(super) hour: Option<i64>,
    pub(super) pm: Option<bool>,
    pub(super) min: Option<i64>,
    pub(super) sec: Option<i64>,
    pub(super) frac: Option<i128>,
    pub(super) zone: Option<String>,
    pub(super) epoch: Option<i64>,
}
/// Ruby's `DateTime._strptime`: None when the text does not match the whole format.
pub(super) fn strptime(s: &str, format: &str) -> Option<Parsed> {
    let mut p = Parsed::default();
    let rest = strptime_into(s, format, &mut p)?;
    if !rest.is_empty() {
        return None;
    }
    Some(p)
}
pub(super) fn take_digits(s: &str, max: usize) -> Option<(i64, &str)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = body
        .bytes()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n == 0 {
        return None;
    }
    let v: i64 = body[..n].parse().ok()?;
    Some((if neg { -v } else { v }, &body[n..]))
}
pub(super) fn strptime_into<'a>(mut s: &'a str, format: &str, p: &mut Parsed) -> Option<&'a str> {
    let mut f = format.chars().peekable();
    while let Some(c) = f.next() {
        if c.is_whitespace() {
            s = s.trim_start();
            continue;
        }
        if c != '%' {
            s = s.strip_prefix(c)?;
            continue;
        }
        let mut width = None;
        while let Some(d) = f.peek().copied().filter(|d| d.is_ascii_digit()) {
            width = Some(width.unwrap_or(0) * 10 + (d as usize - '0' as usize));
            f.next();
        }
        while f.peek() == Some(&':') {
            f.next();
        }
        let d = f.next()?;
        match d {
            'Y' => {
                let (v, r) = take_digits(s, width.unwrap_or(10))?;
                p.year = Some(v);
                s = r;
            }
            'C' | 'y' => {
                let (v, r) = take_digits(s, width.unwrap_or(2))?;
                if d == 'y' {
                    p.year = Some(v + if v < 69 { 2000 } else { 1900 });
                } else {
                    p.year = Some(v * 100 + p.year.unwrap_or(0).rem_euclid(100));
                }
                s = r;
            }
            'm' | 'd' | 'e' | 'j' | 'H' | 'k' | 'I' | 'l' | 'M' | 'S' => {
                let s2 = if matches!(d, 'e' | 'k' | 'l') {
                    s.trim_start()
                } else {
                    s
                };
                let (v, r) = take_digits(s2, width.unwrap_or(if d == 'j' { 3 } else { 2 }))?;
                match d {
                    'm' => p.mon = Some(v),
                    'd' | 'e' => p.day = Some(v),
                    'j' => p.yday = Some(v),
                    'H' | 'k' | 'I' | 'l' => p.hour = Some(v),
                    'M' => p.min = Some(v),
                    _ => p.sec = Some(v),
                }
                s = r;
            }
            'L' | 'N' => {
                let n = s
                    .bytes()
                    .take(width.unwrap_or(usize::MAX))
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if n == 0 {
                    return None;
                }
                let digits = &s[..n.min(9)];
                let v: i128 = digits.parse().ok()?;
                p.frac = Some(v * 10i128.pow(9 - digits.len() as u32));
                s = &s[n..];
            }
            'p' | 'P' => {
                let lower = s.get(..2)?.to_ascii_lowercase();
                p.pm = match lower.as_str() {
                    "am" => Some(false),
                    "pm" => Some(true),
                    _ => return None,
                };
                s = &s[2..];
            }
            'b' | 'B' | 'h' => {
                let idx = MONTHS
                    .iter()
                    .position(|m| s.len() >= 3 && s[..3].eq_ignore_ascii_case(&m[..3]))?;
                let full = MONTHS[idx];
                s = if s.len() >= full.len() && s[..full.len()].eq_ignore_ascii_case(full) {
                    &s[full.len()..]
                } else {
                    &s[3..]
                };
                p.mon = Some(idx as i64 + 1);
            }
            'a' | 'A' => {
                let idx = DAYS
                    .iter()
                    .position(|m| s.len() >= 3 && s[..3].eq_ignore_ascii_case(&m[..3]))?;
                let full = DAYS[idx];
                s = if s.len() >= full.len() && s[..full.len()].eq_ignore_ascii_case(full) {
                    &s[full.len()..]
                } else {
                    &s[3..]
                };
            }
            'z' | 'Z' => {
                let n = s
                    .char_indices()
                    .take_while(|(i, c)| {
                        c.is_ascii_alphanumeric()
                            || *c == ':'
                            || (*i == 0 && matches!(c, '+' | '-'))
                    })
                    .count();
                if n == 0 {
                    return None;
                }
                let z = &s[..n];
                utc_offset(z).ok()?;
                p.zone = Some(z.to_string());
                s = &s[n..];
            }
            's' => {
                let (v, r) = take_digits(s, 20)?;
                p.epoch = Some(v);
                s = r;
            }
            'F' => s = strptime_into(s, "%Y-%m-%d", p)?,
            'T' | 'X' => s = strptime_into(s, "%H:%M:%S", p)?,
            'R' => s = strptime_into(s, "%H:%M", p)?,
            'D' | 'x' => s = strptime_into(s, "%m/%d/%y", p)?,
            'r' => s = strptime_into(s, "%I:%M:%S %p", p)?,
            'c' => s = strptime_into(s, "%a %b %e %H:%M:%S %Y", p)?,
            'n' | 't' => s = s.trim_start(),
            '%' => s = s.strip_prefix('%')?,
            _ => return None,
        }
    }
    Some(s)
}
pub(super) fn parsed_to_nsecs(p: &Parsed, timezone: Option<&str>) -> Result<i128, String> {
    if let Some(e) = p.epoch {
        return Ok(e as i128 * NS_PER_SEC + p.frac.unwrap_or(0));
    }
    let year = p.year.unwrap_or(1970);
    let days = match (p.yday, p.mon, p.day) {
        (Some(yd), None, None) => days_from_civil(year, 1, 1) + yd - 1,
        _ => days_from_civil(year, p.mon.unwrap_or(1), p.day.unwrap_or(1)),
    };
    let mut hour = p.hour.unwrap_or(0);
    match p.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let secs = days * 86400 + hour * 3600 + p.min.unwrap_or(0) * 60 + p.sec.unwrap_or(0);
    let offset = match timezone.or(p.zone.as_deref()) {
        Some(z) => utc_offset(z)?,
        None => 0,
    };
    Ok((secs - offset) as i128 * NS_PER_SEC + p.frac.unwrap_or(0))
}
