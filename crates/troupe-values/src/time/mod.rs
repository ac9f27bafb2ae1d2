//! `Timestamp` and `Timespan`: nanosecond counts with Puppet's string forms, Ruby's
//! `strftime`/`strptime` for timestamps and Puppet's own `%D-%H:%M:%S.%N` formats for spans.

mod span;
mod strftime;

pub use span::{format_timespan, parse_timespan, timespan_to_s};
use strftime::{parsed_to_nsecs, strftime, strptime};

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
