//! Text encodings for payloads and the log: UTF-8 and the legacy encodings test engineers
//! still meet (GBK and friends), through encoding_rs.

use encoding_rs::{DecoderResult, Encoding};
use serde::{Deserialize, Serialize};

use super::PayloadError;
use super::escape::{escape_for_display, push_escaped_byte, push_escaped_char};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TextEncoding {
    #[default]
    Utf8,
    Gbk,
    Gb18030,
    Big5,
    ShiftJis,
    EucJp,
    EucKr,
    Windows1251,
    Windows1252,
}

impl TextEncoding {
    pub const ALL: [TextEncoding; 9] = [
        TextEncoding::Utf8,
        TextEncoding::Gbk,
        TextEncoding::Gb18030,
        TextEncoding::Big5,
        TextEncoding::ShiftJis,
        TextEncoding::EucJp,
        TextEncoding::EucKr,
        TextEncoding::Windows1251,
        TextEncoding::Windows1252,
    ];

    pub fn label(self) -> &'static str {
        self.encoding().name()
    }

    /// The encoding a file names by its label (ignoring case), or why not, listing them.
    pub fn from_label(name: &str) -> Result<TextEncoding, String> {
        TextEncoding::ALL
            .into_iter()
            .find(|encoding| encoding.label().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                let labels: Vec<&str> = TextEncoding::ALL.iter().map(|e| e.label()).collect();
                format!("encoding: unknown \"{name}\" (use {})", labels.join(", "))
            })
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Gbk => encoding_rs::GBK,
            TextEncoding::Gb18030 => encoding_rs::GB18030,
            TextEncoding::Big5 => encoding_rs::BIG5,
            TextEncoding::ShiftJis => encoding_rs::SHIFT_JIS,
            TextEncoding::EucJp => encoding_rs::EUC_JP,
            TextEncoding::EucKr => encoding_rs::EUC_KR,
            TextEncoding::Windows1251 => encoding_rs::WINDOWS_1251,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }

    /// Encodes `text`; a character the encoding cannot represent is an error at its
    /// position (`first_position` is the position of `text`'s first character).
    pub fn encode(self, text: &str, first_position: usize) -> Result<Vec<u8>, PayloadError> {
        let encoding = self.encoding();
        let (bytes, _, unmappable) = encoding.encode(text);
        if !unmappable {
            return Ok(bytes.into_owned());
        }
        let mut buf = [0; 4];
        let (index, c) = text
            .chars()
            .enumerate()
            .find(|(_, c)| encoding.encode(c.encode_utf8(&mut buf)).2)
            .unwrap_or((0, '?'));
        Err(PayloadError {
            position: first_position + index,
            message: format!("'{c}' cannot be written in {}", encoding.name()),
        })
    }

    /// Decodes for the log: control characters and undecodable bytes become escapes, so
    /// every byte stays visible.
    pub fn decode_for_display(self, data: &[u8]) -> String {
        if self == TextEncoding::Utf8 {
            return escape_for_display(data);
        }
        let mut decoder = self.encoding().new_decoder_without_bom_handling();
        let mut out = String::with_capacity(data.len() + data.len() / 2);
        let mut piece = String::new();
        let mut position = 0;
        loop {
            let needed = decoder
                .max_utf8_buffer_length_without_replacement(data.len() - position)
                .unwrap_or(data.len() * 3 + 16);
            piece.reserve(needed);
            let (result, read) =
                decoder.decode_to_string_without_replacement(&data[position..], &mut piece, true);
            position += read;
            for c in piece.chars() {
                push_escaped_char(&mut out, c);
            }
            piece.clear();
            match result {
                DecoderResult::InputEmpty => return out,
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(bad, extra) => {
                    let end = position - extra as usize;
                    let start = end.saturating_sub(bad as usize);
                    for &byte in &data[start..end] {
                        push_escaped_byte(&mut out, byte);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gbk_round_trips_cjk_text() {
        let text = "中文测试，你好！GBK 编码";
        let bytes = TextEncoding::Gbk.encode(text, 1).unwrap();
        assert_eq!(&bytes[..4], b"\xd6\xd0\xce\xc4");
        assert_eq!(TextEncoding::Gbk.decode_for_display(&bytes), text);
    }

    #[test]
    fn undecodable_bytes_are_escaped_in_place() {
        assert_eq!(
            TextEncoding::Gbk.decode_for_display(b"\xd6\xd0\xffA\n"),
            "中\\xffA\\n"
        );
        assert_eq!(
            TextEncoding::ShiftJis.decode_for_display(b"\x82A"),
            "\\x82A"
        );
        assert_eq!(TextEncoding::Utf8.decode_for_display(b"\xffok"), "\\xffok");
    }

    #[test]
    fn unmappable_characters_are_errors_with_positions() {
        let error = TextEncoding::Gbk.encode("ab😀", 1).unwrap_err();
        assert_eq!(error.position, 3);
        assert_eq!(error.message, "'😀' cannot be written in GBK");
        assert!(TextEncoding::Gb18030.encode("ab😀", 1).is_ok());
    }

    proptest! {
        #[test]
        fn gbk_round_trips_any_cjk_string(text in "[\u{4e00}-\u{9fa5}a-z0-9 ]{0,40}") {
            let bytes = TextEncoding::Gbk.encode(&text, 1).unwrap();
            prop_assert_eq!(TextEncoding::Gbk.decode_for_display(&bytes), text);
        }

        #[test]
        fn decoding_never_panics_or_hides_control_bytes(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            for encoding in TextEncoding::ALL {
                let shown = encoding.decode_for_display(&data);
                prop_assert!(!shown.chars().any(|c| c.is_control()));
            }
        }
    }
}
