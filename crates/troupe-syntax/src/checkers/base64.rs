//! The `base64` heredoc checker: Ruby's `Base64.strict_decode64` of the text without line
//! breaks and blanks, and Puppet's two messages for text it refuses.

/// Puppet's message when `text` is not strict Base64.
pub(super) fn check(text: &str) -> Option<String> {
    let cleaned: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n' | b'?' | b' ' | b'\t'))
        .collect();
    if strict(&cleaned) {
        return None;
    }
    Some(if !(cleaned.len() * 8).is_multiple_of(6) {
        "Base64 syntax checker: Cannot parse invalid Base64 string - padding is not correct".into()
    } else {
        "Base64 syntax checker: Cannot parse invalid Base64 string - contains letters outside strict base 64 range (or whitespace)".into()
    })
}

/// RFC 4648 Base64 with padding, nothing else (Ruby's `strict_decode64`).
fn strict(b: &[u8]) -> bool {
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let alpha = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    if pad > 2 {
        return false;
    }
    let body = &b[..b.len() - pad];
    if !body.iter().all(|c| alpha(*c)) {
        return false;
    }
    // The bits a padded group leaves over must be zero.
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    match (pad, body.last()) {
        (1, Some(c)) => value(*c) & 0b11 == 0,
        (2, Some(c)) => value(*c) & 0b1111 == 0,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn strict_base64() {
        assert_eq!(check("dGhlIHF1aWNrIHJlZCBmb3g=\n"), None);
        let padding = check("dGhlIHF1aWNrIHJlZCBmb3g").unwrap_or_default();
        assert!(padding.contains("padding is not correct"), "{padding}");
        let letters = check("dGhl*HF1dGhl").unwrap_or_default();
        assert!(letters.contains("outside strict"), "{letters}");
        assert_eq!(check(""), None);
    }
}
