//! Standard base64 decoding (RFC 4648, with padding), just enough to read an
//! HTTP Basic `Authorization` header without another dependency.

fn sextet(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Decodes padded standard base64; `None` for anything malformed.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.trim().as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.chunks(4).collect::<Vec<_>>();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let padding = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return None;
        }
        let mut group = 0_u32;
        for &c in &chunk[..4 - padding] {
            group = (group << 6) | sextet(c)?;
        }
        group <<= 6 * padding;
        let decoded = [(group >> 16) as u8, (group >> 8) as u8, group as u8];
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_with_and_without_padding() {
        assert_eq!(
            decode("ZmluYW5jZTpmaW5hbmNlLXNlY3JldA==").unwrap(),
            b"finance:finance-secret"
        );
        assert_eq!(decode("YWJj").unwrap(), b"abc");
        assert_eq!(decode("YWI=").unwrap(), b"ab");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(decode("YWJ"), None);
        assert_eq!(decode("YW=j"), None);
        assert_eq!(decode("Y===",), None);
        assert_eq!(decode("YW!j"), None);
    }
}
