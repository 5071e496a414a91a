//! Percent-decoding of path segments and query strings, done by hand so that malformed
//! input can be answered the way the backend answers it.

/// Decodes `%XX` sequences; `None` when one is malformed or the result is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `name=value` pairs of a query string, form-decoded (`+` is a space); malformed
/// escapes are kept as they are.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let decode = |part: &str| {
        let part = part.replace('+', " ");
        percent_decode(&part).unwrap_or(part)
    };
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (decode(name), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// The first value of a query parameter.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    first_value(&query_pairs(query), name).map(str::to_owned)
}

/// The first value of `name` among pairs from [`query_pairs`].
pub(crate) fn first_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("%ZZ"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(
            query_pairs(Some("a=1&b=x+y&c&d=%41")),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new()),
                ("d".into(), "A".into())
            ]
        );
        assert_eq!(
            query_param(Some("schema=auth&schema=x"), "schema").as_deref(),
            Some("auth")
        );
    }
}
