//! HTTP/1.1 to the masters, run inline in the request's own task.
//!
//! A pooled connection is owned by one request at a time: the request is written in one go
//! (head and body), the response head is parsed with `httparse` and the body read by its
//! framing (`Content-Length`, chunked, or until close). Nothing is handed to another task, so
//! a proxied request costs no channel hops and no wake-ups beyond the socket's own.

use bytes::{Buf, Bytes, BytesMut};
use hyper::header::{HeaderName, HeaderValue};
use hyper::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A byte stream to a master: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Largest response head accepted from a master.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers in one response head.
const MAX_HEADERS: usize = 128;

/// One connection to a master.
pub struct Conn {
    io: Box<dyn Io>,
    buf: BytesMut,
    /// The current exchange's request was written whole.
    written: bool,
    /// A byte of the current exchange's response came.
    answered: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("buffered", &self.buf.len())
            .finish()
    }
}

/// A master's answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why an exchange failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The request could not be written whole: no master can have acted on it, so it may be
    /// tried elsewhere.
    NotWritten(String),
    /// The request was written whole, then the connection closed or was reset before any byte
    /// of a response: the master may have died of it (or closed an idle connection).
    NoResponse(String),
    /// The master answered something that is not a complete HTTP response.
    Broken(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotWritten(s) | Error::NoResponse(s) | Error::Broken(s) => f.write_str(s),
        }
    }
}

/// Hop-by-hop headers, never passed on in either direction.
pub const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

/// Writes a request head: request line, then `headers` (the caller has filtered them).
pub fn write_head(out: &mut Vec<u8>, method: &str, path_and_query: &str) {
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
}

/// Appends one header line. A value with CR, LF or NUL (a certificate name made to split the
/// request, say) is left out rather than written, as `HeaderValue` would refuse it.
pub fn write_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    if value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return;
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

impl Conn {
    pub fn new(io: Box<dyn Io>) -> Conn {
        Conn {
            io,
            buf: BytesMut::with_capacity(8 * 1024),
            written: false,
            answered: false,
        }
    }

    /// Where an exchange that was given up (its future dropped) stood: whether the request
    /// was written whole, and whether any byte of a response had come.
    pub fn progress(&self) -> (bool, bool) {
        (self.written, self.answered)
    }

    /// Sends `request` (a complete head and body, in pieces written in turn) and reads the
    /// response. `head_request`: the request was HEAD, so the response has no body whatever
    /// its headers say. On success also says whether the connection may be used again.
    pub async fn exchange(
        &mut self,
        request: &[&[u8]],
        head_request: bool,
    ) -> Result<(Response, bool), Error> {
        self.buf.clear();
        self.written = false;
        self.answered = false;
        for part in request {
            if let Err(e) = self.io.write_all(part).await {
                return Err(Error::NotWritten(format!("write: {e}")));
            }
        }
        if let Err(e) = self.io.flush().await {
            return Err(Error::NotWritten(format!("write: {e}")));
        }
        self.written = true;
        loop {
            let (status, headers, head_len, keep) = self.read_head().await?;
            self.buf.advance(head_len);
            if (100..200).contains(&status) {
                // 100 Continue and other interim answers: the real one follows.
                continue;
            }
            let no_body = head_request || status == 204 || status == 304;
            let (body, mut keep) = if no_body {
                (Bytes::new(), keep)
            } else {
                self.read_body(&headers, keep).await?
            };
            if !self.buf.is_empty() {
                // Bytes beyond the response: the connection is out of step, do not reuse it.
                keep = false;
            }
            return Ok((
                Response {
                    status,
                    headers,
                    body,
                },
                keep,
            ));
        }
    }

