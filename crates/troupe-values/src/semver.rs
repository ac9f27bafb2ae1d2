//! `SemVer` and `SemVerRange`, with the semantics of the `semantic_puppet` gem that Puppet uses:
//! semver 2.0 ordering, and npm-style ranges (`>=1.0.0 <2.0.0`, `~1.2`, `^1.2.3`, `1.x`,
//! `1.0.0 - 2.0.0`, `||`) where a pre-release only matches a range that names the same
//! major.minor.patch with a pre-release.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    Num(u64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemVer {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Vec<Ident>,
    pub build: Vec<String>,
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn num_part(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn parse_pre(s: &str) -> Result<Vec<Ident>, String> {
    s.split('.')
        .map(|x| {
            if !ident_ok(x) {
                Err(String::new())
            } else if x.bytes().all(|b| b.is_ascii_digit()) {
                if x.len() > 1 && x.starts_with('0') {
                    Err("Numeric pre-release identifiers MUST NOT contain leading zeroes".into())
                } else {
                    x.parse().map(Ident::Num).map_err(|_| String::new())
                }
            } else {
                Ok(Ident::Str(x.to_string()))
            }
        })
        .collect()
}

fn parse_build(s: &str) -> Option<Vec<String>> {
    let parts: Vec<String> = s.split('.').map(str::to_string).collect();
    parts.iter().all(|p| ident_ok(p)).then_some(parts)
}

impl SemVer {
    pub fn new(major: u64, minor: u64, patch: u64) -> SemVer {
        SemVer {
            major,
            minor,
            patch,
            pre: vec![],
            build: vec![],
        }
    }

    /// Parses `1.2.3-rc.1+build.5`.
    pub fn parse(s: &str) -> Result<SemVer, String> {
        let fail = || format!("Unable to parse '{s}' as a semantic version identifier");
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(parse_build(b).ok_or_else(fail)?)),
            None => (s, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (
                c,
                Some(parse_pre(p).map_err(|e| if e.is_empty() { fail() } else { e })?),
            ),
            None => (rest, None),
        };
        let nums: Vec<&str> = core.split('.').collect();
        if nums.len() != 3 {
            return Err(fail());
        }
        let n = |i: usize| num_part(nums[i]).ok_or_else(fail);
        Ok(SemVer {
            major: n(0)?,
            minor: n(1)?,
            patch: n(2)?,
            pre: pre.unwrap_or_default(),
            build: build.unwrap_or_default(),
        })
    }

    pub fn stable(&self) -> bool {
        self.pre.is_empty()
    }

    /// semver 2.0 precedence; the build is ignored.
    pub fn precedence(&self, o: &SemVer) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(o.pre.iter()) {
                        let c = match (a, b) {
                            (Ident::Num(x), Ident::Num(y)) => x.cmp(y),
                            (Ident::Num(_), Ident::Str(_)) => Ordering::Less,
                            (Ident::Str(_), Ident::Num(_)) => Ordering::Greater,
                            (Ident::Str(x), Ident::Str(y)) => x.cmp(y),
                        };
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                    self.pre.len().cmp(&o.pre.len())
                }
            })
    }
}

impl std::fmt::Display for SemVer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, p) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match p {
                Ident::Num(n) => write!(f, "{n}")?,
                Ident::Str(s) => f.write_str(s)?,
            }
        }
        for (i, b) in self.build.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            f.write_str(b)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Gt(SemVer),
    GtEq(SemVer),
    Lt(SemVer),
    LtEq(SemVer),
    Eq(SemVer),
    Nothing,
}

impl Cmp {
    fn includes(&self, v: &SemVer) -> bool {
        match self {
            Cmp::Gt(b) => v.precedence(b) == Ordering::Greater,
            Cmp::GtEq(b) => v.precedence(b) != Ordering::Less,
            Cmp::Lt(b) => v.precedence(b) == Ordering::Less,
            Cmp::LtEq(b) => v.precedence(b) != Ordering::Greater,
            Cmp::Eq(b) => v == b,
            Cmp::Nothing => false,
        }
    }

