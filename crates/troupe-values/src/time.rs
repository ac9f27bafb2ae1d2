//! `Timestamp` and `Timespan`: nanosecond counts with Puppet's string forms, Ruby's
//! `strftime`/`strptime` for timestamps and Puppet's own `%D-%H:%M:%S.%N` formats for spans.

pub const NS_PER_SEC: i128 = 1_000_000_000;
const NS_PER_MIN: i128 = 60 * NS_PER_SEC;
const NS_PER_HOUR: i128 = 60 * NS_PER_MIN;
const NS_PER_DAY: i128 = 24 * NS_PER_HOUR;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The formats `Timestamp('...')` tries when none is given.
pub const TIMESTAMP_DEFAULTS: [&str; 10] = [
    "%FT%T.%N %Z",
    "%FT%T %Z",
    "%F %T.%N %Z",
    "%F %T %Z",
    "%F %Z",
    "%FT%T.%N",
    "%FT%T",
    "%F %T.%N",
    "%F %T",
    "%F",
];
const TIMESTAMP_DEFAULTS_WO_TZ: [&str; 5] = ["%FT%T.%N", "%FT%T", "%F %T.%N", "%F %T", "%F"];

/// The formats `Timespan('...')` tries when none is given; the first is its string form.
pub const TIMESPAN_DEFAULTS: [&str; 8] = [
    "%D-%H:%M:%S.%-N",
    "%H:%M:%S.%-N",
    "%M:%S.%-N",
    "%S.%-N",
    "%D-%H:%M:%S",
    "%H:%M:%S",
    "%D-%H:%M",
    "%S",
];

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// A broken-down local time.
struct Tm {
    year: i64,
    mon: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    yday: i64,
    wday: i64,
    offset: i64,
    epoch: i64,
    utc: bool,
}

fn breakdown(nsecs: i128, offset: i64, utc: bool) -> Tm {
    let secs = nsecs.div_euclid(NS_PER_SEC) as i64;
    let nsec = nsecs.rem_euclid(NS_PER_SEC) as i64;
    let local = secs + offset;
    let days = local.div_euclid(86400);
    let sod = local.rem_euclid(86400);
    let (year, mon, day) = civil_from_days(days);
    Tm {
        year,
        mon,
        day,
        hour: sod / 3600,
        min: sod % 3600 / 60,
        sec: sod % 60,
        nsec,
        yday: days - days_from_civil(year, 1, 1) + 1,
        wday: (days + 4).rem_euclid(7),
        offset,
        epoch: secs,
        utc,
    }
}

/// The seconds east of UTC that a timezone designator means: `UTC`, `+01:00`, `-0500`, `EST`...
pub fn utc_offset(tz: &str) -> Result<i64, String> {
    let illegal = || format!("Illegal timezone '{tz}'");
    if tz.eq_ignore_ascii_case("current") {
        return Ok(0);
    }
    let named = [
        ("UTC", 0),
        ("UT", 0),
        ("GMT", 0),
        ("Z", 0),
        ("EST", -5),
        ("EDT", -4),
        ("CST", -6),
        ("CDT", -5),
        ("MST", -7),
        ("MDT", -6),
        ("PST", -8),
        ("PDT", -7),
        ("AKST", -9),
        ("AKDT", -8),
        ("HST", -10),
        ("WET", 0),
        ("WEST", 1),
        ("BST", 1),
        ("CET", 1),
        ("CEST", 2),
        ("MET", 1),
        ("MEST", 2),
        ("EET", 2),
        ("EEST", 3),
        ("MSK", 3),
        ("IST", 5),
        ("JST", 9),
        ("KST", 9),
        ("AEST", 10),
        ("AEDT", 11),
        ("NZST", 12),
        ("NZDT", 13),
    ];
    if let Some((_, h)) = named.iter().find(|(n, _)| n.eq_ignore_ascii_case(tz)) {
        return Ok(h * 3600);
    }
    let (sign, rest) = match tz.as_bytes().first() {
        Some(b'+') => (1, &tz[1..]),
        Some(b'-') => (-1, &tz[1..]),
        _ => return Err(illegal()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || rest.contains("::") {
        return Err(illegal());
    }
    let (h, m, s) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().map_err(|_| illegal())?, 0, 0),
        4 => (
            digits[..2].parse::<i64>().map_err(|_| illegal())?,
            digits[2..].parse::<i64>().map_err(|_| illegal())?,
            0,
        ),
        6 => (
            digits[..2].parse::<i64>().map_err(|_| illegal())?,
            digits[2..4].parse::<i64>().map_err(|_| illegal())?,
            digits[4..].parse::<i64>().map_err(|_| illegal())?,
        ),
        _ => return Err(illegal()),
    };
    Ok(sign * (h * 3600 + m * 60 + s))
}

