//! `db rpc`: calls a database function through the backend's REST proxy and prints its result.

use insforge_plugin_api::prelude::*;

pub(crate) fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()> {
    let function = invocation.str("function").unwrap_or_default();
    let path = format!(
        "/api/database/rpc/{}",
        insforge_plugin_api::encode_component(function)
    );
    let request = match arguments(invocation.str("data"))? {
        None => Request::backend("GET", &path),
        Some(arguments) => Request::backend("POST", &path).json(&arguments),
    };
    let response = cx.send(request)?.error_for_status()?;

    // The result is data whatever the mode, so both modes print it as JSON.
    match result_json(&response.body) {
        Some(text) => cx.json_text(text),
        None => cx.json(&Value::String(response.text())),
    }
}

/// The function's arguments: none (a GET) when `--data` is absent or blank, otherwise the JSON,
/// which is re-serialised compactly (key order and number digits kept). `--data '{}'` is a POST
/// with an empty object, not a GET.
fn arguments(data: Option<&str>) -> Result<Option<Value>> {
    match data {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| Error::usage(format!("--data is not valid JSON: {e}"))),
    }
}

/// The body as JSON text to print: an empty body (a function returning void) is `null`. `None`
/// when the body is not JSON, so the caller prints it as a JSON string instead.
fn result_json(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    if text.trim().is_empty() {
        return Some("null");
    }
    serde_json::from_str::<Value>(text).is_ok().then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_data_means_no_arguments_and_json_is_kept_compactly() {
        assert!(arguments(None).unwrap().is_none());
        assert!(arguments(Some("")).unwrap().is_none());
        assert!(arguments(Some("  ")).unwrap().is_none());
        assert_eq!(arguments(Some(" { } ")).unwrap(), Some(json!({})));
        let value = arguments(Some(r#"{ "b": 1.50, "a": [ 1 ] }"#))
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"b":1.50,"a":[1]}"#
        );
    }

    #[test]
    fn bad_data_is_a_usage_error() {
        let err = arguments(Some("{a:1}")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.message().starts_with("--data is not valid JSON"));
    }

    #[test]
    fn results_print_as_json() {
        assert_eq!(result_json(b"42"), Some("42"));
        assert_eq!(result_json(b"[{\"a\":1}]"), Some("[{\"a\":1}]"));
        assert_eq!(result_json(b""), Some("null"));
        assert_eq!(result_json(b"plain text"), None);
    }
}
