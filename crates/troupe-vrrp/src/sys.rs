//! The Linux side: interface facts, virtual addresses through rtnetlink, gratuitous ARP, and
//! the raw IPv4 socket that carries VRRP (protocol 112).

use crate::packet::{GROUP, PROTO};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// What the driver needs to know about an interface.
#[derive(Debug, Clone)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    /// IPv4 addresses on it now.
    pub addresses: Vec<Ipv4Addr>,
}

/// Looks an interface up by name.
pub fn interface(name: &str) -> Result<Interface, String> {
    let i = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| format!("no interface named {name}"))?;
    Ok(Interface {
        name: i.name.clone(),
        index: i.index,
        mac: i.mac.map(|m| m.octets()).unwrap_or_default(),
        addresses: i
            .ips
            .iter()
            .filter_map(|n| match n.ip() {
                std::net::IpAddr::V4(a) => Some(a),
                std::net::IpAddr::V6(_) => None,
            })
            .collect(),
    })
}

// rtnetlink constants (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h).
const AF_NETLINK: i32 = 16;
const AF_INET: u8 = 2;
const NETLINK_ROUTE: i32 = 0;
const NLMSG_ERROR: u16 = 2;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const EEXIST: i32 = 17;
const EADDRNOTAVAIL: i32 = 99;

/// An `RTM_NEWADDR`/`RTM_DELADDR` request for one IPv4 address.
pub fn addr_message(
    add: bool,
    seq: u32,
    index: u32,
    addr: Ipv4Addr,
    prefix: u8,
    label: &str,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&[0; 4]); // length, set below
    let (ty, flags) = if add {
        (
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
    } else {
        (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)
    };
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    // struct ifaddrmsg: family, prefixlen, flags, scope (universe), index.
    m.extend_from_slice(&[AF_INET, prefix, 0, 0]);
    m.extend_from_slice(&index.to_ne_bytes());
    let mut attr = |ty: u16, data: &[u8]| {
        let len = 4 + data.len();
        m.extend_from_slice(&(len as u16).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(data);
        m.resize(m.len() + (4 - len % 4) % 4, 0);
    };
    attr(IFA_LOCAL, &addr.octets());
    attr(IFA_ADDRESS, &addr.octets());
    if add && !label.is_empty() && label.len() < 16 {
        let mut l = label.as_bytes().to_vec();
        l.push(0);
        attr(IFA_LABEL, &l);
    }
    let len = m.len() as u32;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    m
}

/// The error code of the kernel's answer to request `seq` (0: done), if `buf` holds it.
pub fn ack_code(buf: &[u8], seq: u32) -> Option<i32> {
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32::from_ne_bytes(buf[at..at + 4].try_into().ok()?) as usize;
        let ty = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().ok()?);
        let s = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().ok()?);
        if len < 16 || at + len > buf.len() {
            return None;
        }
        if ty == NLMSG_ERROR && s == seq && len >= 20 {
            return Some(i32::from_ne_bytes(buf[at + 16..at + 20].try_into().ok()?));
        }
        at += (len + 3) & !3;
    }
    None
}

/// Adds or removes virtual addresses through rtnetlink.
#[derive(Debug)]
pub struct Netlink {
    sock: Socket,
    seq: u32,
}

