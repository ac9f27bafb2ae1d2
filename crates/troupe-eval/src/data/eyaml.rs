//! hiera-eyaml's PKCS#7 values (`ENC[PKCS7,<base64 DER>]`): a CMS EnvelopedData whose content
//! key is RSA-encrypted (PKCS#1 v1.5) for the key pair's certificate and whose content is
//! AES-256-CBC (or AES-128/192) with PKCS#7 padding, as `eyaml encrypt` writes it.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};

/// A DER element: tag byte and contents.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

fn read_tlv(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let bad = || "malformed PKCS#7 data".to_string();
    let (&tag, rest) = data.split_first().ok_or_else(bad)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = len << 8 | b as usize;
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok((
        Tlv {
            tag,
            body: &rest[..len],
        },
        &rest[len..],
    ))
}

/// The elements of a constructed value.
fn children(body: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = vec![];
    let mut rest = body;
    while !rest.is_empty() {
        let (t, r) = read_tlv(rest)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

const OID_ENVELOPED: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03];
const OID_AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
const OID_AES192_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16];
const OID_AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];

/// Decrypts one PKCS#7 EnvelopedData with a PEM private key (PKCS#1 or PKCS#8).
pub fn decrypt_pkcs7(private_key_pem: &str, der: &[u8]) -> Result<Vec<u8>, String> {
    let key = RsaPrivateKey::from_pkcs1_pem(private_key_pem)
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(private_key_pem))
        .map_err(|e| format!("cannot read the private key: {e}"))?;
    let bad = |what: &str| format!("malformed PKCS#7 data: {what}");
    // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT EnvelopedData }
    let (ci, _) = read_tlv(der)?;
    let ci = children(ci.body)?;
    if ci.len() < 2 || ci[0].tag != 0x06 || ci[0].body != OID_ENVELOPED || ci[1].tag != 0xa0 {
        return Err(bad("not EnvelopedData"));
    }
    let (env, _) = read_tlv(ci[1].body)?;
    // EnvelopedData ::= SEQUENCE { version, [0] originatorInfo OPTIONAL, recipientInfos SET,
    //                              encryptedContentInfo }
    let env = children(env.body)?;
    let mut idx = 1;
    if env.get(idx).is_some_and(|t| t.tag == 0xa0) {
        idx += 1;
    }
    let (Some(recipients), Some(eci)) = (env.get(idx), env.get(idx + 1)) else {
        return Err(bad("missing recipients or content"));
    };
    // The first key-transport recipient: SEQUENCE { version, rid, keyEncAlg, encryptedKey }.
    let mut content_key = None;
    for ri in children(recipients.body)? {
        let fields = children(ri.body)?;
        let Some(enc_key) = fields.iter().find(|t| t.tag == 0x04) else {
            continue;
        };
        if let Ok(k) = key.decrypt(Pkcs1v15Encrypt, enc_key.body) {
            content_key = Some(k);
            break;
        }
    }
    // OpenSSL reports a wrong key as "bad decrypt" (it never says which step failed).
    let content_key = content_key.ok_or_else(|| "bad decrypt".to_string())?;
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
    //                                     [0] IMPLICIT encryptedContent }
    let eci = children(eci.body)?;
    let alg = children(eci.get(1).ok_or_else(|| bad("no content algorithm"))?.body)?;
    let oid = alg.first().map(|t| t.body).unwrap_or_default();
    let iv = alg
        .get(1)
        .filter(|t| t.tag == 0x04)
        .map(|t| t.body)
        .ok_or_else(|| bad("no IV"))?;
    let ct: Vec<u8> = match eci.get(2) {
        Some(t) if t.tag == 0x80 => t.body.to_vec(),
        // Constructed form: a sequence of OCTET STRING pieces.
        Some(t) if t.tag == 0xa0 => children(t.body)?
            .iter()
            .flat_map(|p| p.body.iter().copied())
            .collect(),
        _ => return Err(bad("no encrypted content")),
    };
    let pad_err = |_| "bad decrypt".to_string();
    let key_err = |_| "bad content key length".to_string();
    match oid {
        o if o == OID_AES256_CBC => {
            cbc::Decryptor::<aes::Aes256>::new_from_slices(&content_key, iv)
                .map_err(key_err)?
                .decrypt_padded_vec_mut::<Pkcs7>(&ct)
                .map_err(pad_err)
        }
        o if o == OID_AES192_CBC => {
            cbc::Decryptor::<aes::Aes192>::new_from_slices(&content_key, iv)
                .map_err(key_err)?
                .decrypt_padded_vec_mut::<Pkcs7>(&ct)
                .map_err(pad_err)
        }
        o if o == OID_AES128_CBC => {
            cbc::Decryptor::<aes::Aes128>::new_from_slices(&content_key, iv)
                .map_err(key_err)?
                .decrypt_padded_vec_mut::<Pkcs7>(&ct)
                .map_err(pad_err)
        }
        _ => Err("unsupported content cipher (hiera-eyaml writes AES-CBC)".into()),
    }
}

/// Replaces every `ENC[PKCS7,...]` in `text` by its plain text; the result loses one trailing
/// newline, as hiera-eyaml's `chomp` does.
pub fn decrypt_text(private_key_pem: &str, text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("ENC[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let end = after.find(']').ok_or("unterminated ENC[...] block")?;
        let inner = &after[..end];
        let (scheme, payload) = inner
            .split_once(',')
            .ok_or("ENC[...] without an encryption scheme")?;
        if scheme != "PKCS7" {
            return Err(format!(
                "encryption scheme '{scheme}' is not supported (only PKCS7)"
            ));
        }
        let der =
            troupe_values::value::base64_decode(payload, false).ok_or("bad base64 in ENC[...]")?;
        let plain = decrypt_pkcs7(private_key_pem, &der)?;
        out.push_str(&String::from_utf8_lossy(&plain));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if out.ends_with("\r\n") {
        out.truncate(out.len() - 2);
    } else if out.ends_with('\n') || out.ends_with('\r') {
        out.pop();
    }
    Ok(out)
}
