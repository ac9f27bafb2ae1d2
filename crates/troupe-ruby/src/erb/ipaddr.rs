//! Ruby's `IPAddr` as templates use it: `new` (with `/prefix` or `/netmask`), `to_s`,
//! `to_string`, `to_i` (the whole address, IPv4 and IPv6), `mask`, `include?`, `ipv4?`,
//! `ipv6?`, `prefix`, `netmask`, `reverse`, `to_range`'s ends, `==` and `inspect`.
//!
//! An address is the object `IPAddr` with fields `[family (4|6), address, mask]`, the two
//! numbers as decimal text (IPv6 needs 128 bits).

use super::robj::{as_obj, obj};
use super::Ctx;
use super::RUBY_ERROR;
use troupe_values::error::EResult;
use troupe_values::value::Value;

struct Ip {
    v6: bool,
    addr: u128,
    mask: u128,
}

fn full(v6: bool) -> u128 {
    if v6 {
        u128::MAX
    } else {
        u32::MAX as u128
    }
}

fn bits(v6: bool) -> u32 {
    if v6 {
        128
    } else {
        32
    }
}

fn prefix_mask(v6: bool, n: u32) -> u128 {
    if n == 0 {
        0
    } else {
        (full(v6) << (bits(v6) - n)) & full(v6)
    }
}

fn make(ip: &Ip) -> Value {
    obj(
        "IPAddr",
        vec![
            Value::Int(if ip.v6 { 6 } else { 4 }),
            Value::str(ip.addr.to_string()),
            Value::str(ip.mask.to_string()),
        ],
    )
}

fn fields(f: &[Value]) -> Option<Ip> {
    match f {
        [Value::Int(fam), Value::Str(a), Value::Str(m)] => Some(Ip {
            v6: *fam == 6,
            addr: a.parse().ok()?,
            mask: m.parse().ok()?,
        }),
        _ => None,
    }
}

/// Parses `addr`, `addr/prefix` or `addr/netmask` as `IPAddr.new` does.
fn parse(text: &str) -> Option<Ip> {
    let (addr, pfx) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let (v6, n) = match ip {
        std::net::IpAddr::V4(a) => (false, u32::from(a) as u128),
        std::net::IpAddr::V6(a) => (true, u128::from(a)),
    };
    let mask = match pfx {
        None => full(v6),
        Some(p) => netmask(v6, p)?,
    };
    Some(Ip {
        v6,
        addr: n & mask,
        mask,
    })
}

/// A prefix length (`24`) or a netmask (`255.255.255.0`) as a mask.
fn netmask(v6: bool, p: &str) -> Option<u128> {
    if let Ok(n) = p.parse::<u32>() {
        return (n <= bits(v6)).then(|| prefix_mask(v6, n));
    }
    let m = match p.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) if !v6 => u32::from(a) as u128,
        std::net::IpAddr::V6(a) if v6 => u128::from(a),
        _ => return None,
    };
    // Only contiguous masks are prefixes.
    let ones = m.count_ones();
    (prefix_mask(v6, ones) == m).then_some(m)
}

/// The canonical (uncompressed) text: `to_string`.
fn canonical(v6: bool, n: u128) -> String {
    if v6 {
        (0..8)
            .map(|i| format!("{:04x}", (n >> (112 - 16 * i)) & 0xffff))
            .collect::<Vec<_>>()
            .join(":")
    } else {
        let n = n as u32;
        format!(
            "{}.{}.{}.{}",
            n >> 24,
            (n >> 16) & 255,
            (n >> 8) & 255,
            n & 255
        )
    }
}

/// Ruby's `IPAddr#to_s`: IPv6 with zeros dropped and the first longest zero run (of two or
/// more groups) as `::`, and an IPv4-compatible or -mapped tail in dotted form.
fn compressed(v6: bool, n: u128) -> String {
    if !v6 {
        return canonical(false, n);
    }
    let g: Vec<u16> = (0..8)
        .map(|i| ((n >> (112 - 16 * i)) & 0xffff) as u16)
        .collect();
    let (mut best, mut best_len) = (0, 0);
    let mut i = 0;
    while i < 8 {
        if g[i] == 0 {
            let s = i;
            while i < 8 && g[i] == 0 {
                i += 1;
            }
            if i - s > best_len {
                (best, best_len) = (s, i - s);
            }
        } else {
            i += 1;
        }
    }
    let hex = |gs: &[u16]| gs.iter().map(|x| format!("{x:x}")).collect::<Vec<_>>();
    let s = if best_len >= 2 {
        format!(
            "{}::{}",
            hex(&g[..best]).join(":"),
            hex(&g[best + best_len..]).join(":")
        )
    } else {
        hex(&g).join(":")
    };
    // `::a:b` and `::ffff:a:b` are written with an IPv4 tail.
    let tail = |a: u16, b: u16| format!("{}.{}.{}.{}", a >> 8, a & 255, b >> 8, b & 255);
    if best == 0 && best_len == 6 {
        return format!("::{}", tail(g[6], g[7]));
    }
    if best == 0 && best_len == 5 && g[5] == 0xffff {
        return format!("::ffff:{}", tail(g[6], g[7]));
    }
    s
}

pub(super) fn ip_to_s(f: &[Value]) -> String {
    fields(f)
        .map(|ip| compressed(ip.v6, ip.addr))
        .unwrap_or_default()
}

pub(super) fn ip_inspect(f: &[Value]) -> String {
    match fields(f) {
        Some(ip) => format!(
            "#<IPAddr: IPv{}:{}/{}>",
            if ip.v6 { 6 } else { 4 },
            canonical(ip.v6, ip.addr),
            canonical(ip.v6, ip.mask)
        ),
        None => String::new(),
    }
}

