//! Save log: a log's rows written to a file as plain text or CSV. Pure writing to any
//! `Write`, so the window can run it on a background thread over a log snapshot.

use std::io::{self, Write};
use std::path::Path;

use super::log::LogRow;
use super::persist::DisplayMode;
use super::row_text;
use crate::payload::TextEncoding;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Text,
    Csv,
}

impl ExportFormat {
    /// CSV for a `.csv` file, plain text otherwise.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => ExportFormat::Csv,
            _ => ExportFormat::Text,
        }
    }
}

/// Writes every row: time, direction, peer, size, text (in `encoding`, escaped) and, in
/// CSV, hex (text files add a received message's note, e.g. `[checksum WRONG]`); each row rendered by [`row_text::cells`] as the log view renders it, uncut.
pub fn write_log<'a>(
    rows: impl IntoIterator<Item = LogRow<'a>>,
    out: &mut impl Write,
    format: ExportFormat,
    encoding: TextEncoding,
) -> io::Result<()> {
    if format == ExportFormat::Csv {
        writeln!(out, "time,direction,peer,bytes,text,hex")?;
    }
    let mode = match format {
        ExportFormat::Text => DisplayMode::Text,
        ExportFormat::Csv => DisplayMode::Both,
    };
    for row in rows {
        let cells = row_text::cells(&row, mode, encoding, usize::MAX);
        // The file may span days: the date goes before the time of day.
        let time = row.time.format("%Y-%m-%d ").to_string() + &cells.time;
        match format {
            ExportFormat::Text => {
                let direction = format!("{:<5}", cells.direction);
                let note = if cells.note.is_empty() {
                    String::new()
                } else {
                    format!("[{}]", cells.note)
                };
                let fields = [
                    time.as_str(),
                    &direction,
                    &cells.peer,
                    &cells.size,
                    &cells.text,
                    &note,
                ];
                let line: Vec<&str> = fields.into_iter().filter(|f| !f.is_empty()).collect();
                writeln!(out, "{}", line.join(" "))?
            }
            ExportFormat::Csv => writeln!(
                out,
                "{time},{},{},{},{},{}",
                cells.direction,
                cells.peer,
                cells.size,
                csv_field(&cells.text),
                cells.hex
            )?,
        }
    }
    out.flush()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::log::Direction;
    use chrono::{Local, TimeZone};

    #[test]
    fn writes_text_and_csv_with_escapes_and_quoting() {
        let time = Local.with_ymd_and_hms(2026, 11, 26, 14, 3, 5).unwrap();
        let rows = vec![
            LogRow {
                time,
                direction: Direction::Received,
                peer: Some("127.0.0.1:5000".parse().unwrap()),
                data: b"a,\"b\"\r\n\xff",
                note: Default::default(),
            },
            LogRow {
                time,
                direction: Direction::System,
                peer: None,
                data: b"listening",
                note: Default::default(),
            },
        ];
        let mut text = Vec::new();
        write_log(
            rows.clone(),
            &mut text,
            ExportFormat::Text,
            TextEncoding::Utf8,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "2026-11-26 14:03:05.000 recv  127.0.0.1:5000 8 a,\"b\"\\r\\n\\xff\n2026-11-26 14:03:05.000 info  listening\n"
        );
        let mut csv = Vec::new();
        write_log(rows, &mut csv, ExportFormat::Csv, TextEncoding::Utf8).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            "2026-11-26 14:03:05.000,recv,127.0.0.1:5000,8,\"a,\"\"b\"\"\\r\\n\\xff\",61 2c 22 62 22 0d 0a ff"
        );
        assert_eq!(
            ExportFormat::for_path(Path::new("x.CSV")),
            ExportFormat::Csv
        );
        assert_eq!(
            ExportFormat::for_path(Path::new("x.log")),
            ExportFormat::Text
        );
    }
}
