//! How one log row reads as text: the single renderer behind the log view's cells and the
//! saved log (text and CSV), so what is on screen and what is in the file never disagree.

use super::format;
use super::log::{Direction, LogRow};
use super::persist::DisplayMode;
use crate::payload::{TextEncoding, hex_dump};

/// Appended to data cut at the caller's limit; the size cell still gives the whole length.
const CUT_MARK: &str = " …";

/// A row's cells as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowCells {
    /// Time of day to the millisecond.
    pub time: String,
    pub direction: &'static str,
    /// The peer address, or empty.
    pub peer: String,
    /// Byte count of a data row; empty for an event (it has no bytes).
    pub size: String,
    /// Data in the socket's encoding with escapes (when `mode` shows text), or an event's
    /// message (always).
    pub text: String,
    /// Data as hex bytes when `mode` shows hex; empty for an event.
    pub hex: String,
    /// True for an event row (connections, closes, errors) rather than data.
    pub is_event: bool,
    /// What the framing or the checksum check says about a received message, or empty.
    pub note: &'static str,
    /// The note is something to look at (a wrong checksum, a cut or incomplete message).
    pub note_is_problem: bool,
}

impl RowCells {
    /// The data columns of the log view in `mode`, in order. An event's message stands in
    /// the first one; the second of "Hex + text" stays empty for it.
    pub fn data_columns(&self, mode: DisplayMode) -> Vec<&str> {
        match (mode, self.is_event) {
            (DisplayMode::Text, _) | (DisplayMode::Hex, true) => vec![&self.text],
            (DisplayMode::Hex, false) => vec![&self.hex],
            (DisplayMode::Both, true) => vec![&self.text, ""],
            (DisplayMode::Both, false) => vec![&self.hex, &self.text],
        }
    }
}

/// Renders `row` with the data shown as `mode` asks, at most `limit` bytes of it (a cut is
/// marked with " …"); text is decoded from `encoding`, undecodable and control bytes escaped.
pub fn cells(
    row: &LogRow<'_>,
    mode: DisplayMode,
    encoding: TextEncoding,
    limit: usize,
) -> RowCells {
    let is_event = row.direction == Direction::System;
    let (size, text, hex) = if is_event {
        (
            String::new(),
            String::from_utf8_lossy(row.data).into_owned(),
            String::new(),
        )
    } else {
        let shown = &row.data[..row.data.len().min(limit)];
        let cut = row.data.len() > limit;
        let render = |mut text: String| {
            if cut {
                text.push_str(CUT_MARK);
            }
            text
        };
        let text = match mode {
            DisplayMode::Text | DisplayMode::Both => render(encoding.decode_for_display(shown)),
            DisplayMode::Hex => String::new(),
        };
        let hex = match mode {
            DisplayMode::Hex | DisplayMode::Both => render(hex_dump(shown)),
            DisplayMode::Text => String::new(),
        };
        (row.data.len().to_string(), text, hex)
    };
    RowCells {
        time: format::clock(&row.time),
        direction: row.direction.label(),
        peer: row.peer.map_or_else(String::new, |p| p.to_string()),
        size,
        text,
        hex,
        is_event,
        note: row.note.label(),
        note_is_problem: row.note.is_problem(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Local, TimeZone};

    fn row(direction: Direction, data: &[u8]) -> LogRow<'_> {
        LogRow {
            time: Local
                .with_ymd_and_hms(2026, 11, 26, 14, 3, 5)
                .unwrap()
                .checked_add_signed(chrono::Duration::milliseconds(42))
                .unwrap(),
            direction,
            peer: Some("127.0.0.1:5000".parse().unwrap()),
            data,
            note: Default::default(),
        }
    }

    #[test]
    fn a_data_row_in_each_mode() {
        let received = row(Direction::Received, b"hi\r\n\xff");
        let both = cells(&received, DisplayMode::Both, TextEncoding::Utf8, usize::MAX);
        assert_eq!(
            both,
            RowCells {
                time: "14:03:05.042".into(),
                direction: "recv",
                peer: "127.0.0.1:5000".into(),
                size: "5".into(),
                text: "hi\\r\\n\\xff".into(),
                hex: "68 69 0d 0a ff".into(),
                is_event: false,
                note: "",
                note_is_problem: false,
            }
        );
        assert_eq!(
            both.data_columns(DisplayMode::Both),
            ["68 69 0d 0a ff", "hi\\r\\n\\xff"]
        );
        let text = cells(&received, DisplayMode::Text, TextEncoding::Utf8, usize::MAX);
        assert_eq!(
            (text.text.as_str(), text.hex.as_str()),
            ("hi\\r\\n\\xff", "")
        );
        assert_eq!(text.data_columns(DisplayMode::Text), ["hi\\r\\n\\xff"]);
        let hex = cells(&received, DisplayMode::Hex, TextEncoding::Utf8, usize::MAX);
        assert_eq!(
            (hex.text.as_str(), hex.hex.as_str()),
            ("", "68 69 0d 0a ff")
        );
        assert_eq!(hex.data_columns(DisplayMode::Hex), ["68 69 0d 0a ff"]);
    }

    #[test]
    fn text_is_decoded_in_the_sockets_encoding() {
        let gbk = row(Direction::Sent, b"\xc4\xe3\xba\xc3");
        assert_eq!(
            cells(&gbk, DisplayMode::Text, TextEncoding::Gbk, usize::MAX).text,
            "你好"
        );
        assert_eq!(
            cells(&gbk, DisplayMode::Text, TextEncoding::Utf8, usize::MAX).text,
            "\\xc4\\xe3\\xba\\xc3"
        );
    }

    #[test]
    fn data_past_the_limit_is_cut_and_marked_but_sized_in_full() {
        let long = row(Direction::Received, b"abcdef");
        let shown = cells(&long, DisplayMode::Both, TextEncoding::Utf8, 4);
        assert_eq!(shown.text, "abcd …");
        assert_eq!(shown.hex, "61 62 63 64 …");
        assert_eq!(shown.size, "6");
        let exact = cells(&long, DisplayMode::Both, TextEncoding::Utf8, 6);
        assert_eq!(exact.text, "abcdef");
    }

    #[test]
    fn an_event_has_its_message_and_no_size_or_hex() {
        let event = row(Direction::System, b"listening on 127.0.0.1:1 \xff");
        for mode in DisplayMode::ALL {
            let shown = cells(&event, mode, TextEncoding::Gbk, 3);
            assert_eq!(shown.text, "listening on 127.0.0.1:1 \u{fffd}", "{mode:?}");
            assert_eq!((shown.size.as_str(), shown.hex.as_str()), ("", ""));
            assert!(shown.is_event);
        }
        let shown = cells(&event, DisplayMode::Both, TextEncoding::Utf8, 100);
        assert_eq!(
            shown.data_columns(DisplayMode::Both),
            ["listening on 127.0.0.1:1 \u{fffd}", ""]
        );
        assert_eq!(
            shown.data_columns(DisplayMode::Hex),
            ["listening on 127.0.0.1:1 \u{fffd}"]
        );
    }
}
