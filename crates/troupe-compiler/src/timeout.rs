//! Puppet's `environment_timeout` (a "time to live" setting): how long an environment's code,
//! directory listings and module index are kept without looking at the disk again after their
//! last use. `0` (the default) checks every compile; `unlimited` keeps them until the cache is
//! flushed; otherwise seconds, or a number with a unit: `30s`, `3m`, `2h`, `1d`, `1y`.

use std::time::Duration;

/// An `environment_timeout` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentTimeout {
    /// Kept this many seconds after the last use (0: never kept).
    Seconds(u64),
    /// Kept until flushed.
    Unlimited,
}

impl Default for EnvironmentTimeout {
    fn default() -> EnvironmentTimeout {
        EnvironmentTimeout::Seconds(0)
    }
}

impl EnvironmentTimeout {
    /// Parses Puppet's forms: `unlimited`, `N`, `N` followed by `y`, `d`, `h`, `m` or `s`.
    /// An error has Puppet's text for the setting `param`.
    pub fn parse(value: &str, param: &str) -> Result<EnvironmentTimeout, String> {
        let v = value.trim();
        if v == "unlimited" {
            return Ok(EnvironmentTimeout::Unlimited);
        }
        let digits = v.trim_end_matches(['y', 'd', 'h', 'm', 's']);
        let unit = &v[digits.len()..];
        let factor: u64 = match unit {
            "" | "s" => 1,
            "m" => 60,
            "h" => 60 * 60,
            "d" => 24 * 60 * 60,
            "y" => 365 * 24 * 60 * 60,
            _ => 0,
        };
        let n = (factor > 0 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u64>().ok())
            .flatten();
        match n {
            // A value too large to count in seconds lasts as long as `unlimited`.
            Some(n) => Ok(n
                .checked_mul(factor)
                .map_or(EnvironmentTimeout::Unlimited, EnvironmentTimeout::Seconds)),
            None if digits.len() > 18 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(EnvironmentTimeout::Unlimited)
            }
            None => Err(format!(
                "Invalid 'time to live' format '{value:?}' for parameter: {param}"
            )),
        }
    }

    /// Whether nothing is kept (`0`).
    pub fn is_zero(self) -> bool {
        self == EnvironmentTimeout::Seconds(0)
    }

    /// Whether something last used `idle` ago has expired.
    pub fn expired(self, idle: Duration) -> bool {
        match self {
            EnvironmentTimeout::Unlimited => false,
            EnvironmentTimeout::Seconds(s) => idle > Duration::from_secs(s),
        }
    }
}

impl std::fmt::Display for EnvironmentTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvironmentTimeout::Unlimited => f.write_str("unlimited"),
            EnvironmentTimeout::Seconds(s) => write!(f, "{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EnvironmentTimeout as T;
    use std::time::Duration;

    #[test]
    fn puppets_duration_forms() {
        let p = |v: &str| T::parse(v, "environment_timeout");
        assert_eq!(p("0"), Ok(T::Seconds(0)));
        assert_eq!(p("unlimited"), Ok(T::Unlimited));
        assert_eq!(p("30"), Ok(T::Seconds(30)));
        assert_eq!(p("30s"), Ok(T::Seconds(30)));
        assert_eq!(p("3m"), Ok(T::Seconds(180)));
        assert_eq!(p("2h"), Ok(T::Seconds(7200)));
        assert_eq!(p("1d"), Ok(T::Seconds(86400)));
        assert_eq!(p("1y"), Ok(T::Seconds(365 * 86400)));
        assert_eq!(p("99999999999999999999y"), Ok(T::Unlimited));
        for bad in ["", "-1", "5w", "m", "1.5", "1ms", "unlimitedx", "3 m"] {
            assert_eq!(
                p(bad),
                Err(format!(
                    "Invalid 'time to live' format '{bad:?}' for parameter: environment_timeout"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn expiry_counts_from_the_last_use() {
        assert!(T::Seconds(0).is_zero());
        assert!(T::Seconds(0).expired(Duration::from_millis(1)));
        assert!(!T::Seconds(5).expired(Duration::from_secs(5)));
        assert!(T::Seconds(5).expired(Duration::from_millis(5001)));
        assert!(!T::Unlimited.expired(Duration::from_secs(u64::MAX)));
    }
}