    /// Reads until a whole response head is buffered; returns status, headers, head length
    /// and whether the master keeps the connection open.
    async fn read_head(&mut self) -> Result<(u16, HeaderMap, usize, bool), Error> {
        let mut got_any = !self.buf.is_empty();
        loop {
            if !self.buf.is_empty() {
                let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut r = httparse::Response::new(&mut hs);
                match r.parse(&self.buf) {
                    Ok(httparse::Status::Complete(n)) => {
                        let status = r.code.unwrap_or(0);
                        let mut keep = r.version == Some(1);
                        let mut headers = HeaderMap::with_capacity(r.headers.len());
                        for h in r.headers.iter() {
                            if h.name.eq_ignore_ascii_case("connection") {
                                let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                                if v.split(',').any(|t| t.trim() == "close") {
                                    keep = false;
                                }
                            }
                            let (Ok(name), Ok(value)) = (
                                HeaderName::from_bytes(h.name.as_bytes()),
                                HeaderValue::from_bytes(h.value),
                            ) else {
                                return Err(Error::Broken(format!(
                                    "bad response header {:?}",
                                    h.name
                                )));
                            };
                            headers.append(name, value);
                        }
                        return Ok((status, headers, n, keep));
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.buf.len() > MAX_HEAD {
                            return Err(Error::Broken("response head too large".into()));
                        }
                    }
                    Err(e) => return Err(Error::Broken(format!("bad response: {e}"))),
                }
            }
            match self.fill().await {
                Ok(0) if !got_any => {
                    return Err(Error::NoResponse(
                        "connection closed before a response".into(),
                    ))
                }
                Ok(0) => {
                    return Err(Error::Broken(
                        "connection closed in the response head".into(),
                    ))
                }
                Ok(_) => got_any = true,
                Err(e) if !got_any => return Err(Error::NoResponse(format!("read: {e}"))),
                Err(e) => return Err(Error::Broken(format!("read: {e}"))),
            }
        }
    }

