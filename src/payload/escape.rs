//! Showing arbitrary bytes as one line of text: printable characters as they are,
//! everything else as an escape, so nothing received is hidden or breaks the layout.

use std::fmt::Write;

/// Escapes `data` for display: `\n \r \t \0 \\` and `\xNN` for other control characters
/// and bytes that are not valid UTF-8. Valid printable UTF-8 is kept.
pub fn escape_for_display(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
