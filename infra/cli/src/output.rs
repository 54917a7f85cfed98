//! Printing results as JSON (for scripts) or as an aligned table (for people).

use serde_json::Value;

/// The `--output` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// The JSON the stack answered (one document, or one line per event for `tail`).
    Json,
}

/// Prints `value` as JSON, or the rows of `columns` (`(header, JSON pointer)`) of each item of
/// `rows` (a single object counts as one row) as a table.
pub fn print(format: Format, value: &Value, columns: &[(&str, &str)]) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value).unwrap_or_default()),
        Format::Table => {
            let rows: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| columns.iter().map(|(_, pointer)| cell(row.pointer(pointer))).collect())
                .collect();
            table(&columns.iter().map(|(h, _)| *h).collect::<Vec<_>>(), &cells);
        }
    }
}

/// Prints `rows` under `headers`, each column as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A JSON value as a table cell: strings bare, arrays joined, nothing as `-`, long text cut.
fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items.iter().map(|v| cell(Some(v))).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    };
    let flat = text.replace('\n', " ");
    if flat.chars().count() > 60 { format!("{}…", flat.chars().take(59).collect::<String>()) } else { flat }
}
