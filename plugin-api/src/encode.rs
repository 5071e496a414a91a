//! Building request paths.

/// Percent-encodes a path segment the way JavaScript's `encodeURIComponent` does: everything
/// except ASCII letters, digits and `-_.!~*'()`, byte by byte in UTF-8, with upper-case hex.
pub fn encode_component(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_component("post_count"), "post_count");
        assert_eq!(encode_component("A-z.0_9!~*'()"), "A-z.0_9!~*'()");
        assert_eq!(encode_component("my fn/x?y#z"), "my%20fn%2Fx%3Fy%23z");
        assert_eq!(encode_component("a\"b%c&d=e+f"), "a%22b%25c%26d%3De%2Bf");
        assert_eq!(encode_component("zählen"), "z%C3%A4hlen");
        assert_eq!(encode_component("😀"), "%F0%9F%98%80");
        assert_eq!(encode_component(""), "");
    }
}
