//! The front's TLS listeners: bound here, or (`listen_on_stdin`) the first one inherited as
//! standard input from a supervisor that holds it, inetd's `wait` style. `troupe node` does
//! that: the socket outlives a killed front, so connections that arrive before the next front
//! starts wait in the kernel's queue instead of being refused.

use crate::BoxError;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use tokio::net::TcpListener;

/// The listeners for `listen`, in order.
pub(crate) async fn listeners(
    listen: &[SocketAddr],
    on_stdin: bool,
) -> Result<Vec<TcpListener>, BoxError> {
    let mut out = Vec::with_capacity(listen.len());
    for (i, addr) in listen.iter().enumerate() {
        let l = if i == 0 && on_stdin {
            let l = from_stdin(addr)?;
            tracing::info!("listening on {} (https, socket inherited)", l.local_addr()?);
            l
        } else {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            tracing::info!("listening on {} (https)", l.local_addr()?);
            l
        };
        out.push(l);
    }
    Ok(out)
}

/// Standard input as the listener for `addr`.
fn from_stdin(addr: &SocketAddr) -> Result<TcpListener, BoxError> {
    let fd = rustix::io::dup(std::io::stdin().as_fd())
        .map_err(|e| format!("listen_on_stdin: standard input: {e}"))?;
    let l = checked(fd, addr)?;
    l.set_nonblocking(true)?;
    Ok(TcpListener::from_std(l)?)
}

/// `fd` as a listener for `addr`: it must be a listening TCP socket bound to `addr`'s port
/// (so a wrong descriptor is refused with a clear error, not served).
fn checked(fd: OwnedFd, addr: &SocketAddr) -> Result<std::net::TcpListener, BoxError> {
    let what = "listen_on_stdin: standard input";
    match rustix::net::sockopt::socket_acceptconn(&fd) {
        Ok(true) => {}
        Ok(false) => return Err(format!("{what} is a socket that does not listen").into()),
        Err(_) => return Err(format!("{what} is not a socket").into()),
    }
    let l = std::net::TcpListener::from(fd);
    let local = l
        .local_addr()
        .map_err(|e| format!("{what} is not a TCP socket: {e}"))?;
    if local.port() != addr.port() {
        return Err(
            format!("{what} listens on {local}, not on the port of listen = {addr}").into(),
        );
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use std::os::fd::OwnedFd;

    #[test]
    fn only_a_listening_tcp_socket_on_the_port_is_taken() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let held = super::checked(OwnedFd::from(l.try_clone().expect("dup")), &addr)
            .expect("the listener itself");
        assert_eq!(held.local_addr().expect("addr"), addr);

        let other: std::net::SocketAddr = "0.0.0.0:1".parse().expect("addr");
        let e = super::checked(OwnedFd::from(l), &other).expect_err("another port");
        assert!(
            e.to_string()
                .contains("not on the port of listen = 0.0.0.0:1"),
            "{e}"
        );

        let file = std::fs::File::open("/proc/self/status").expect("a file");
        let e = super::checked(OwnedFd::from(file), &addr).expect_err("a file");
        assert_eq!(
            e.to_string(),
            "listen_on_stdin: standard input is not a socket"
        );

        let peer = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let s = std::net::TcpStream::connect(peer.local_addr().expect("addr")).expect("connect");
        let e = super::checked(OwnedFd::from(s), &addr).expect_err("a connected socket");
        assert_eq!(
            e.to_string(),
            "listen_on_stdin: standard input is a socket that does not listen"
        );
    }

    #[tokio::test]
    async fn binding_reports_the_address_it_could_not_take() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = held.local_addr().expect("addr");
        let err = super::listeners(&[addr], false)
            .await
            .expect_err("the port is taken");
        assert!(
            err.to_string()
                .contains(&format!("cannot listen on {addr}")),
            "{err}"
        );
    }
}
