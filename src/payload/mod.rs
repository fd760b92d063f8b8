//! Byte codecs shared by the log, the composer and the CLI: what a person types (text in an
//! encoding, escapes, hex) to bytes, and bytes back to something readable. Pure, no I/O.

mod checksum;
mod encoding;
mod escape;
mod hex;
mod template;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use checksum::{ByteOrder, Checksum, ChecksumKind};
pub use encoding::TextEncoding;
pub use escape::{escape_for_display, parse_escaped};
pub use hex::{hex_dump, parse_hex};
pub use template::{PayloadSpec, Template, TemplateValues};

/// How the rules and scenario files name line endings.
pub const LINE_ENDING_NAMES: [(LineEnding, &str); 4] = [
    (LineEnding::None, "none"),
    (LineEnding::Lf, "lf"),
    (LineEnding::CrLf, "crlf"),
    (LineEnding::Cr, "cr"),
];

/// A value's name in a file's table of names (`""` if the table lacks it).
pub fn name_in<T: PartialEq + Copy>(names: &[(T, &'static str)], value: T) -> &'static str {
    names
        .iter()
        .find(|(candidate, _)| *candidate == value)
        .map_or("", |(_, name)| name)
}

/// How the composer's text becomes bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadFormat {
    /// The text as typed, in the chosen encoding.
    #[default]
    Text,
    /// Text with `\r \n \t \0 \\ \xNN` escapes.
    Escaped,
    /// Hex digits, e.g. `01 02 ff` or `0102FF`; whitespace is ignored.
    Hex,
}

impl PayloadFormat {
    pub const ALL: [PayloadFormat; 3] = [
        PayloadFormat::Text,
        PayloadFormat::Escaped,
        PayloadFormat::Hex,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PayloadFormat::Text => "Text",
            PayloadFormat::Escaped => "Text with escapes",
            PayloadFormat::Hex => "Hex",
        }
    }

    /// Hex is exact bytes; a line ending is only added to text.
    pub fn takes_line_ending(self) -> bool {
        self != PayloadFormat::Hex
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineEnding {
    None,
    #[default]
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub const ALL: [LineEnding; 4] = [
        LineEnding::None,
        LineEnding::Lf,
        LineEnding::CrLf,
        LineEnding::Cr,
    ];

    pub fn label(self) -> &'static str {
        match self {
            LineEnding::None => "None",
            LineEnding::Lf => "LF (\\n)",
            LineEnding::CrLf => "CRLF (\\r\\n)",
            LineEnding::Cr => "CR (\\r)",
        }
    }

    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnding::None => b"",
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::Cr => b"\r",
        }
    }
}

/// Why typed input is not a valid payload, and where (1-based character position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at character {}", self.message, self.position)
    }
}

impl std::error::Error for PayloadError {}

/// Turns the composer's text into the bytes to send.
pub fn encode_payload(
    text: &str,
    format: PayloadFormat,
    encoding: TextEncoding,
    line_ending: LineEnding,
) -> Result<Vec<u8>, PayloadError> {
    let mut data = match format {
        PayloadFormat::Text => encoding.encode(text, 1)?,
        PayloadFormat::Escaped => parse_escaped(text, encoding)?,
        PayloadFormat::Hex => parse_hex(text)?,
    };
    if format.takes_line_ending() {
        data.extend_from_slice(line_ending.bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_apply_to_text_not_hex() {
        let utf8 = TextEncoding::Utf8;
        assert_eq!(
            encode_payload("hi", PayloadFormat::Text, utf8, LineEnding::CrLf).unwrap(),
            b"hi\r\n"
        );
        assert_eq!(
            encode_payload("a\\tb", PayloadFormat::Escaped, utf8, LineEnding::Cr).unwrap(),
            b"a\tb\r"
        );
        assert_eq!(
            encode_payload("0d0a", PayloadFormat::Hex, utf8, LineEnding::CrLf).unwrap(),
            b"\r\n"
        );
        assert_eq!(
            encode_payload("", PayloadFormat::Text, utf8, LineEnding::None).unwrap(),
            b""
        );
    }

    #[test]
    fn errors_name_the_position() {
        let error = encode_payload(
            "01 0g",
            PayloadFormat::Hex,
            TextEncoding::Utf8,
            LineEnding::None,
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "'g' is not a hex digit at character 5");
    }
}