impl Netlink {
    pub fn open() -> Result<Netlink, String> {
        let sock = Socket::new(
            Domain::from(AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(NETLINK_ROUTE)),
        )
        .map_err(|e| format!("netlink socket: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| format!("netlink socket: {e}"))?;
        Ok(Netlink { sock, seq: 1 })
    }

    fn request(&mut self, msg: &[u8], seq: u32) -> Result<i32, String> {
        self.sock
            .send(msg)
            .map_err(|e| format!("netlink send: {e}"))?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = (&self.sock)
                .read(&mut buf)
                .map_err(|e| format!("netlink receive: {e}"))?;
            if let Some(code) = ack_code(&buf[..n], seq) {
                return Ok(code);
            }
        }
    }

    /// Adds `addr/prefix` to the interface; an address already there is fine.
    pub fn add(&mut self, ifc: &Interface, addr: Ipv4Addr, prefix: u8) -> Result<(), String> {
        self.change(true, ifc, addr, prefix)
    }

    /// Removes `addr/prefix`; an address already gone is fine.
    pub fn remove(&mut self, ifc: &Interface, addr: Ipv4Addr, prefix: u8) -> Result<(), String> {
        self.change(false, ifc, addr, prefix)
    }

    fn change(
        &mut self,
        add: bool,
        ifc: &Interface,
        addr: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), String> {
        self.seq += 1;
        let label = if add { ifc.name.as_str() } else { "" };
        let m = addr_message(add, self.seq, ifc.index, addr, prefix, label);
        let (fine, what) = if add {
            (-EEXIST, format!("adding {addr}/{prefix} to {}", ifc.name))
        } else {
            (
                -EADDRNOTAVAIL,
                format!("removing {addr}/{prefix} from {}", ifc.name),
            )
        };
        match self.request(&m, self.seq)? {
            0 => Ok(()),
            c if c == fine => Ok(()),
            c => Err(format!("{what}: {}", std::io::Error::from_raw_os_error(-c))),
        }
    }
}

/// A gratuitous ARP request announcing `addr` at `mac` (what keepalived sends).
pub fn garp_frame(mac: [u8; 6], addr: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]); // broadcast
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06]); // ARP
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]); // Ethernet/IPv4, request
    f.extend_from_slice(&mac);
    f.extend_from_slice(&addr.octets());
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&addr.octets());
    f
}

/// Sends one gratuitous ARP per address on the interface.
pub fn send_garps(ifname: &str, mac: [u8; 6], addrs: &[Ipv4Addr]) -> Result<(), String> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == ifname)
        .ok_or_else(|| format!("no interface named {ifname}"))?;
    let cfg = pnet_datalink::Config {
        read_buffer_size: 64,
        ..Default::default()
    };
    let mut tx = match pnet_datalink::channel(&iface, cfg) {
        Ok(pnet_datalink::Channel::Ethernet(tx, _rx)) => tx,
        Ok(_) => return Err(format!("{ifname}: not an Ethernet interface")),
        Err(e) => return Err(format!("{ifname}: packet socket: {e}")),
    };
    for a in addrs {
        match tx.send_to(&garp_frame(mac, *a), None) {
            Some(Ok(())) | None => {}
            Some(Err(e)) => return Err(format!("{ifname}: gratuitous ARP for {a}: {e}")),
        }
    }
    Ok(())
}

/// The raw socket for VRRP on one interface: receives every VRRP packet that reaches it
/// (multicast group joined), sends with our own IPv4 header (TTL 255, DSCP CS6).
#[derive(Debug)]
pub struct VrrpSocket {
    sock: Socket,
    pub source: Ipv4Addr,
}