    fn allows_prerelease_of(&self, v: &SemVer) -> bool {
        match self {
            Cmp::Gt(b) | Cmp::GtEq(b) | Cmp::Lt(b) | Cmp::LtEq(b) | Cmp::Eq(b) => {
                !b.stable() && (b.major, b.minor, b.patch) == (v.major, v.minor, v.patch)
            }
            Cmp::Nothing => false,
        }
    }
}

/// A version range: any of several conjunctions of comparators (an empty one matches all).
#[derive(Debug, Clone)]
pub struct SemVerRange {
    pub text: String,
    alternatives: Vec<Vec<Cmp>>,
}

impl PartialEq for SemVerRange {
    fn eq(&self, o: &SemVerRange) -> bool {
        self.alternatives == o.alternatives
    }
}

struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Vec<Ident>,
    build: Vec<String>,
}

impl Partial {
    fn parse(expr: &str, whole: &str) -> Result<Partial, String> {
        let fail = || format!("Unparsable version range: \"{whole}\"");
        let (rest, build) = match expr.split_once('+') {
            Some((r, b)) => (r, parse_build(b).ok_or_else(fail)?),
            None => (expr, vec![]),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, parse_pre(p).map_err(|_| fail())?),
            None => (rest, vec![]),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty()
            || parts.len() > 3
            || ((!pre.is_empty() || !build.is_empty()) && parts.len() != 3)
        {
            return Err(fail());
        }
        let mut nums = [None, None, None];
        for (i, p) in parts.iter().enumerate() {
            nums[i] = match *p {
                "x" | "X" | "*" => None,
                d => Some(num_part(d).ok_or_else(fail)?),
            };
        }
        Ok(Partial {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
            build,
        })
    }

    fn full(&self) -> SemVer {
        SemVer {
            major: self.major.unwrap_or(0),
            minor: self.minor.unwrap_or(0),
            patch: self.patch.unwrap_or(0),
            pre: self.pre.clone(),
            build: self.build.clone(),
        }
    }
}

fn between(lo: SemVer, hi: SemVer) -> Vec<Cmp> {
    vec![Cmp::GtEq(lo), Cmp::Lt(hi)]
}

/// `~`, and the plain `1.2` / `1.x` forms (`exact` = false for tilde and caret).
fn patch_updates(p: &Partial, tilde: bool) -> Vec<Cmp> {
    let Some(major) = p.major else {
        return vec![];
    };
    let Some(minor) = p.minor else {
        return between(SemVer::new(major, 0, 0), SemVer::new(major + 1, 0, 0));
    };
    if p.patch.is_none() {
        return between(
            SemVer::new(major, minor, 0),
            SemVer::new(major, minor + 1, 0),
        );
    }
    if !tilde {
        return vec![Cmp::Eq(p.full())];
    }
    between(p.full(), SemVer::new(major, minor + 1, 0))
}

fn minor_updates(p: &Partial) -> Vec<Cmp> {
    let Some(major) = p.major else {
        return vec![];
    };
    match (p.minor, p.patch) {
        (Some(minor), None) => between(SemVer::new(major, minor, 0), SemVer::new(major + 1, 0, 0)),
        (Some(_), Some(_)) => between(p.full(), SemVer::new(major + 1, 0, 0)),
        _ => between(SemVer::new(major, 0, 0), SemVer::new(major + 1, 0, 0)),
    }
}

