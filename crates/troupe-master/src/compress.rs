//! gzip for the master's answers, as puppetserver does: a client whose `Accept-Encoding`
//! accepts gzip (the Puppet agent sends `gzip;q=1.0,deflate;q=0.6,identity;q=0.3`) gets
//! bodies of at least [`MIN_SIZE`] bytes compressed, with `Content-Encoding: gzip`; every
//! answer that could have been compressed says `Vary: Accept-Encoding`, so a cache between
//! agent and master keeps both forms apart. Runs on the worker thread that built the answer;
//! a body larger than [`INLINE_MAX`] is compressed on the blocking pool instead.

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use hyper::StatusCode;
use std::io::Write;

use crate::respond::Resp;

/// Bodies below this are sent as they are: a gzip header and trailer cost 18 bytes, and such
/// bodies (empty answers, short texts, `true`) do not shrink enough to pay for the CPU.
pub(crate) const MIN_SIZE: usize = 256;
/// Bodies above this are compressed on the blocking pool, not on an async worker.
const INLINE_MAX: usize = 256 * 1024;
/// zlib's default level: the catalog of the `rich` environment (16.5 KB) shrinks about 7
/// times in well under a millisecond; level 1 saves little CPU and loses a third of that.
const LEVEL: u32 = 6;

/// Whether an `Accept-Encoding` value accepts gzip: `gzip` or `x-gzip` or `*` with a q-value
/// above 0 (RFC 9110 §12.5.3); an explicit `gzip;q=0` refuses it even after `*`.
pub(crate) fn accepts_gzip(value: Option<&HeaderValue>) -> bool {
    let Some(v) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut star = None;
    for item in v.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f32>().ok())?
            })
            .next_back()
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = Some(q > 0.0),
            _ => {}
        }
    }
    star.unwrap_or(false)
}

/// Whether an answer's body is worth compressing: not already encoded, not a HEAD or a
/// status without a body, and at least `MIN_SIZE` bytes.
fn compressible(head: bool, parts: &hyper::http::response::Parts, len: usize) -> bool {
    !head
        && len >= MIN_SIZE
        && !parts.headers.contains_key(CONTENT_ENCODING)
        && !matches!(
            parts.status,
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
        )
}

/// `body` gzip-compressed.
pub(crate) fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        Compression::new(LEVEL),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// The answer, gzip-compressed when the client accepts it and the body is worth it.
pub(crate) async fn encode(accept: bool, head: bool, resp: Resp) -> Resp {
    let (mut parts, body) = resp.into_parts();
    let bytes = match http_body_util::BodyExt::collect(body).await {
        Ok(c) => c.to_bytes(),
        Err(never) => match never {},
    };
    if !compressible(head, &parts, bytes.len()) {
        return Resp::from_parts(parts, Full::new(bytes));
    }
    parts
        .headers
        .append(VARY, HeaderValue::from_static("Accept-Encoding"));
    if !accept {
        return Resp::from_parts(parts, Full::new(bytes));
    }
    let zipped = if bytes.len() > INLINE_MAX {
        let b = bytes.clone();
        tokio::task::spawn_blocking(move || gzip(&b))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
    } else {
        gzip(&bytes)
    };
    match zipped {
        Ok(z) => {
            parts
                .headers
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts.headers.remove(CONTENT_LENGTH);
            Resp::from_parts(parts, Full::new(Bytes::from(z)))
        }
        // Cannot happen writing to memory; the plain body is still a correct answer.
        Err(_) => Resp::from_parts(parts, Full::new(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    #[test]
    fn accept_encoding_values() {
        assert!(accepts_gzip(Some(&hv(
            "gzip;q=1.0,deflate;q=0.6,identity;q=0.3"
        ))));
        assert!(accepts_gzip(Some(&hv("deflate, GZIP"))));
        assert!(accepts_gzip(Some(&hv("x-gzip"))));
        assert!(accepts_gzip(Some(&hv("*"))));
        assert!(!accepts_gzip(Some(&hv("*;q=0"))));
        assert!(!accepts_gzip(Some(&hv("gzip;q=0"))));
        assert!(!accepts_gzip(Some(&hv("*, gzip;q=0"))));
        assert!(!accepts_gzip(Some(&hv("identity"))));
        assert!(!accepts_gzip(Some(&hv("deflate;q=0.5"))));
        assert!(!accepts_gzip(None));
        assert!(!accepts_gzip(Some(&hv(";;;=,,q=x"))));
    }

    fn body_of(r: Resp) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            http_body_util::BodyExt::collect(r.into_body())
                .await
                .map(|c| c.to_bytes().to_vec())
                .unwrap_or_default()
        })
    }

    fn run(accept: bool, head: bool, r: Resp) -> Resp {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(encode(accept, head, r))
    }

    #[test]
    fn large_bodies_are_compressed_and_round_trip() {
        let text = "{\"resources\":[".to_string() + &"{\"type\":\"File\"},".repeat(500) + "]}";
        let r = crate::respond::text(StatusCode::OK, text.clone());
        let r = run(true, false, r);
        assert_eq!(
            r.headers().get(CONTENT_ENCODING).map(|v| v.as_bytes()),
            Some(&b"gzip"[..])
        );
        assert_eq!(
            r.headers().get(VARY).map(|v| v.as_bytes()),
            Some(&b"Accept-Encoding"[..])
        );
        let z = body_of(r);
        assert!(z.len() < text.len() / 5, "{} of {}", z.len(), text.len());
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&z[..]), &mut plain)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain, text);
    }

    #[test]
    fn small_refused_or_head_answers_are_left_alone() {
        let big = "x".repeat(MIN_SIZE * 4);
        let small = run(true, false, crate::respond::text(StatusCode::OK, "ok"));
        assert!(small.headers().get(CONTENT_ENCODING).is_none());
        assert!(small.headers().get(VARY).is_none());
        let refused = run(
            false,
            false,
            crate::respond::text(StatusCode::OK, big.clone()),
        );
        assert!(refused.headers().get(CONTENT_ENCODING).is_none());
        assert_eq!(
            refused.headers().get(VARY).map(|v| v.as_bytes()),
            Some(&b"Accept-Encoding"[..])
        );
        assert_eq!(body_of(refused), big.as_bytes());
        let head = run(
            true,
            true,
            crate::respond::text(StatusCode::OK, big.clone()),
        );
        assert!(head.headers().get(CONTENT_ENCODING).is_none());
        let mut pre = crate::respond::text(StatusCode::OK, big.clone());
        pre.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
        let pre = run(true, false, pre);
        assert_eq!(
            pre.headers().get(CONTENT_ENCODING).map(|v| v.as_bytes()),
            Some(&b"br"[..])
        );
    }
}