impl VrrpSocket {
    pub fn open(ifc: &Interface, source: Ipv4Addr) -> Result<VrrpSocket, String> {
        let e =
            |what: &str, err: std::io::Error| format!("{}: VRRP socket ({what}): {err}", ifc.name);
        let sock = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO))),
        )
        .map_err(|x| e("open; troupe vrrp needs root or CAP_NET_RAW", x))?;
        sock.bind_device(Some(ifc.name.as_bytes()))
            .map_err(|x| e("bind to device", x))?;
        sock.set_header_included_v4(true)
            .map_err(|x| e("IP_HDRINCL", x))?;
        sock.join_multicast_v4_n(&GROUP, &socket2::InterfaceIndexOrAddress::Index(ifc.index))
            .map_err(|x| e("join 224.0.0.18", x))?;
        sock.set_multicast_loop_v4(false)
            .map_err(|x| e("multicast loop", x))?;
        sock.set_multicast_if_v4(&source)
            .map_err(|x| e("multicast interface", x))?;
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|x| e("read timeout", x))?;
        Ok(VrrpSocket { sock, source })
    }

    /// A second handle for the receiving thread.
    pub fn try_clone(&self) -> std::io::Result<VrrpSocket> {
        Ok(VrrpSocket {
            sock: self.sock.try_clone()?,
            source: self.source,
        })
    }

    /// Sends one VRRP message to `dst` inside an IPv4 header built here.
    pub fn send(&self, dst: Ipv4Addr, vrrp: &[u8]) -> std::io::Result<()> {
        let p = ipv4_packet(self.source, dst, vrrp);
        self.sock
            .send_to(&p, &SockAddr::from(SocketAddrV4::new(dst, 0)))?;
        Ok(())
    }

    /// Receives one packet (IPv4 header included); `Ok(None)` on the read timeout.
    pub fn recv(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        match (&self.sock).read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// An IPv4 header (TTL 255, TOS 0xc0 as keepalived, protocol 112) around `payload`.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = Vec::with_capacity(usize::from(total));
    p.extend_from_slice(&[0x45, 0xc0]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0]); // id (kernel fills it), don't fragment
    p.extend_from_slice(&[255, PROTO, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let c = crate::packet::checksum(&[&p]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netlink_address_message_layout() {
        let m = addr_message(true, 7, 3, Ipv4Addr::new(10, 88, 0, 21), 24, "eth0");
        assert_eq!(m.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap_or_default()) as usize,
            m.len()
        );
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), RTM_NEWADDR);
        assert_eq!(&m[16..20], &[AF_INET, 24, 0, 0]);
        assert_eq!(
            u32::from_ne_bytes(m[20..24].try_into().unwrap_or_default()),
            3
        );
        // IFA_LOCAL then IFA_ADDRESS, each 8 bytes, then the label "eth0\0" padded to 12.
        assert_eq!(&m[24..32], &[8, 0, 2, 0, 10, 88, 0, 21]);
        assert_eq!(&m[32..40], &[8, 0, 1, 0, 10, 88, 0, 21]);
        assert_eq!(&m[40..49], &[9, 0, 3, 0, b'e', b't', b'h', b'0', 0]);
        let d = addr_message(false, 8, 3, Ipv4Addr::new(10, 88, 0, 21), 24, "eth0");
        assert_eq!(u16::from_ne_bytes([d[4], d[5]]), RTM_DELADDR);
        assert_eq!(d.len(), 40, "no label on removal");
    }

    #[test]
    fn netlink_ack_is_found_by_sequence() {
        let mut msg = vec![];
        for (seq, code) in [(4u32, 0i32), (5, -17)] {
            msg.extend_from_slice(&36u32.to_ne_bytes());
            msg.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            msg.extend_from_slice(&0u16.to_ne_bytes());
            msg.extend_from_slice(&seq.to_ne_bytes());
            msg.extend_from_slice(&0u32.to_ne_bytes());
            msg.extend_from_slice(&code.to_ne_bytes());
            msg.extend_from_slice(&[0; 16]);
        }
        assert_eq!(ack_code(&msg, 5), Some(-17));
        assert_eq!(ack_code(&msg, 4), Some(0));
        assert_eq!(ack_code(&msg, 6), None);
        assert_eq!(ack_code(&msg[..10], 4), None);
    }

    #[test]
    fn garp_and_ip_header() {
        let f = garp_frame([2, 0x88, 0, 0, 0, 0x11], Ipv4Addr::new(10, 88, 0, 21));
        assert_eq!(f.len(), 42);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[28..32], &[10, 88, 0, 21]);
        assert_eq!(&f[38..42], &[10, 88, 0, 21]);
        let p = ipv4_packet(Ipv4Addr::new(10, 88, 0, 11), GROUP, &[1, 2, 3, 4]);
        assert_eq!(p[8], 255);
        assert_eq!(p[9], 112);
        assert_eq!(
            crate::packet::checksum(&[&p[..20]]),
            0,
            "header checksum verifies"
        );
        assert_eq!(&p[20..], &[1, 2, 3, 4]);
    }
}