impl SemVerRange {
    pub fn parse(text: &str) -> Result<SemVerRange, String> {
        // `>= 1.0` and `=v1.0` lose their inner space and `v`.
        let mut set = String::with_capacity(text.len());
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            set.push(c);
            i += 1;
            if matches!(c, '>' | '<' | '=' | '~' | '^') {
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if j < chars.len() && chars[j] == 'v' {
                    j += 1;
                }
                if j > i {
                    i = j;
                }
            }
        }
        let mut alternatives = vec![];
        for range in set.split("||").map(str::trim) {
            if range.is_empty() {
                continue;
            }
            let words: Vec<&str> = range.split_whitespace().collect();
            if words.len() == 3 && words[1] == "-" {
                let lo = Partial::parse(words[0], text)?.full();
                let hi = Partial::parse(words[2], text)?.full();
                alternatives.push(vec![Cmp::GtEq(lo), Cmp::LtEq(hi)]);
                continue;
            }
            let mut conj = vec![];
            for w in words {
                let (op, operand) = ["<=", ">=", "~>", "~=", "<", ">", "=", "~", "^"]
                    .iter()
                    .find_map(|op| w.strip_prefix(op).map(|rest| (*op, rest)))
                    .unwrap_or(("", w));
                let p = Partial::parse(operand, text)?;
                conj.extend(match op {
                    "~" | "~>" | "~=" => patch_updates(&p, true),
                    "^" => {
                        if p.major == Some(0) {
                            patch_updates(&p, true)
                        } else {
                            minor_updates(&p)
                        }
                    }
                    ">" => match (p.major, p.minor, p.patch) {
                        (None, _, _) => vec![Cmp::Nothing],
                        (Some(m), None, _) => vec![Cmp::GtEq(SemVer::new(m + 1, 0, 0))],
                        (Some(m), Some(n), None) => vec![Cmp::GtEq(SemVer::new(m, n + 1, 0))],
                        _ => vec![Cmp::Gt(p.full())],
                    },
                    ">=" => vec![Cmp::GtEq(p.full())],
                    "<" => vec![Cmp::Lt(p.full())],
                    "<=" => match (p.major, p.minor, p.patch) {
                        (None, _, _) => vec![],
                        (Some(m), None, _) => vec![Cmp::Lt(SemVer::new(m + 1, 0, 0))],
                        (Some(m), Some(n), None) => vec![Cmp::Lt(SemVer::new(m, n + 1, 0))],
                        _ => vec![Cmp::LtEq(p.full())],
                    },
                    _ => patch_updates(&p, false),
                });
            }
            alternatives.push(conj);
        }
        if alternatives.is_empty() {
            alternatives.push(vec![]);
        }
        Ok(SemVerRange {
            text: text.to_string(),
            alternatives,
        })
    }

    pub fn includes(&self, v: &SemVer) -> bool {
        self.alternatives.iter().any(|conj| {
            conj.iter().all(|c| c.includes(v))
                && (v.stable() || conj.is_empty() || conj.iter().any(|c| c.allows_prerelease_of(v)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> SemVer {
        SemVer::parse(s).unwrap_or_else(|_| SemVer::new(99, 99, 99))
    }

    fn r(s: &str) -> SemVerRange {
        SemVerRange::parse(s).unwrap_or_else(|_| SemVerRange {
            text: String::new(),
            alternatives: vec![vec![Cmp::Nothing]],
        })
    }

    #[test]
    fn versions_order_by_semver_precedence() {
        assert_eq!(v("1.2.3-rc.1+b5").to_string(), "1.2.3-rc.1+b5");
        assert!(v("1.2.3-rc.1").precedence(&v("1.2.3")) == Ordering::Less);
        assert!(v("1.2.3-rc.2").precedence(&v("1.2.3-rc.10")) == Ordering::Less);
        assert!(v("1.2.3-1").precedence(&v("1.2.3-a")) == Ordering::Less);
        assert!(SemVer::parse("1.2").is_err());
        assert!(SemVer::parse("01.2.3").is_err());
    }

    #[test]
    fn ranges_match_like_semantic_puppet() {
        assert!(r(">=1.0.0 <2.0.0").includes(&v("1.5.0")));
        assert!(!r(">=1.0.0 <2.0.0").includes(&v("2.0.0")));
        assert!(!r(">=1.0.0 <2.0.0").includes(&v("1.2.3-rc.1")));
        assert!(r("~1.2").includes(&v("1.2.9")));
        assert!(!r("~1.2").includes(&v("1.3.0")));
        assert!(r("^1.2.3").includes(&v("1.9.0")));
        assert!(r("^0.2.3").includes(&v("0.2.9")) && !r("^0.2.3").includes(&v("0.3.0")));
        assert!(r("1.x").includes(&v("1.7.1")));
        assert!(r("1.0.0 - 2.0.0").includes(&v("2.0.0")));
        assert!(r("<1.0.0 || >=3.0.0").includes(&v("3.1.0")));
        assert!(r(">=1.2.3-rc.1").includes(&v("1.2.3-rc.2")));
        assert!(r("*").includes(&v("1.2.3-rc.1")));
        assert!(SemVerRange::parse(">=1.x.3a").is_err());
    }
}
