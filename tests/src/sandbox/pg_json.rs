//! PostgreSQL values (in their text form) turned into JSON the way node-postgres turns them
//! into JavaScript values, since the backend answers with `JSON.stringify` of those.
//!
//! Integers that fit a double (`int2`, `int4`, `oid`) and floats are numbers; `int8`,
//! `numeric` and `money` stay strings digit for digit; `bool` is a boolean; `json`/`jsonb`
//! are parsed (key order and number text kept); timestamps and dates become ISO-8601 UTC
//! strings with milliseconds; `interval` an object of its non-zero parts; `bytea` a Node
//! `Buffer` object; the arrays node-postgres knows become JSON arrays; anything else stays
//! the text PostgreSQL sent.
//!
//! The session must use `TimeZone=UTC`, `DateStyle=ISO`, `IntervalStyle=postgres` and
//! `bytea_output=hex` (the sandbox's connections do), like a backend running in UTC.

use serde_json::{Map, Number, Value};

/// Type OIDs the conversion cares about.
pub mod oid {
    #![allow(missing_docs)]
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const POINT: u32 = 600;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const CIRCLE: u32 = 718;
    pub const DATE: u32 = 1082;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const JSONB: u32 = 3802;
}

/// How the elements of an array type are converted.
#[derive(Clone, Copy)]
enum Element {
    Bool,
    Bytea,
    Int,
    BigInt,
    Float,
    Text,
    Date,
    Interval,
    Json,
    Point,
}

/// The array types node-postgres parses, and how it parses their elements. Others stay
/// text, which is why `name[]` columns (such as `pg_policies.roles`) arrive as `"{a,b}"`.
fn array_element(type_oid: u32) -> Option<Element> {
    Some(match type_oid {
        1000 => Element::Bool,
        1001 => Element::Bytea,
        1005 | 1007 | 1028 => Element::Int,
        1016 => Element::BigInt,
        1017 => Element::Point,
        // node-postgres parses numeric[] elements as floats, unlike a numeric column.
        1021 | 1022 | 1231 => Element::Float,
        651 | 791 | 1008 | 1009 | 1014 | 1015 | 1040 | 1041 | 1183 | 1270 | 2951 | 3907 => {
            Element::Text
        }
        1115 | 1182 | 1185 => Element::Date,
        1187 => Element::Interval,
        199 | 3807 => Element::Json,
        _ => return None,
    })
}

/// Converts one value; `None` is SQL NULL.
pub fn to_json(type_oid: u32, text: Option<&str>) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    match type_oid {
        oid::BOOL => Value::Bool(text == "t" || text == "true"),
        oid::INT2 | oid::INT4 | oid::OID => int(text),
        oid::FLOAT4 | oid::FLOAT8 => float(text),
        oid::JSON | oid::JSONB => json(text),
        oid::DATE | oid::TIMESTAMP | oid::TIMESTAMPTZ => date(text),
        oid::INTERVAL => interval(text),
        oid::BYTEA => bytea(text),
        oid::POINT => point(text),
        oid::CIRCLE => circle(text),
        _ => match array_element(type_oid) {
            Some(element) => match parse_array(text) {
                Some(items) => convert_array(&items, element),
                None => Value::String(text.to_owned()),
            },
            None => Value::String(text.to_owned()),
        },
    }
}

fn convert_element(element: Element, text: &str) -> Value {
    match element {
        Element::Bool => Value::Bool(text == "t" || text == "true"),
        Element::Bytea => bytea(text),
        Element::Int => int(text),
        Element::BigInt | Element::Text => Value::String(text.to_owned()),
        Element::Float => float(text),
        Element::Date => date(text),
        Element::Interval => interval(text),
        Element::Json => json(text),
        Element::Point => point(text),
    }
}

fn convert_array(items: &[ArrayItem], element: Element) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| match item {
                ArrayItem::Null => Value::Null,
                ArrayItem::Text(text) => convert_element(element, text),
                ArrayItem::Nested(inner) => convert_array(inner, element),
            })
            .collect(),
    )
}

/// `parseInt`: the leading integer, or null (JavaScript's `NaN`) when there is none.
fn int(text: &str) -> Value {
    text.trim()
        .parse::<i64>()
        .map(|n| Value::Number(n.into()))
        .unwrap_or(Value::Null)
}

