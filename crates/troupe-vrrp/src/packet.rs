//! VRRP advertisements for IPv4: version 3 (RFC 5798, interval in centiseconds, checksum over
//! an IPv4 pseudo-header) and version 2 (RFC 3768, interval in seconds, authentication fields,
//! checksum over the message only), with the receive checks RFC 5798 §7.1 asks for.

use std::net::Ipv4Addr;

/// IP protocol number of VRRP.
pub const PROTO: u8 = 112;
/// The VRRP multicast group.
pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

/// One advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Centiseconds (v3), or seconds × 100 for v2 (carried in whole seconds on the wire).
    pub interval_cs: u16,
    pub addresses: Vec<Ipv4Addr>,
}

/// Why a received packet was dropped (each is counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drop {
    Ttl,
    Protocol,
    Truncated,
    Version,
    Type,
    Checksum,
    Vrid,
    AddressCount,
    Addresses,
    Interval,
    /// Not from a configured unicast peer.
    Source,
}

impl Drop {
    pub fn name(self) -> &'static str {
        match self {
            Drop::Ttl => "ttl_not_255",
            Drop::Protocol => "not_vrrp",
            Drop::Truncated => "truncated",
            Drop::Version => "wrong_version",
            Drop::Type => "not_advertisement",
            Drop::Checksum => "bad_checksum",
            Drop::Vrid => "unknown_vrid",
            Drop::AddressCount => "address_count",
            Drop::Addresses => "address_mismatch",
            Drop::Interval => "interval_mismatch",
            Drop::Source => "unknown_source",
        }
    }
}

