//! Box-drawn tables, padded by display width so wide characters and emoji stay aligned.

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

const DIM: &str = "\x1b[2m";
const GRAY: &str = "\x1b[90m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// How a table is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colour borders and headers, dim `NULL` cells.
    pub color: bool,
}

/// One cell's text, and whether it stands for SQL NULL (drawn dimmed).
struct Cell {
    lines: Vec<String>,
    null: bool,
}

impl Cell {
    fn from_value(value: Option<&Value>) -> Self {
        let (text, null) = match value {
            None => (String::new(), false),
            Some(Value::Null) => ("NULL".to_owned(), true),
            Some(Value::String(s)) => (s.clone(), false),
            Some(other @ (Value::Array(_) | Value::Object(_))) => (other.to_string(), false),
            Some(other) => (other.to_string(), false),
        };
        Cell {
            lines: text.split('\n').map(sanitize).collect(),
            null,
        }
    }

    fn header(text: &str) -> Self {
        Cell {
            lines: text.split('\n').map(sanitize).collect(),
            null: false,
        }
    }

    fn width(&self) -> usize {
        self.lines.iter().map(|l| l.width()).max().unwrap_or(0)
    }
}

/// Control characters would move the cursor or inject escapes, and bidirectional overrides
/// would reorder what the reader sees; show them as `\u{..}` instead.
pub(crate) fn sanitize(line: &str) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if !line.chars().any(is_unsafe) {
        return line.to_owned();
    }
    line.chars()
        .map(|c| match c {
            '\t' => "    ".to_owned(),
            c if is_unsafe(c) => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Renders a table; every row is a sequence of cells (missing cells are empty).
pub fn render(columns: &[String], rows: &[Vec<Value>], style: Style) -> String {
    let header: Vec<Cell> = columns.iter().map(|c| Cell::header(c)).collect();
    let body: Vec<Vec<Cell>> = rows
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| Cell::from_value(row.get(i)))
                .collect()
        })
        .collect();

    let mut widths: Vec<usize> = header.iter().map(Cell::width).collect();
    for row in &body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }

    let mut out = String::new();
    border(&mut out, &widths, ('┌', '┬', '┐'), style);
    draw_row(&mut out, &header, &widths, style, true);
    for row in &body {
        border(&mut out, &widths, ('├', '┼', '┤'), style);
        draw_row(&mut out, row, &widths, style, false);
    }
    border(&mut out, &widths, ('└', '┴', '┘'), style);
    out
}

fn border(out: &mut String, widths: &[usize], (left, mid, right): (char, char, char), s: Style) {
    let mut line = String::new();
    line.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            line.push(mid);
        }
        line.push_str(&"─".repeat(w + 2));
    }
    line.push(right);
    paint(out, &line, GRAY, s.color);
    out.push('\n');
}

fn draw_row(out: &mut String, cells: &[Cell], widths: &[usize], s: Style, is_header: bool) {
    let height = cells.iter().map(|c| c.lines.len()).max().unwrap_or(1);
    for line_no in 0..height {
        paint(out, "│", GRAY, s.color);
        for (cell, width) in cells.iter().zip(widths) {
            let text = cell.lines.get(line_no).map(String::as_str).unwrap_or("");
            out.push(' ');
            let color = if is_header {
                Some(CYAN)
            } else if cell.null {
                Some(DIM)
            } else {
                None
            };
            match color {
                Some(code) => paint(out, text, code, s.color),
                None => out.push_str(text),
            }
            out.push_str(&" ".repeat(width - text.width() + 1));
            paint(out, "│", GRAY, s.color);
        }
        out.push('\n');
    }
}

fn paint(out: &mut String, text: &str, code: &str, color: bool) {
    if color && !text.is_empty() {
        out.push_str(code);
        out.push_str(text);
        out.push_str(RESET);
    } else {
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(columns: &[&str], rows: Vec<Vec<Value>>) -> String {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        render(&columns, &rows, Style { color: false })
    }

    #[test]
    fn null_reads_null_and_empty_string_stays_empty() {
        let out = plain(
            &["one", "n", "e"],
            vec![vec![json!(1), Value::Null, json!("")]],
        );
        assert_eq!(
            out,
            "┌─────┬──────┬───┐\n\
             │ one │ n    │ e │\n\
             ├─────┼──────┼───┤\n\
             │ 1   │ NULL │   │\n\
             └─────┴──────┴───┘\n"
        );
    }

    #[test]
    fn wide_characters_are_padded_by_display_width() {
        let out = plain(&["name"], vec![vec![json!("日本")], vec![json!("abcdef")]]);
        for line in out.lines() {
            assert_eq!(line.width(), "│ abcdef │".width(), "{line}");
        }
    }

    #[test]
    fn json_cells_are_compact_and_false_and_zero_print_as_themselves() {
        let out = plain(
            &["j", "b", "z"],
            vec![vec![json!({"a": [1, 2]}), json!(false), json!(0)]],
        );
        assert!(out.contains(r#"│ {"a":[1,2]} │ false │ 0 │"#), "{out}");
    }

    #[test]
    fn multi_line_cells_span_several_lines_and_escapes_are_neutralised() {
        let out = plain(&["def"], vec![vec![json!("a\nbb\u{1b}[31m")]]);
        assert!(!out.contains('\u{1b}'));
        assert!(out.contains("│ a "), "{out}");
    }
}
