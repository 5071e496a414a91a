//! Random identifiers (tokens, codes, UUIDs, app keys), timestamps and query encoding for
//! the fake platform.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sandbox::pg_json::iso_from_millis;

/// Letters of user codes: consonants only, so codes spell no words (as RFC 8628 suggests).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const APPKEY_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `N` random bytes from the OS; should that ever fail, from std's randomly keyed hasher
/// (good enough for a test server).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        for chunk in bytes.chunks_mut(8) {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            let value = hasher.finish().to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }
    bytes
}

/// `prefix` followed by 32 random hex digits, e.g. `rt_0a1b...`.
pub(crate) fn token(prefix: &str) -> String {
    let mut out = String::from(prefix);
    for byte in random_bytes::<16>() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A random version-4 UUID in its lower-case hyphenated form.
pub(crate) fn uuid_v4() -> String {
    let mut bytes = random_bytes::<16>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Eight random characters of `alphabet`.
fn pick8(alphabet: &[u8]) -> String {
    random_bytes::<8>()
        .iter()
        .map(|byte| char::from(alphabet[usize::from(*byte) % alphabet.len()]))
        .collect()
}

/// A project app key: eight random lower-case letters and digits.
pub(crate) fn appkey() -> String {
    pick8(APPKEY_ALPHABET)
}

/// A device-flow user code such as `BCDF-GHJK`.
pub(crate) fn user_code() -> String {
    let code = pick8(USER_CODE_ALPHABET);
    format!("{}-{}", &code[..4], &code[4..])
}

/// A user code as typed by a person, reduced for comparison: upper case, no `-` or spaces.
pub(crate) fn normalise_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The current time as ISO-8601 UTC with milliseconds (`2025-06-01T10:00:00.000Z`).
pub(crate) fn now_iso() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso_from_millis(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

/// Form-style query encoding of one name or value: unreserved characters stay, everything
/// else is `%XX`.
pub(crate) fn query_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(uuid_v4(), id);
        let key = appkey();
        assert_eq!(key.len(), 8);
        assert!(key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert_eq!(normalise_user_code(" bcdf-ghjk"), "BCDFGHJK");
        assert!(token("rt_").starts_with("rt_"));
        assert_eq!(token("rt_").len(), 35);
    }

    #[test]
    fn formats_dates() {
        // The sandbox's one calendar conversion (pg_json's), as the platform's timestamps use it.
        assert_eq!(iso_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_from_millis(1_748_772_000_005),
            "2025-06-01T10:00:00.005Z"
        );
        assert_eq!(iso_from_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(now_iso().len(), 24);
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(query_encode("a b/c=d&e~"), "a%20b%2Fc%3Dd%26e~");
        assert_eq!(query_encode("é"), "%C3%A9");
    }
}