/// The Internet checksum (RFC 1071).
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in *p {
            match odd.take() {
                Some(h) => sum += u32::from(u16::from_be_bytes([h, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(h) = odd {
        sum += u32::from(u16::from_be_bytes([h, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[..4].copy_from_slice(&src.octets());
    p[4..8].copy_from_slice(&dst.octets());
    p[9] = PROTO;
    p[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    p
}

impl Advert {
    /// The VRRP message (what follows the IP header). `src`/`dst` enter the v3 checksum.
    pub fn encode(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut m = Vec::with_capacity(8 + 4 * self.addresses.len() + 8);
        match self.version {
            Version::V3 => {
                m.push(0x31);
                m.push(self.vrid);
                m.push(self.priority);
                m.push(self.addresses.len() as u8);
                m.extend_from_slice(&(self.interval_cs & 0x0fff).to_be_bytes());
                m.extend_from_slice(&[0, 0]);
                for a in &self.addresses {
                    m.extend_from_slice(&a.octets());
                }
                let c = checksum(&[&pseudo(src, dst, m.len()), &m]);
                m[6..8].copy_from_slice(&c.to_be_bytes());
            }
            Version::V2 => {
                m.push(0x21);
                m.push(self.vrid);
                m.push(self.priority);
                m.push(self.addresses.len() as u8);
                m.push(0); // no authentication
                m.push((self.interval_cs / 100).clamp(1, 255) as u8);
                m.extend_from_slice(&[0, 0]);
                for a in &self.addresses {
                    m.extend_from_slice(&a.octets());
                }
                m.extend_from_slice(&[0u8; 8]);
                let c = checksum(&[&m]);
                m[6..8].copy_from_slice(&c.to_be_bytes());
            }
        }
        m
    }

    /// Parses a VRRP message (no IP header).
    pub fn decode(m: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<Advert, Drop> {
        if m.len() < 8 {
            return Err(Drop::Truncated);
        }
        let version = match m[0] >> 4 {
            3 => Version::V3,
            2 => Version::V2,
            _ => return Err(Drop::Version),
        };
        if m[0] & 0x0f != 1 {
            return Err(Drop::Type);
        }
        let count = m[3] as usize;
        let need = 8 + 4 * count + if version == Version::V2 { 8 } else { 0 };
        if m.len() < need {
            return Err(Drop::Truncated);
        }
        let ok = match version {
            Version::V3 => checksum(&[&pseudo(src, dst, m.len()), m]) == 0,
            Version::V2 => checksum(&[&m[..need]]) == 0,
        };
        if !ok {
            return Err(Drop::Checksum);
        }
        let interval_cs = match version {
            Version::V3 => u16::from_be_bytes([m[4], m[5]]) & 0x0fff,
            Version::V2 => u16::from(m[5]) * 100,
        };
        let addresses = (0..count)
            .map(|i| Ipv4Addr::new(m[8 + 4 * i], m[9 + 4 * i], m[10 + 4 * i], m[11 + 4 * i]))
            .collect();
        Ok(Advert {
            version,
            vrid: m[1],
            priority: m[2],
            interval_cs,
            addresses,
        })
    }
}

/// Parses an IPv4 packet carrying VRRP: TTL must be 255 and the protocol 112.
pub fn decode_ipv4(p: &[u8]) -> Result<(Ipv4Addr, Ipv4Addr, Advert), Drop> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return Err(Drop::Truncated);
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if p.len() < ihl || ihl < 20 {
        return Err(Drop::Truncated);
    }
    if p[9] != PROTO {
        return Err(Drop::Protocol);
    }
    if p[8] != 255 {
        return Err(Drop::Ttl);
    }
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let a = Advert::decode(&p[ihl..total.max(ihl)], src, dst)?;
    Ok((src, dst, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 11);

    fn adv(version: Version) -> Advert {
        Advert {
            version,
            vrid: 51,
            priority: 101,
            interval_cs: 100,
            addresses: vec![Ipv4Addr::new(10, 88, 0, 21)],
        }
    }

    #[test]
    fn v3_round_trips_and_checks_the_pseudo_header() {
        let a = adv(Version::V3);
        let m = a.encode(SRC, GROUP);
        assert_eq!(m.len(), 12);
        assert_eq!(m[0], 0x31);
        assert_eq!(Advert::decode(&m, SRC, GROUP), Ok(a));
        // The same bytes from another source fail the v3 checksum.
        assert_eq!(
            Advert::decode(&m, Ipv4Addr::new(10, 88, 0, 12), GROUP),
            Err(Drop::Checksum)
        );
    }

    #[test]
    fn v2_round_trips_in_whole_seconds() {
        let a = adv(Version::V2);
        let m = a.encode(SRC, GROUP);
        assert_eq!(m.len(), 20);
        assert_eq!((m[0], m[4], m[5]), (0x21, 0, 1));
        assert_eq!(Advert::decode(&m, SRC, GROUP), Ok(a));
    }

    #[test]
    fn bad_packets_are_classified() {
        let mut m = adv(Version::V3).encode(SRC, GROUP);
        m[2] ^= 1;
        assert_eq!(Advert::decode(&m, SRC, GROUP), Err(Drop::Checksum));
        let mut m = adv(Version::V3).encode(SRC, GROUP);
        m[0] = 0x41;
        assert_eq!(Advert::decode(&m, SRC, GROUP), Err(Drop::Version));
        let mut m = adv(Version::V3).encode(SRC, GROUP);
        m[0] = 0x32;
        assert_eq!(Advert::decode(&m, SRC, GROUP), Err(Drop::Type));
        assert_eq!(
            Advert::decode(&[0x31, 1, 2], SRC, GROUP),
            Err(Drop::Truncated)
        );
        // An IP header with TTL 64 is refused before the VRRP checks.
        let body = adv(Version::V3).encode(SRC, GROUP);
        let mut ip = vec![
            0x45,
            0,
            0,
            (20 + body.len()) as u8,
            0,
            0,
            0,
            0,
            64,
            PROTO,
            0,
            0,
        ];
        ip.extend_from_slice(&SRC.octets());
        ip.extend_from_slice(&GROUP.octets());
        ip.extend_from_slice(&body);
        assert_eq!(decode_ipv4(&ip).err(), Some(Drop::Ttl));
        ip[8] = 255;
        assert_eq!(decode_ipv4(&ip).map(|(s, _, a)| (s, a.vrid)), Ok((SRC, 51)));
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2; the checksum is its complement.
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]]),
            !0xddf2
        );
    }
}