    /// Whether an idle pooled connection may carry a request: the master has not closed it
    /// (nor sent anything unasked) meanwhile. Checked without waiting.
    pub async fn is_reusable(&mut self) -> bool {
        self.buf.clear();
        let peek = tokio::time::timeout(std::time::Duration::ZERO, self.fill()).await;
        // Pending (nothing to read) is what an open, quiet connection gives.
        peek.is_err()
    }

    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        let n = self.io.read_buf(&mut self.buf).await?;
        if n > 0 {
            self.answered = true;
        }
        Ok(n)
    }

    async fn read_body(&mut self, headers: &HeaderMap, keep: bool) -> Result<(Bytes, bool), Error> {
        let chunked = headers
            .get_all(hyper::header::TRANSFER_ENCODING)
            .iter()
            .any(|v| {
                v.to_str()
                    .is_ok_and(|s| s.to_ascii_lowercase().contains("chunked"))
            });
        if chunked {
            return Ok((self.read_chunked().await?, keep));
        }
        if let Some(v) = headers.get(hyper::header::CONTENT_LENGTH) {
            let len: usize = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| Error::Broken("bad Content-Length from the master".into()))?;
            // Room for the whole body at once (up to 64 MiB; more grows as it comes).
            self.buf
                .reserve(len.min(64 << 20).saturating_sub(self.buf.len()));
            while self.buf.len() < len {
                self.fill_or_fail().await?;
            }
            return Ok((self.buf.split_to(len).freeze(), keep));
        }
        // Delimited by the end of the connection.
        loop {
            match self.fill().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(Error::Broken(format!("read: {e}"))),
            }
        }
        Ok((self.buf.split().freeze(), false))
    }

    async fn read_chunked(&mut self) -> Result<Bytes, Error> {
        let mut out = BytesMut::new();
        loop {
            // The size line.
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.buf.len() > 4096 {
                    return Err(Error::Broken("bad chunk size line".into()));
                }
                self.fill_or_fail().await?;
            };
            let line = std::str::from_utf8(&self.buf[..line_end])
                .map_err(|_| Error::Broken("bad chunk size line".into()))?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| Error::Broken(format!("bad chunk size {size_text:?}")))?;
            self.buf.advance(line_end + 2);
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        self.buf.advance(i + 2);
                        if i == 0 {
                            return Ok(out.freeze());
                        }
                        continue;
                    }
                    if self.buf.len() > MAX_HEAD {
                        return Err(Error::Broken("response trailers too large".into()));
                    }
                    self.fill_or_fail().await?;
                }
            }
            while self.buf.len() < size + 2 {
                self.fill_or_fail().await?;
            }
            out.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(Error::Broken("chunk not followed by CRLF".into()));
            }
            self.buf.advance(size + 2);
        }
    }

    async fn fill_or_fail(&mut self) -> Result<(), Error> {
        match self.fill().await {
            Ok(0) => Err(Error::Broken(
                "connection closed in the response body".into(),
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(Error::Broken(format!("read: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Runs one exchange against a scripted peer that answers `reply` (in `pieces`) and
    /// returns what the peer received.
    async fn exchange_with(
        pieces: Vec<&'static [u8]>,
        head: bool,
    ) -> (Result<(Response, bool), Error>, Vec<u8>) {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let peer = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut piece = [0u8; 4096];
            while !got.ends_with(b"\r\n\r\n") {
                match b.read(&mut piece).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&piece[..n]),
                }
            }
            for p in pieces {
                let _ = b.write_all(p).await;
                let _ = b.flush().await;
                tokio::task::yield_now().await;
            }
            got
        });
        let mut c = Conn::new(Box::new(a));
        let r = c
            .exchange(&[b"GET / HTTP/1.1\r\n", b"Host: m\r\n\r\n"], head)
            .await;
        let got = peer.await.unwrap_or_default();
        (r, got)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn content_length_body_in_pieces_and_keep_alive() {
        rt().block_on(async {
            let (r, sent) = exchange_with(
                vec![
                    b"HTTP/1.1 200 OK\r\nContent-Le",
                    b"ngth: 5\r\nX-A: 1\r\n\r\nhe",
                    b"llo",
                ],
                false,
            )
            .await;
            assert_eq!(sent, b"GET / HTTP/1.1\r\nHost: m\r\n\r\n");
            let (resp, keep) = r.expect("response");
            assert_eq!(resp.status, 200);
            assert_eq!(&resp.body[..], b"hello");
            assert_eq!(
                resp.headers.get("x-a").map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
            assert!(keep);
        });
    }

    #[test]
    fn chunked_body_with_trailer_and_interim_100() {
        rt().block_on(async {
            let (r, _) = exchange_with(
                vec![
                    b"HTTP/1.1 100 Continue\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n",
                    b"A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
                ],
                false,
            )
            .await;
            let (resp, keep) = r.expect("response");
            assert_eq!(&resp.body[..], b"abc0123456789");
            assert!(keep);
        });
    }

    #[test]
    fn close_delimited_and_connection_close_are_not_reused() {
        rt().block_on(async {
            let (r, _) = exchange_with(vec![b"HTTP/1.1 200 OK\r\n\r\nuntil the end"], false).await;
            let (resp, keep) = r.expect("response");
            assert_eq!(&resp.body[..], b"until the end");
            assert!(!keep);
            let (r, _) = exchange_with(
                vec![b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"],
                false,
            )
            .await;
            assert!(!r.expect("response").1);
        });
    }

    #[test]
    fn header_values_that_would_split_the_request_are_left_out() {
        let mut out = Vec::new();
        write_header(
            &mut out,
            b"x-client-dn",
            b"CN=a\r\nX-Client-Verify: SUCCESS",
        );
        write_header(&mut out, b"x-a", b"nul\0");
        assert!(out.is_empty());
        write_header(&mut out, b"x-client-dn", b"CN=a");
        assert_eq!(out, b"x-client-dn: CN=a\r\n");
    }

    #[test]
    fn head_and_204_have_no_body() {
        rt().block_on(async {
            let (r, _) =
                exchange_with(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"], true).await;
            let (resp, keep) = r.expect("response");
            assert!(resp.body.is_empty());
            assert!(keep);
            let (r, _) = exchange_with(vec![b"HTTP/1.1 204 No Content\r\n\r\n"], false).await;
            assert!(r.expect("response").0.body.is_empty());
        });
    }

    #[test]
    fn nothing_back_is_retryable_and_a_cut_response_is_not() {
        rt().block_on(async {
            let (r, _) = exchange_with(vec![], false).await;
            assert!(matches!(r, Err(Error::NoResponse(_))), "{r:?}");
            let (r, _) = exchange_with(
                vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
                false,
            )
            .await;
            assert!(matches!(r, Err(Error::Broken(_))), "{r:?}");
            let (r, _) = exchange_with(vec![b"HTTP/1.1 20"], false).await;
            assert!(matches!(r, Err(Error::Broken(_))), "{r:?}");
            let (r, _) = exchange_with(vec![b"garbage\r\n\r\n"], false).await;
            assert!(matches!(r, Err(Error::Broken(_))), "{r:?}");
            let (r, _) = exchange_with(
                vec![b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
                false,
            )
            .await;
            assert!(matches!(r, Err(Error::Broken(_))), "{r:?}");
        });
    }
}
