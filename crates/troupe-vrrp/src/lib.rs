//! VRRP for `troupe vrrp`: the packet codec (`packet`) and the per-VRID state machine (`fsm`),
//! both sans-IO: no sockets, no clock, so they run under a virtual clock in tests. The Linux
//! driver (raw socket, netlink addresses, gratuitous ARP, track checks) sits on top.

pub mod config;
pub mod driver;
pub mod fsm;
pub mod packet;
pub mod state_file;
pub mod sys;
pub mod track;