/// `Timestamp#format` / `strftime`: Ruby's `Time#strftime`, in UTC or in `timezone`.
pub fn format_timestamp(
    nsecs: i128,
    format: &str,
    timezone: Option<&str>,
) -> Result<String, String> {
    let tm = match timezone {
        Some(tz) if !tz.is_empty() => breakdown(nsecs, utc_offset(tz)?, false),
        _ => breakdown(nsecs, 0, true),
    };
    Ok(strftime(&tm, format))
}

/// The default string form: `2016-08-24T12:13:14.123000000 UTC`.
pub fn timestamp_to_s(nsecs: i128) -> String {
    strftime(&breakdown(nsecs, 0, true), TIMESTAMP_DEFAULTS[0])
}

fn strftime(tm: &Tm, format: &str) -> String {
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

fn iso_week(tm: &Tm) -> (i64, i64) {
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
struct Parsed {
    year: Option<i64>,
    mon: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    hour: Option<i64>,
    pm: Option<bool>,
    min: Option<i64>,
    sec: Option<i64>,
    frac: Option<i128>,
    zone: Option<String>,
    epoch: Option<i64>,
}

/// Ruby's `DateTime._strptime`: None when the text does not match the whole format.
fn strptime(s: &str, format: &str) -> Option<Parsed> {
    let mut p = Parsed::default();
    let rest = strptime_into(s, format, &mut p)?;
    if !rest.is_empty() {
        return None;
    }
    Some(p)
}

fn take_digits(s: &str, max: usize) -> Option<(i64, &str)> {
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

fn strptime_into<'a>(mut s: &'a str, format: &str, p: &mut Parsed) -> Option<&'a str> {
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

fn parsed_to_nsecs(p: &Parsed, timezone: Option<&str>) -> Result<i128, String> {
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

/// `Timestamp.new(string, format?, timezone?)`.
pub fn parse_timestamp(
    s: &str,
    formats: Option<&[String]>,
    timezone: Option<&str>,
) -> Result<i128, String> {
    let has_tz = timezone.is_some_and(|t| !t.is_empty());
    let tz = timezone.filter(|t| !t.is_empty());
    match formats {
        Some([one]) => {
            let p = strptime(s, one)
                .ok_or_else(|| format!("Unable to parse '{s}' using format '{one}'"))?;
            if has_tz && p.zone.is_some() {
                return Err("Using a Timezone designator in format specification is mutually exclusive to providing an explicit timezone argument".into());
            }
            parsed_to_nsecs(&p, tz)
        }
        _ => {
            let list: Vec<&str> = match formats {
                Some(l) => l.iter().map(|s| s.as_str()).collect(),
                None if has_tz => TIMESTAMP_DEFAULTS_WO_TZ.to_vec(),
                None => TIMESTAMP_DEFAULTS.to_vec(),
            };
            for f in &list {
                if let Some(p) = strptime(s, f) {
                    if has_tz && p.zone.is_some() {
                        continue;
                    }
                    return parsed_to_nsecs(&p, tz);
                }
            }
            Err(format!(
                "Unable to parse '{s}' using any of the formats {}",
                list.join(", ")
            ))
        }
    }
}

/// One piece of a `Timespan` format.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Day,
    Hour,
    Min,
    Sec,
    Milli,
    Nano,
}

enum Seg {
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

fn parse_span_format(f: &str) -> Result<Vec<Seg>, String> {
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

fn parse_span_with(s: &str, format: &str) -> Result<i128, String> {
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

/// Seconds (Integer or Float) as nanoseconds, truncated as Ruby's `to_i` does.
pub fn secs_to_nsecs(secs: f64) -> i128 {
    (secs * NS_PER_SEC as f64) as i128
}

/// The current time, for `Timestamp()` and `strftime(format)`.
pub fn now() -> i128 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_their_string_form() {
        let t = parse_timestamp("2016-08-24T12:13:14.123 UTC", None, None).unwrap_or(0);
        assert_eq!(timestamp_to_s(t), "2016-08-24T12:13:14.123000000 UTC");
        assert_eq!(
            format_timestamp(
                t,
                "%Y/%m/%d %H:%M:%S %j %a %b %-d %e %L %N %3N %z %Z %s %%",
                None
            )
            .unwrap_or_default(),
            "2016/08/24 12:13:14 237 Wed Aug 24 24 123 123000000 123 +0000 UTC 1472040794 %"
        );
        let local = parse_timestamp("2016-08-24 14:13:14", None, Some("+02:00")).unwrap_or(0);
        assert_eq!(local, t - 123_000_000);
    }

    #[test]
    fn timespans_format_like_puppet() {
        let s = parse_timespan("1-02:03:04.5", None).unwrap_or(0);
        assert_eq!(timespan_to_s(s), "1-02:03:04.5");
        assert_eq!(timespan_to_s(3661 * NS_PER_SEC), "0-01:01:01.0");
        assert_eq!(
            format_timespan(s, "%D %H %M %S %L").unwrap_or_default(),
            "1 02 03 04 500"
        );
        assert_eq!(format_timespan(s, "%H").unwrap_or_default(), "26");
        assert!(format_timespan(s, "%Q").is_err());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }
}
