//! Writing a log to a file as plain text or CSV, off the UI thread.

use std::io::{self, Write};
use std::path::Path;

use super::format;
use super::log::{Direction, LogRow};
use crate::payload::{TextEncoding, hex_dump};

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

/// Writes every row: time, direction, peer, size, text (in `encoding`, escaped) and hex.
pub fn write_log<'a>(
    rows: impl IntoIterator<Item = LogRow<'a>>,
    out: &mut impl Write,
    format: ExportFormat,
    encoding: TextEncoding,
) -> io::Result<()> {
    if format == ExportFormat::Csv {
        writeln!(out, "time,direction,peer,bytes,text,hex")?;
    }
    for row in rows {
        let time = row.time.format("%Y-%m-%d ").to_string() + &format::clock(&row.time);
        let peer = row.peer.map_or_else(String::new, |p| p.to_string());
        let (size, text, hex) = if row.direction == Direction::System {
            (
                String::new(),
                String::from_utf8_lossy(row.data).into_owned(),
                String::new(),
            )
        } else {
            (
                row.data.len().to_string(),
                encoding.decode_for_display(row.data),
                hex_dump(row.data),
            )
        };
        match format {
            ExportFormat::Text => {
                let direction = format!("{:<5}", row.direction.label());
                let fields = [time.as_str(), &direction, &peer, &size, &text];
                let line: Vec<&str> = fields.into_iter().filter(|f| !f.is_empty()).collect();
                writeln!(out, "{}", line.join(" "))?
            }
            ExportFormat::Csv => writeln!(
                out,
                "{time},{},{peer},{size},{},{hex}",
                row.direction.label(),
                csv_field(&text)
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
            },
            LogRow {
                time,
                direction: Direction::System,
                peer: None,
                data: b"listening",
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
