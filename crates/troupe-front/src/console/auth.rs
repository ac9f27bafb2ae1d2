//! Who may use the console: an administrator is a client from an admin address (`admin`
//! addresses and `admin_allow` networks; loopback by default) or one presenting a verified
//! certificate with Puppet's CA-admin extension (`pp_cli_auth`, OID 1.3.6.1.4.1.34380.1.3.39,
//! value `true`). Everyone else is answered 403. A form post must carry this process's random
//! token and come from the page itself (`Sec-Fetch-Site` and `Origin`, when the browser sends
//! them); a JSON call must say `Content-Type: application/json` (a browser cannot send that
//! across sites without a preflight the front never grants).

use crate::State;
use std::net::IpAddr;

pub const CLI_AUTH_OID: &str = "1.3.6.1.4.1.34380.1.3.39";

/// An address network: `ADDR/PREFIX` or a bare address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::str::FromStr for Net {
    type Err = String;
    fn from_str(s: &str) -> Result<Net, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{s}' is not an address or ADDR/PREFIX"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}': the prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(Net { addr, prefix })
    }
}

impl Net {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether the certificate carries `pp_cli_auth` = `true`.
pub fn has_cli_auth(cert_der: &[u8]) -> bool {
    troupe_ca::trusted_extensions(cert_der)
        .get(CLI_AUTH_OID)
        .and_then(|v| v.as_str())
        == Some("true")
}

/// The client as the console judges it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Its certificate name when verified, else its address.
    pub who: String,
    pub admin: bool,
}

/// Judges a client: from an admin address, or with a verified CA-admin certificate.
pub fn judge(state: &State, peer: IpAddr, verified_cert: Option<(&str, &[u8])>) -> Caller {
    let by_addr = state.config.admin.contains(&peer)
        || state.config.admin_allow.iter().any(|n| n.contains(peer));
    let by_cert = verified_cert.is_some_and(|(_, der)| has_cli_auth(der));
    let who = match verified_cert {
        Some((name, _)) => format!("{name} ({peer})"),
        None => peer.to_string(),
    };
    Caller {
        who,
        admin: by_addr || by_cert,
    }
}

/// This process's form token: 128 random bits, hex.
pub fn new_token() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if random.is_err() {
        // No /dev/urandom: a digest of what differs between processes and instants.
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(std::process::id().to_le_bytes());
        h.update(format!("{:?}", std::time::SystemTime::now()).as_bytes());
        h.update(format!("{:p}", &b).as_bytes());
        b.copy_from_slice(&h.finalize()[..16]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Whether a form post comes from the console's own page: `Sec-Fetch-Site` (when sent) is
/// `same-origin` or `none`, and `Origin` (when sent) names the host the request was sent to.
pub fn same_origin(
    fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
) -> Result<(), String> {
    if let Some(s) = fetch_site {
        if s != "same-origin" && s != "none" {
            return Err(format!("a cross-site form post (Sec-Fetch-Site: {s})"));
        }
    }
    if let Some(o) = origin {
        let from = o.strip_prefix("https://").unwrap_or("");
        if o != "null" && Some(from) != host {
            return Err(format!("a form post from another origin ({o})"));
        }
        if o == "null" {
            return Err("a form post from an opaque origin".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_tokens_and_origins() {
        let n: Net = "10.1.0.0/16".parse().expect("net");
        assert!(n.contains("10.1.200.3".parse().expect("ip")));
        assert!(!n.contains("10.2.0.1".parse().expect("ip")));
        assert!(n.contains("::ffff:10.1.0.9".parse().expect("ip")));
        let all: Net = "0.0.0.0/0".parse().expect("net");
        assert!(all.contains("192.0.2.1".parse().expect("ip")));
        let one: Net = "::1".parse().expect("net");
        assert!(
            one.contains("::1".parse().expect("ip")) && !one.contains("::2".parse().expect("ip"))
        );
        assert!("10.0.0.0/33".parse::<Net>().is_err() && "x/8".parse::<Net>().is_err());
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, ""));
        assert!(same_origin(Some("same-origin"), Some("https://h:8140"), Some("h:8140")).is_ok());
        assert!(same_origin(None, None, Some("h")).is_ok());
        assert!(same_origin(Some("cross-site"), None, Some("h")).is_err());
        assert!(same_origin(None, Some("https://evil.test"), Some("h:8140")).is_err());
        assert!(same_origin(None, Some("null"), Some("h")).is_err());
    }
}