/// `parseFloat`, printed as JavaScript prints numbers; NaN and infinities become null, as
/// `JSON.stringify` makes them.
fn float(text: &str) -> Value {
    match text.trim().parse::<f64>() {
        Ok(x) => js_number(x),
        Err(_) => Value::Null,
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A JSON number written the way JavaScript's `Number.prototype.toString` writes `x`.
pub fn js_number(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let text = js_number_text(x);
    serde_json::from_str::<Number>(&text)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// JavaScript's number-to-string: shortest round-trip digits, plain notation for
/// 1e-7 <= |x| < 1e21, exponent notation (`1e+21`, `1.5e-7`) outside.
pub fn js_number_text(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i64;
    let n = exponent + 1;
    let sign = if x < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        if k == 1 {
            format!("{digits}e{e_sign}{}", e.abs())
        } else {
            format!("{}.{}e{e_sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    };
    format!("{sign}{body}")
}

/// A date or timestamp as `Date.prototype.toJSON` prints it, in UTC with milliseconds
/// (digits past the millisecond are cut, as JavaScript's `Date` cuts them).
fn date(text: &str) -> Value {
    match parse_timestamp(text) {
        Some(ms) => Value::String(iso_from_millis(ms)),
        // `infinity` and the like: node-postgres yields a non-date, printed as null.
        None => Value::Null,
    }
}

/// Milliseconds since the Unix epoch for `YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]][ BC]`.
fn parse_timestamp(text: &str) -> Option<i64> {
    let (text, bc) = match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let (date_part, rest) = match text.split_once(' ').or_else(|| text.split_once('T')) {
        Some((date, rest)) => (date, rest),
        None => (text, ""),
    };
    let mut fields = date_part.splitn(3, '-');
    let mut year: i64 = fields.next()?.parse().ok()?;
    let month: i64 = fields.next()?.parse().ok()?;
    let day: i64 = fields.next()?.parse().ok()?;
    if bc {
        year = 1 - year;
    }
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if rest.is_empty() {
        return Some(millis);
    }
    let offset_at = rest.find(['+', '-', 'Z']);
    let (time, offset) = match offset_at {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    };
    let mut parts = time.splitn(3, ':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds_text = parts.next().unwrap_or("0");
    let (whole, fraction) = seconds_text.split_once('.').unwrap_or((seconds_text, ""));
    let seconds: i64 = whole.parse().ok()?;
    let mut fraction_ms = 0;
    for (i, digit) in fraction.chars().take(3).enumerate() {
        fraction_ms += i64::from(digit.to_digit(10)?) * [100, 10, 1][i];
    }
    millis += ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction_ms;
    if !offset.is_empty() && offset != "Z" {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let mut units = offset[1..].split(':');
        let oh: i64 = units.next().unwrap_or("0").parse().ok()?;
        let om: i64 = units.next().unwrap_or("0").parse().ok()?;
        let os: i64 = units.next().unwrap_or("0").parse().ok()?;
        millis -= sign * ((oh * 60 + om) * 60 + os) * 1000;
    }
    Some(millis)
}

/// `Date.prototype.toISOString` for a millisecond timestamp.
pub fn iso_from_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let year_text = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    format!(
        "{year_text}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An interval in PostgreSQL's own style, as node-postgres's interval object serialises:
/// only the non-zero parts, in the order years, months, days, hours, minutes, seconds,
/// milliseconds (the last may carry microseconds as a fraction).
fn interval(text: &str) -> Value {
    let mut out = Map::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word.contains(':') {
            let negative = word.starts_with('-');
            let clock = word.trim_start_matches(['-', '+']);
            let mut parts = clock.splitn(3, ':');
            let hours: i64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let minutes: i64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let seconds_text = parts.next().unwrap_or("0");
            let (whole, fraction) = seconds_text.split_once('.').unwrap_or((seconds_text, ""));
            let seconds: i64 = whole.parse().unwrap_or(0);
            let sign = if negative { -1 } else { 1 };
            for (key, value) in [("hours", hours), ("minutes", minutes), ("seconds", seconds)] {
                if value != 0 {
                    out.insert(key.to_owned(), Value::Number((sign * value).into()));
                }
            }
            let micros: i64 = format!("{fraction:0<6}")[..6].parse().unwrap_or(0);
            if micros != 0 {
                out.insert(
                    "milliseconds".to_owned(),
                    js_number(sign as f64 * micros as f64 / 1000.0),
                );
            }
            continue;
        }
        let Ok(amount) = word.parse::<i64>() else {
            continue;
        };
        let unit = words.next().unwrap_or("");
        let key = if unit.starts_with("year") {
            "years"
        } else if unit.starts_with("mon") {
            "months"
        } else if unit.starts_with("day") {
            "days"
        } else {
            continue;
        };
        if amount != 0 {
            out.insert(key.to_owned(), Value::Number(amount.into()));
        }
    }
    // Keep the documented key order even though the clock part is read last.
    let order = [
        "years",
        "months",
        "days",
        "hours",
        "minutes",
        "seconds",
        "milliseconds",
    ];
    let mut ordered = Map::new();
    for key in order {
        if let Some(value) = out.remove(key) {
            ordered.insert(key.to_owned(), value);
        }
    }
    Value::Object(ordered)
}

/// A Node `Buffer` as `JSON.stringify` prints it: `{"type":"Buffer","data":[..bytes]}`.
fn bytea(text: &str) -> Value {
    let bytes: Vec<Value> = match text.strip_prefix("\\x") {
        Some(hex) => hex
            .as_bytes()
            .chunks(2)
            .filter_map(|pair| std::str::from_utf8(pair).ok())
            .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
            .map(|byte| Value::Number(byte.into()))
            .collect(),
        None => text
            .bytes()
            .map(|byte| Value::Number(byte.into()))
            .collect(),
    };
    let mut out = Map::new();
    out.insert("type".to_owned(), Value::String("Buffer".to_owned()));
    out.insert("data".to_owned(), Value::Array(bytes));
    Value::Object(out)
}

fn numbers_in(text: &str) -> Vec<f64> {
    text.split(['(', ')', '<', '>', ','])
        .filter(|part| !part.trim().is_empty())
        .filter_map(|part| part.trim().parse().ok())
        .collect()
}

fn point(text: &str) -> Value {
    match numbers_in(text)[..] {
        [x, y] => serde_json::json!({ "x": js_number(x), "y": js_number(y) }),
        _ => Value::String(text.to_owned()),
    }
}

fn circle(text: &str) -> Value {
    match numbers_in(text)[..] {
        [x, y, radius] => {
            serde_json::json!({ "x": js_number(x), "y": js_number(y), "radius": js_number(radius) })
        }
        _ => Value::String(text.to_owned()),
    }
}

/// One element of a parsed array literal.
#[derive(Debug, PartialEq)]
enum ArrayItem {
    Null,
    Text(String),
    Nested(Vec<ArrayItem>),
}

/// Parses an array literal such as `{1,NULL,"a \"b\""}` or `[0:1]={{1,2},{3,4}}`.
fn parse_array(text: &str) -> Option<Vec<ArrayItem>> {
    let text = match text.find('=') {
        Some(at) if text.starts_with('[') => &text[at + 1..],
        _ => text,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let items = parse_array_level(&chars, &mut pos)?;
    Some(items)
}

fn parse_array_level(chars: &[char], pos: &mut usize) -> Option<Vec<ArrayItem>> {
    if chars.get(*pos) != Some(&'{') {
        return None;
    }
    *pos += 1;
    let mut items = Vec::new();
    if chars.get(*pos) == Some(&'}') {
        *pos += 1;
        return Some(items);
    }
    loop {
        match chars.get(*pos)? {
            '{' => items.push(ArrayItem::Nested(parse_array_level(chars, pos)?)),
            '"' => {
                *pos += 1;
                let mut value = String::new();
                loop {
                    match chars.get(*pos)? {
                        '\\' => {
                            value.push(*chars.get(*pos + 1)?);
                            *pos += 2;
                        }
                        '"' => {
                            *pos += 1;
                            break;
                        }
                        c => {
                            value.push(*c);
                            *pos += 1;
                        }
                    }
                }
                items.push(ArrayItem::Text(value));
            }
            _ => {
                let start = *pos;
                while !matches!(chars.get(*pos)?, ',' | '}') {
                    *pos += 1;
                }
                let raw: String = chars[start..*pos].iter().collect();
                let raw = raw.trim();
                items.push(if raw == "NULL" {
                    ArrayItem::Null
                } else {
                    ArrayItem::Text(raw.to_owned())
                });
            }
        }
        match chars.get(*pos)? {
            ',' => *pos += 1,
            '}' => {
                *pos += 1;
                return Some(items);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: Value) -> String {
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn scalars_follow_node_postgres() {
        assert_eq!(to_json(oid::INT4, Some("42")), json!(42));
        assert_eq!(
            to_json(oid::INT8, Some("9007199254740993")),
            json!("9007199254740993")
        );
        assert_eq!(to_json(1700, Some("12.50")), json!("12.50"));
        assert_eq!(to_json(oid::BOOL, Some("f")), json!(false));
        assert_eq!(to_json(oid::TEXT, None), Value::Null);
        assert_eq!(to_json(oid::TEXT, Some("")), json!(""));
        assert_eq!(
            to_json(2950, Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
    }

    #[test]
    fn floats_print_like_javascript() {
        assert_eq!(js_number_text(0.1), "0.1");
        assert_eq!(js_number_text(1.5), "1.5");
        assert_eq!(js_number_text(100.0), "100");
        assert_eq!(js_number_text(-2.0), "-2");
        assert_eq!(js_number_text(1e21), "1e+21");
        assert_eq!(js_number_text(1e20), "100000000000000000000");
        assert_eq!(js_number_text(1.5e-7), "1.5e-7");
        assert_eq!(js_number_text(0.000001), "0.000001");
        assert_eq!(js_number_text(123456.789), "123456.789");
        assert_eq!(to_json(oid::FLOAT8, Some("NaN")), Value::Null);
        assert_eq!(text(to_json(oid::FLOAT4, Some("3.25"))), "3.25");
    }

    #[test]
    fn json_keeps_order_and_number_text() {
        let value = to_json(
            oid::JSONB,
            Some(r#"{"b": 1.50, "a": [12345678901234567890]}"#),
        );
        assert_eq!(text(value), r#"{"b":1.50,"a":[12345678901234567890]}"#);
    }

    #[test]
    fn timestamps_become_iso_utc_with_millis() {
        assert_eq!(
            to_json(oid::TIMESTAMPTZ, Some("2025-06-01 10:00:00+00")),
            json!("2025-06-01T10:00:00.000Z")
        );
        assert_eq!(
            to_json(oid::TIMESTAMPTZ, Some("2025-06-01 10:00:00.123456+02")),
            json!("2025-06-01T08:00:00.123Z")
        );
        assert_eq!(
            to_json(oid::TIMESTAMPTZ, Some("2025-01-01 00:30:00-05:30")),
            json!("2025-01-01T06:00:00.000Z")
        );
        assert_eq!(
            to_json(oid::TIMESTAMP, Some("1999-12-31 23:59:59.9")),
            json!("1999-12-31T23:59:59.900Z")
        );
        assert_eq!(
            to_json(oid::DATE, Some("2024-02-29")),
            json!("2024-02-29T00:00:00.000Z")
        );
        assert_eq!(to_json(oid::TIMESTAMPTZ, Some("infinity")), Value::Null);
        assert_eq!(
            to_json(oid::DATE, Some("0001-01-01 BC")),
            json!("0000-01-01T00:00:00.000Z")
        );
    }

    #[test]
    fn intervals_keep_non_zero_parts() {
        assert_eq!(
            text(to_json(
                oid::INTERVAL,
                Some("1 year 2 mons 3 days 04:05:06.789")
            )),
            r#"{"years":1,"months":2,"days":3,"hours":4,"minutes":5,"seconds":6,"milliseconds":789}"#
        );
        assert_eq!(
            text(to_json(oid::INTERVAL, Some("-1 days -02:00:00"))),
            r#"{"days":-1,"hours":-2}"#
        );
        assert_eq!(text(to_json(oid::INTERVAL, Some("00:00:00"))), "{}");
        assert_eq!(
            text(to_json(oid::INTERVAL, Some("00:00:00.0015"))),
            r#"{"milliseconds":1.5}"#
        );
    }

    #[test]
    fn arrays_and_others() {
        assert_eq!(to_json(1007, Some("{1,NULL,3}")), json!([1, null, 3]));
        assert_eq!(to_json(1016, Some("{1,2}")), json!(["1", "2"]));
        assert_eq!(
            to_json(1009, Some(r#"{"a b","c\"d",NULL,"NULL"}"#)),
            json!(["a b", "c\"d", null, "NULL"])
        );
        assert_eq!(
            to_json(1007, Some("{{1,2},{3,4}}")),
            json!([[1, 2], [3, 4]])
        );
        assert_eq!(to_json(1007, Some("[0:1]={5,6}")), json!([5, 6]));
        assert_eq!(to_json(1007, Some("{}")), json!([]));
        // name[] is not one of node-postgres's array types: it stays a string.
        assert_eq!(
            to_json(1003, Some("{anon,authenticated}")),
            json!("{anon,authenticated}")
        );
        assert_eq!(
            to_json(oid::BYTEA, Some("\\x00ff")),
            json!({"type": "Buffer", "data": [0, 255]})
        );
        assert_eq!(
            text(to_json(oid::POINT, Some("(1,2.5)"))),
            r#"{"x":1,"y":2.5}"#
        );
    }
}
