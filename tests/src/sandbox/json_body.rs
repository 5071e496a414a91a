//! Checks a request body sent as `application/json` the way the backend's body parser
//! does (strict: only an object or an array), and words failures as Node's `JSON.parse`
//! does, since the backend forwards that text as the error message.

/// `Ok` when the body parses; otherwise the parser's message.
pub(crate) fn check(body: &str) -> Result<(), String> {
    let chars: Vec<char> = body.chars().collect();
    if chars.is_empty() {
        return Ok(());
    }
    let first = chars.iter().position(|c| !is_ws(*c));
    match first {
        // Whitespace only: the parser sees no value at all.
        None => Err("Unexpected end of JSON input".to_owned()),
        Some(index) if chars[index] != '{' && chars[index] != '[' => {
            Err(unexpected_token(&chars, index))
        }
        Some(_) => Parser {
            chars: &chars,
            pos: 0,
        }
        .document(),
    }
}

/// The request body as the backend's handlers see it: the parsed JSON when the request was
/// sent as JSON, otherwise an empty object.
pub(crate) fn request_json(headers: &axum::http::HeaderMap, body: &[u8]) -> serde_json::Value {
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if !is_json || body.is_empty() {
        return serde_json::Value::Object(serde_json::Map::new());
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()))
}

/// The type name a schema validator reports for a JSON value (`received <name>`).
pub(crate) fn type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Whether the body parser treats the request as JSON (`application/json`, any parameters).
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// V8's "Unexpected token" message, with the source (or up to ten characters each side of
/// the error) quoted.
fn unexpected_token(chars: &[char], pos: usize) -> String {
    const CONTEXT: usize = 10;
    let token = chars[pos];
    let len = chars.len();
    let text = |from: usize, to: usize| chars[from..to.min(len)].iter().collect::<String>();
    if len <= CONTEXT * 2 + 1 {
        format!(
            "Unexpected token '{token}', \"{}\" is not valid JSON",
            text(0, len)
        )
    } else if pos < CONTEXT {
        format!(
            "Unexpected token '{token}', \"{}\"... is not valid JSON",
            text(0, pos + CONTEXT)
        )
    } else if pos < len - CONTEXT {
        format!(
            "Unexpected token '{token}', ...\"{}\"... is not valid JSON",
            text(pos - CONTEXT, pos + CONTEXT)
        )
    } else {
        format!(
            "Unexpected token '{token}', ...\"{}\" is not valid JSON",
            text(pos - CONTEXT, len)
        )
    }
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

impl Parser<'_> {
    fn document(mut self) -> Result<(), String> {
        self.value()?;
        self.skip_ws();
        if self.pos < self.chars.len() {
            return Err(format!(
                "Unexpected non-whitespace character after JSON at position {}",
                self.pos
            ));
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && is_ws(self.chars[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// The error for the token at the current position: end of input, a number or a string
    /// get their own words; anything else gets `specific` or the generic token message.
    fn error(&self, specific: Option<&str>) -> String {
        match self.peek() {
            None => "Unexpected end of JSON input".to_owned(),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                format!("Unexpected number in JSON at position {}", self.pos)
            }
            Some('"') => format!("Unexpected string in JSON at position {}", self.pos),
            Some(_) => match specific {
                Some(message) => format!("{message} in JSON at position {}", self.pos),
                None => unexpected_token(self.chars, self.pos),
            },
        }
    }

    fn value(&mut self) -> Result<(), String> {
        self.skip_ws();
        match self.peek() {
            Some('{') => self.object(),
            Some('[') => self.array(),
            Some('"') => self.string(),
            Some('t') => self.literal("true"),
            Some('f') => self.literal("false"),
            Some('n') => self.literal("null"),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ => Err(self.error(None)),
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Ok(());
        }
        let mut expectation = "Expected property name or '}'";
        loop {
            self.skip_ws();
            if self.peek() != Some('"') {
                return Err(self.error_with_string_allowed(expectation));
            }
            self.string()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.error(Some("Expected ':' after property name")));
            }
            self.pos += 1;
            self.value()?;
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    expectation = "Expected double-quoted property name";
                }
                Some('}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error(Some("Expected ',' or '}' after property value"))),
            }
        }
    }

    /// Like [`Self::error`], for a position where a string was expected (so a string
    /// cannot be what is wrong there).
    fn error_with_string_allowed(&self, specific: &str) -> String {
        self.error(Some(specific))
    }

    fn array(&mut self) -> Result<(), String> {
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error(Some("Expected ',' or ']' after array element"))),
            }
        }
    }

    fn string(&mut self) -> Result<(), String> {
        self.pos += 1;
        loop {
            let Some(c) = self.peek() else {
                return Err(format!(
                    "Unterminated string in JSON at position {}",
                    self.pos
                ));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(());
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => self.pos += 1,
                        Some('u') => {
                            for _ in 0..4 {
                                self.pos += 1;
                                match self.peek() {
                                    Some(h) if h.is_ascii_hexdigit() => {}
                                    None => {
                                        return Err(format!(
                                            "Unterminated string in JSON at position {}",
                                            self.pos
                                        ))
                                    }
                                    Some(_) => {
                                        return Err(format!(
                                            "Bad Unicode escape in JSON at position {}",
                                            self.pos
                                        ))
                                    }
                                }
                            }
                            self.pos += 1;
                        }
                        None => {
                            return Err(format!(
                                "Unterminated string in JSON at position {}",
                                self.pos
                            ))
                        }
                        Some(_) => {
                            return Err(format!(
                                "Bad escaped character in JSON at position {}",
                                self.pos
                            ))
                        }
                    }
                }
                c if (c as u32) < 0x20 => {
                    return Err(format!(
                        "Bad control character in string literal in JSON at position {}",
                        self.pos
                    ))
                }
                _ => self.pos += 1,
            }
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        for expected in word.chars() {
            if self.peek() != Some(expected) {
                return Err(match self.peek() {
                    None => "Unexpected end of JSON input".to_owned(),
                    Some(_) => unexpected_token(self.chars, self.pos),
                });
            }
            self.pos += 1;
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some('-') {
            self.pos += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "No number after minus sign in JSON at position {}",
                    self.pos
                ));
            }
        }
        if self.peek() == Some('0') {
            self.pos += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some('.') {
            self.pos += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "Unterminated fractional number in JSON at position {}",
                    self.pos
                ));
            }
            self.digits();
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "Exponent part is missing a number in JSON at position {}",
                    self.pos
                ));
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_json_documents_and_empty_bodies() {
        assert_eq!(check(""), Ok(()));
        assert_eq!(
            check(r#" {"a": [1, -2.5e3, true, null, "x\u00e9\n"]} "#),
            Ok(())
        );
        assert_eq!(check("[]"), Ok(()));
    }

    #[test]
    fn words_errors_like_node() {
        let err = |s: &str| check(s).unwrap_err();
        assert_eq!(
            err("{x"),
            "Expected property name or '}' in JSON at position 1"
        );
        assert_eq!(err("{\"a\":1"), "Unexpected end of JSON input");
        assert_eq!(
            err("{\"a\":1 x"),
            "Expected ',' or '}' after property value in JSON at position 7"
        );
        assert_eq!(err("{\"a\" 1}"), "Unexpected number in JSON at position 5");
        assert_eq!(err("[1 2]"), "Unexpected number in JSON at position 3");
        assert_eq!(
            err("[1,]"),
            "Unexpected token ']', \"[1,]\" is not valid JSON"
        );
        assert_eq!(
            err("{} x"),
            "Unexpected non-whitespace character after JSON at position 3"
        );
        assert_eq!(err("42"), "Unexpected token '4', \"42\" is not valid JSON");
        assert_eq!(err("   "), "Unexpected end of JSON input");
        assert_eq!(err("[\"abc"), "Unterminated string in JSON at position 5");
        assert_eq!(
            err("{\"query\": \"select 1\", oops}"),
            "Expected double-quoted property name in JSON at position 22"
        );
        assert_eq!(
            err("[1, 2, 3, 4, 5, 6, 7, x, 8, 9, 10, 11]"),
            "Unexpected token 'x', ...\" 5, 6, 7, x, 8, 9, 1\"... is not valid JSON"
        );
    }
}
