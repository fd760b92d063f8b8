//! Escapes both ways: showing arbitrary bytes as one line of text (printable characters as
//! they are, everything else escaped), and parsing typed escapes back into bytes.

use super::{PayloadError, TextEncoding};

/// Escapes `data` for display: `\n \r \t \0 \\` and `\xNN` for other control characters
/// and bytes that are not valid UTF-8. Valid printable UTF-8 is kept.
pub fn escape_for_display(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut rest = data;
    while !rest.is_empty() {
        let ascii = rest
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        escape_ascii(&rest[..ascii], &mut out);
        rest = &rest[ascii..];
        let other = rest.iter().position(u8::is_ascii).unwrap_or(rest.len());
        let mut text = String::new();
        for chunk in rest[..other].utf8_chunks() {
            for c in chunk.valid().chars() {
                push_escaped_char(&mut text, c);
            }
            for &byte in chunk.invalid() {
                push_escaped_byte(&mut text, byte);
            }
        }
        out.extend_from_slice(text.as_bytes());
        rest = &rest[other..];
    }
    // Every byte pushed is ASCII or came from a valid `str`.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// ASCII, byte by byte into `out` (the headless server's hot path): printable runs are
/// copied whole, everything else gets its escape.
fn escape_ascii(text: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut rest = text;
    while let Some(at) = rest
        .iter()
        .position(|&b| !(0x20..0x7f).contains(&b) || b == b'\\')
    {
        out.extend_from_slice(&rest[..at]);
        match rest[at] {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0 => out.extend_from_slice(b"\\0"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            byte => out.extend_from_slice(&[
                b'\\',
                b'x',
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 0xf)],
            ]),
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

pub(super) fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        '\\' => out.push_str("\\\\"),
        c if c.is_control() => {
            let mut buf = [0; 4];
            for &byte in c.encode_utf8(&mut buf).as_bytes() {
                push_escaped_byte(out, byte);
            }
        }
        c => out.push(c),
    }
}

pub(super) fn push_escaped_byte(out: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\x");
    out.push(DIGITS[usize::from(byte >> 4)] as char);
    out.push(DIGITS[usize::from(byte & 0xf)] as char);
}

/// Parses text with `\r \n \t \0 \\ \xNN` escapes; the text between escapes is encoded
/// with `encoding`.
pub fn parse_escaped(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, PayloadError> {
    let mut out = Vec::with_capacity(text.len());
    let mut literal = String::new();
    let mut literal_start = 1;
    let mut chars = text.chars().enumerate().peekable();
    while let Some((index, c)) = chars.next() {
        if c != '\\' {
            if literal.is_empty() {
                literal_start = index + 1;
            }
            literal.push(c);
            continue;
        }
        out.extend(encoding.encode(&literal, literal_start)?);
        literal.clear();
        let position = index + 1;
        let Some((_, kind)) = chars.next() else {
            return Err(PayloadError {
                position,
                message: "a lone \\ at the end (write \\\\ for a backslash)".into(),
            });
        };
        match kind {
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            '0' => out.push(0),
            '\\' => out.push(b'\\'),
            'x' => {
                let mut value = 0u8;
                for _ in 0..2 {
                    let digit = chars.next().and_then(|(_, d)| d.to_digit(16));
                    let Some(digit) = digit else {
                        return Err(PayloadError {
                            position,
                            message: "\\x needs two hex digits, such as \\x0d".into(),
                        });
                    };
                    value = value << 4 | digit as u8;
                }
                out.push(value);
            }
            other => {
                return Err(PayloadError {
                    position,
                    message: format!(
                        "unknown escape \\{} (use \\r \\n \\t \\0 \\\\ or \\xNN)",
                        other.escape_debug()
                    ),
                });
            }
        }
    }
    out.extend(encoding.encode(&literal, literal_start)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_controls_and_invalid_bytes_but_keeps_text() {
        assert_eq!(escape_for_display(b"hello\r\n"), "hello\\r\\n");
        assert_eq!(escape_for_display(b"a\tb\0c\\"), "a\\tb\\0c\\\\");
        assert_eq!(
            escape_for_display(&[0x01, 0xff, b'x', 0x7f]),
            "\\x01\\xffx\\x7f"
        );
        assert_eq!(escape_for_display("中文 ok".as_bytes()), "中文 ok");
        // A truncated UTF-8 sequence is shown byte by byte.
        assert_eq!(escape_for_display(&[0xe4, 0xb8]), "\\xe4\\xb8");
        // Every byte value produces one line with no raw control characters.
        let all: Vec<u8> = (0..=255).collect();
        let shown = escape_for_display(&all);
        assert!(!shown.chars().any(|c| c.is_control()));
    }

    #[test]
    fn parses_every_escape() {
        let utf8 = TextEncoding::Utf8;
        assert_eq!(
            parse_escaped("a\\r\\n\\t\\0\\\\b\\x7F\\xff", utf8).unwrap(),
            b"a\r\n\t\0\\b\x7f\xff"
        );
        assert_eq!(parse_escaped("中\\n", utf8).unwrap(), "中\n".as_bytes());
        assert_eq!(
            parse_escaped("中\\n", TextEncoding::Gbk).unwrap(),
            b"\xd6\xd0\n"
        );
    }

    #[test]
    fn rejects_bad_escapes_with_positions() {
        let utf8 = TextEncoding::Utf8;
        let error = parse_escaped("ab\\q", utf8).unwrap_err();
        assert_eq!(
            (
                error.position,
                error.message.starts_with("unknown escape \\q")
            ),
            (3, true)
        );
        assert_eq!(parse_escaped("abc\\", utf8).unwrap_err().position, 4);
        assert_eq!(parse_escaped("\\x1", utf8).unwrap_err().position, 1);
        assert_eq!(parse_escaped("x\\xg0", utf8).unwrap_err().position, 2);
    }

    #[test]
    fn every_byte_value_round_trips_through_display_escapes() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            parse_escaped(&escape_for_display(&all), TextEncoding::Utf8).unwrap(),
            all
        );
    }

    proptest! {
        #[test]
        fn display_escapes_parse_back_to_the_same_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            prop_assert_eq!(parse_escaped(&escape_for_display(&data), TextEncoding::Utf8).unwrap(), data);
        }

        #[test]
        fn text_without_backslashes_is_its_utf8(text in "[^\\\\]{0,64}") {
            prop_assert_eq!(parse_escaped(&text, TextEncoding::Utf8).unwrap(), text.as_bytes());
        }
    }
}
