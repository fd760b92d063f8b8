//! Hex input (`01 02 ff`, `0102FF`, `0x01 0x02`) and hex output for the log.

use super::PayloadError;

/// Parses hex digit pairs; whitespace between bytes is optional, `0x` prefixes are allowed.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, PayloadError> {
    let mut bytes = Vec::with_capacity(text.len() / 2);
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
            continue;
        }
        if c == '0' && matches!(chars.get(index + 1), Some('x' | 'X')) {
            index += 2;
            continue;
        }
        let high = digit(c, index)?;
        let Some(&next) = chars.get(index + 1).filter(|n| !n.is_whitespace()) else {
            return Err(PayloadError {
                position: index + 1,
                message: format!("'{c}' has no second hex digit (write 0{c})"),
            });
        };
        let low = digit(next, index + 1)?;
        bytes.push(high << 4 | low);
        index += 2;
    }
    Ok(bytes)
}

fn digit(c: char, index: usize) -> Result<u8, PayloadError> {
    c.to_digit(16).map(|d| d as u8).ok_or_else(|| PayloadError {
        position: index + 1,
        message: format!("'{}' is not a hex digit", c.escape_debug()),
    })
}

/// `01 02 ff`: lower-case pairs separated by spaces.
pub fn hex_dump(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Bytes, not chars: the headless server's `--data hex` formats every byte received.
    let mut out = Vec::with_capacity(data.len() * 3);
    for byte in data {
        out.extend_from_slice(&[
            DIGITS[usize::from(byte >> 4)],
            DIGITS[usize::from(byte & 0xf)],
            b' ',
        ]);
    }
    out.pop();
    // Only ASCII digits and spaces were pushed.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_usual_spellings() {
        assert_eq!(parse_hex("01 02 ff").unwrap(), [1, 2, 255]);
        assert_eq!(parse_hex("0102FF").unwrap(), [1, 2, 255]);
        assert_eq!(parse_hex(" 0x01 0X02\n\tff\r\n").unwrap(), [1, 2, 255]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_hex("00").unwrap(), [0]);
    }

    #[test]
    fn rejects_bad_digits_and_odd_counts_with_positions() {
        assert_eq!(parse_hex("01 zz").unwrap_err().position, 4);
        assert_eq!(parse_hex("abc").unwrap_err().position, 3);
        assert_eq!(
            parse_hex("1 2").unwrap_err().message,
            "'1' has no second hex digit (write 01)"
        );
        assert_eq!(parse_hex("ab\u{3000}c").unwrap_err().position, 4);
    }

    proptest! {
        #[test]
        fn dump_then_parse_is_the_identity(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(parse_hex(&hex_dump(&data)).unwrap(), data);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,64}") {
            let _ = parse_hex(&text);
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(parse_hex(&hex_dump(&all)).unwrap(), all);
        assert_eq!(parse_hex(&hex_dump(&all).replace(' ', "")).unwrap(), all);
    }
}