/// A whole number of up to 128 bits: an Integer, or the big-Integer object past 64 bits.
pub(super) fn big(n: u128) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::Int(i),
        Err(_) => obj("BigInt", vec![Value::str(n.to_string())]),
    }
}

impl Ctx<'_> {
    fn invalid(&self, what: &str, text: &str) -> troupe_values::error::EvalError {
        // IPAddr's errors are ArgumentErrors: `rescue` catches them.
        self.err(format!("{RUBY_ERROR}{what}: {text}"))
    }

    /// `IPAddr.new(text)`.
    pub(super) fn ipaddr_new(&self, args: &[Value]) -> EResult<Value> {
        let text = match args {
            [Value::Str(s)] => s.to_string(),
            _ => return Err(self.unsupported("IPAddr.new with these arguments")),
        };
        match parse(&text) {
            Some(ip) => Ok(make(&ip)),
            None => Err(self.invalid("invalid address", &text)),
        }
    }

    fn coerce_ip(&self, v: &Value) -> EResult<Ip> {
        match as_obj(v) {
            Some(("IPAddr", f)) => fields(f).ok_or_else(|| self.unsupported("IPAddr value")),
            _ => match v {
                Value::Str(s) => parse(s).ok_or_else(|| self.invalid("invalid address", s)),
                _ => Err(self.unsupported("IPAddr operand")),
            },
        }
    }

    /// A method on an `IPAddr`.
    pub(super) fn ipaddr_method(&self, f: &[Value], name: &str, args: &[Value]) -> EResult<Value> {
        let ip = fields(f).ok_or_else(|| self.unsupported("IPAddr value"))?;
        Ok(match (name, args) {
            ("to_s", []) => Value::str(compressed(ip.v6, ip.addr)),
            ("to_string", []) => Value::str(canonical(ip.v6, ip.addr)),
            ("to_i", []) => big(ip.addr),
            ("ipv4?", []) => Value::Bool(!ip.v6),
            ("ipv6?", []) => Value::Bool(ip.v6),
            ("netmask", []) => Value::str(canonical(ip.v6, ip.mask)),
            ("prefix", []) => Value::Int(ip.mask.count_ones() as i64),
            ("inspect", []) => Value::str(ip_inspect(f)),
            ("mask", [m]) => {
                let text = super::robj::to_s(m);
                let mask =
                    netmask(ip.v6, &text).ok_or_else(|| self.invalid("invalid prefix", &text))?;
                make(&Ip {
                    addr: ip.addr & mask,
                    mask,
                    ..ip
                })
            }
            ("include?" | "===", [o]) => {
                let o = self.coerce_ip(o)?;
                let (lo, hi) = (ip.addr & ip.mask, ip.addr | (full(ip.v6) ^ ip.mask));
                Value::Bool(o.v6 == ip.v6 && lo <= o.addr && o.addr <= hi)
            }
            ("==", [o]) => match self.coerce_ip(o) {
                Ok(o) => Value::Bool(o.v6 == ip.v6 && o.addr == ip.addr),
                Err(_) => Value::Bool(false),
            },
            ("to_range", []) => {
                let lo = ip.addr & ip.mask;
                let hi = ip.addr | (full(ip.v6) ^ ip.mask);
                let end = |a| {
                    make(&Ip {
                        v6: ip.v6,
                        addr: a,
                        mask: full(ip.v6),
                    })
                };
                obj("IPRange", vec![end(lo), end(hi)])
            }
            ("reverse", []) if !ip.v6 => {
                let c = canonical(false, ip.addr);
                let mut parts: Vec<&str> = c.split('.').collect();
                parts.reverse();
                Value::str(format!("{}.in-addr.arpa", parts.join(".")))
            }
            ("reverse", []) => {
                let hex = format!("{:032x}", ip.addr);
                let mut nibbles: Vec<String> = hex.chars().map(|c| c.to_string()).collect();
                nibbles.reverse();
                Value::str(format!("{}.ip6.arpa", nibbles.join(".")))
            }
            _ => return Err(self.unsupported(format!("IPAddr#{name}"))),
        })
    }

    /// `first`/`last`/`begin`/`end` of an `IPAddr#to_range`.
    pub(super) fn iprange_method(&self, f: &[Value], name: &str) -> EResult<Value> {
        match (name, f) {
            ("first" | "begin" | "min", [a, _]) => Ok(a.clone()),
            ("last" | "end" | "max", [_, b]) => Ok(b.clone()),
            _ => Err(self.unsupported(format!("Range of IPAddr #{name}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_text_is_rubys() {
        let s = |t: &str| parse(t).map(|ip| compressed(ip.v6, ip.addr));
        assert_eq!(s("2001:0db8:0000::0001").as_deref(), Some("2001:db8::1"));
        assert_eq!(s("::1").as_deref(), Some("::1"));
        assert_eq!(s("::").as_deref(), Some("::"));
        assert_eq!(s("fe80::").as_deref(), Some("fe80::"));
        assert_eq!(s("::ffff:10.0.0.1").as_deref(), Some("::ffff:10.0.0.1"));
        assert_eq!(s("1:0:0:2:0:0:0:3").as_deref(), Some("1:0:0:2::3"));
        assert_eq!(s("1:0:2:3:4:5:6:7").as_deref(), Some("1:0:2:3:4:5:6:7"));
    }

    #[test]
    fn whole_address_as_integer() {
        let ip = parse("192.168.1.10").map(|i| i.addr);
        assert_eq!(ip, Some(3_232_235_786));
        let v6 = parse("2001:db8::1").map(|i| big(i.addr));
        assert_eq!(
            v6.as_ref().and_then(|v| as_obj(v)).map(|(_, f)| f.to_vec()),
            Some(vec![Value::str("42540766411282592856903984951653826561")])
        );
    }
}
