//! Checksums appended to what is sent and checked on what is received: the CRCs through the
//! `crc` crate's catalogue, the one-byte sums by hand (they are one line each).

use std::fmt;

use crc::{CRC_8_SMBUS, CRC_16_IBM_3740, CRC_16_MODBUS, CRC_32_ISO_HDLC, Crc};
use serde::{Deserialize, Serialize};

// Built once: each holds a 256-entry table.
static CRC16_MODBUS: Crc<u16> = Crc::<u16>::new(&CRC_16_MODBUS);
static CRC16_CCITT_FALSE: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);
static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
static CRC8: Crc<u8> = Crc::<u8>::new(&CRC_8_SMBUS);

/// The checksum algorithms socklab computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumKind {
    /// CRC-16/MODBUS (check value of "123456789": 0x4B37), sent low byte first.
    Crc16Modbus,
    /// CRC-16/CCITT-FALSE, also known as CRC-16/IBM-3740 (check 0x29B1).
    Crc16CcittFalse,
    /// CRC-32 as in Ethernet and zip, CRC-32/ISO-HDLC (check 0xCBF43926).
    Crc32,
    /// CRC-8/SMBUS, polynomial 0x07 (check 0xF4).
    Crc8,
    /// The sum of all bytes, modulo 256.
    Sum8,
    /// All bytes XORed together (the LRC of many serial protocols).
    Xor8,
}

/// The order a multi-byte checksum is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ByteOrder {
    /// Most significant byte first (network order).
    Big,
    /// Least significant byte first.
    Little,
}

/// A checksum algorithm and the byte order it is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checksum {
    pub kind: ChecksumKind,
    pub order: ByteOrder,
}

impl ChecksumKind {
    pub const ALL: [ChecksumKind; 6] = [
        ChecksumKind::Crc16Modbus,
        ChecksumKind::Crc16CcittFalse,
        ChecksumKind::Crc32,
        ChecksumKind::Crc8,
        ChecksumKind::Sum8,
        ChecksumKind::Xor8,
    ];

    /// What the window shows: "CRC-16/MODBUS", "XOR-8 (LRC)", …
    pub fn label(self) -> &'static str {
        match self {
            ChecksumKind::Crc16Modbus => "CRC-16/MODBUS",
            ChecksumKind::Crc16CcittFalse => "CRC-16/CCITT-FALSE",
            ChecksumKind::Crc32 => "CRC-32",
            ChecksumKind::Crc8 => "CRC-8",
            ChecksumKind::Sum8 => "Sum-8",
            ChecksumKind::Xor8 => "XOR-8 (LRC)",
        }
    }

    /// The name in variables, rules files and flags: "crc16-modbus", "crc16-ccitt-false",
    /// "crc32", "crc8", "sum8", "xor8".
    pub fn name(self) -> &'static str {
        match self {
            ChecksumKind::Crc16Modbus => "crc16-modbus",
            ChecksumKind::Crc16CcittFalse => "crc16-ccitt-false",
            ChecksumKind::Crc32 => "crc32",
            ChecksumKind::Crc8 => "crc8",
            ChecksumKind::Sum8 => "sum8",
            ChecksumKind::Xor8 => "xor8",
        }
    }

    /// The kind of a [`name`](Self::name), ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<ChecksumKind> {
        ChecksumKind::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name))
    }

    /// Bytes the checksum takes on the wire: 1, 2 or 4.
    pub fn width(self) -> usize {
        match self {
            ChecksumKind::Crc16Modbus | ChecksumKind::Crc16CcittFalse => 2,
            ChecksumKind::Crc32 => 4,
            ChecksumKind::Crc8 | ChecksumKind::Sum8 | ChecksumKind::Xor8 => 1,
        }
    }

    /// The order the protocol that uses it most writes it in (MODBUS: little; others: big).
    pub fn usual_order(self) -> ByteOrder {
        match self {
            ChecksumKind::Crc16Modbus => ByteOrder::Little,
            _ => ByteOrder::Big,
        }
    }

    /// The checksum of `data` as a number.
    pub fn compute(self, data: &[u8]) -> u32 {
        match self {
            ChecksumKind::Crc16Modbus => u32::from(CRC16_MODBUS.checksum(data)),
            ChecksumKind::Crc16CcittFalse => u32::from(CRC16_CCITT_FALSE.checksum(data)),
            ChecksumKind::Crc32 => CRC32.checksum(data),
            ChecksumKind::Crc8 => u32::from(CRC8.checksum(data)),
            ChecksumKind::Sum8 => u32::from(data.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))),
            ChecksumKind::Xor8 => u32::from(data.iter().fold(0u8, |acc, &b| acc ^ b)),
        }
    }
}

impl Checksum {
    /// `kind` in its usual byte order.
    pub fn usual(kind: ChecksumKind) -> Checksum {
        Checksum {
            kind,
            order: kind.usual_order(),
        }
    }

    /// Appends the checksum of everything `out` holds from `start` on, `width` bytes in
    /// `order`.
    pub fn append_over(&self, out: &mut Vec<u8>, start: usize) {
        let value = self.kind.compute(&out[start..]);
        let bytes = self.to_bytes(value);
        out.extend_from_slice(&bytes[..self.kind.width()]);
    }

    /// Whether the last `width` bytes of `message` are the checksum of the bytes before
    /// them; `None` when the message is too short to hold one.
    ///
    /// A message holding only a checksum (nothing covered) is `None` too: there is nothing
    /// it could be the checksum of.
    pub fn verify(&self, message: &[u8]) -> Option<bool> {
        let width = self.kind.width();
        if message.len() <= width {
            return None;
        }
        let (covered, written) = message.split_at(message.len() - width);
        let expected = self.to_bytes(self.kind.compute(covered));
        Some(written == &expected[..width])
    }
}

impl Checksum {
    /// The checksum's `width` bytes in `order`, at the front of the array.
    fn to_bytes(self, value: u32) -> [u8; 4] {
        let width = self.kind.width();
        let mut bytes = [0u8; 4];
        let big = value.to_be_bytes();
        // The value's low `width` bytes, most significant first.
        bytes[..width].copy_from_slice(&big[4 - width..]);
        if self.order == ByteOrder::Little {
            bytes[..width].reverse();
        }
        bytes
    }

    /// Reads a checksum as typed in a flag or a rules file: a name, optionally followed by
    /// `:le` or `:be` ("crc16-modbus", "crc32:le"); without one, the usual order.
    pub fn parse(text: &str) -> Result<Checksum, String> {
        let text = text.trim();
        let (name, order) = match text.split_once(':') {
            Some((name, order)) => (name.trim(), Some(order.trim())),
            None => (text, None),
        };
        let Some(kind) = ChecksumKind::from_name(name) else {
            let names: Vec<&str> = ChecksumKind::ALL.iter().map(|kind| kind.name()).collect();
            return Err(format!(
                "Unknown checksum \"{name}\": use one of {}, optionally followed by :le or :be.",
                names.join(", ")
            ));
        };
        let order = match order {
            None => kind.usual_order(),
            Some(order) if order.eq_ignore_ascii_case("le") => ByteOrder::Little,
            Some(order) if order.eq_ignore_ascii_case("be") => ByteOrder::Big,
            Some(order) => {
                return Err(format!(
                    "Unknown byte order \"{order}\" after {}: use :le (low byte first) or :be (high byte first).",
                    kind.name()
                ));
            }
        };
        Ok(Checksum { kind, order })
    }
}

/// The form [`Checksum::parse`] reads: the name, with `:le`/`:be` only when the order is
/// not the usual one.
impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if self.order != self.kind.usual_order() {
            f.write_str(match self.order {
                ByteOrder::Big => ":be",
                ByteOrder::Little => ":le",
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK_INPUT: &[u8] = b"123456789";

    #[test]
    fn every_kind_gives_its_published_check_value() {
        let expected = [
            (ChecksumKind::Crc16Modbus, 0x4B37),
            (ChecksumKind::Crc16CcittFalse, 0x29B1),
            (ChecksumKind::Crc32, 0xCBF4_3926),
            (ChecksumKind::Crc8, 0xF4),
            (ChecksumKind::Sum8, 0xDD),
            (ChecksumKind::Xor8, 0x31),
        ];
        for (kind, value) in expected {
            assert_eq!(kind.compute(CHECK_INPUT), value, "{}", kind.label());
        }
        assert_eq!(expected.len(), ChecksumKind::ALL.len());
    }

    #[test]
    fn one_byte_sums_wrap_and_cancel() {
        assert_eq!(ChecksumKind::Sum8.compute(&[0xFF, 0x02]), 0x01);
        assert_eq!(ChecksumKind::Xor8.compute(&[0x5A, 0x5A]), 0x00);
        assert_eq!(ChecksumKind::Sum8.compute(&[]), 0);
    }

    #[test]
    fn names_widths_and_orders() {
        for kind in ChecksumKind::ALL {
            assert_eq!(ChecksumKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                ChecksumKind::from_name(&kind.name().to_ascii_uppercase()),
                Some(kind)
            );
        }
        assert_eq!(ChecksumKind::from_name("crc64"), None);
        let widths: Vec<usize> = ChecksumKind::ALL.iter().map(|k| k.width()).collect();
        assert_eq!(widths, [2, 2, 4, 1, 1, 1]);
        assert_eq!(ChecksumKind::Crc16Modbus.usual_order(), ByteOrder::Little);
        assert_eq!(ChecksumKind::Crc32.usual_order(), ByteOrder::Big);
        assert_eq!(ChecksumKind::Xor8.label(), "XOR-8 (LRC)");
    }

    #[test]
    fn modbus_is_appended_low_byte_first_by_default() {
        let mut out = b"123456789".to_vec();
        Checksum::usual(ChecksumKind::Crc16Modbus).append_over(&mut out, 0);
        assert_eq!(&out[9..], [0x37, 0x4B]);
    }

    #[test]
    fn append_writes_the_chosen_order_over_the_bytes_from_start() {
        let mut out = b"xx123456789".to_vec();
        let big = Checksum {
            kind: ChecksumKind::Crc16Modbus,
            order: ByteOrder::Big,
        };
        big.append_over(&mut out, 2);
        assert_eq!(&out[11..], [0x4B, 0x37]);

        let mut out = b"123456789".to_vec();
        Checksum::usual(ChecksumKind::Crc32).append_over(&mut out, 0);
        assert_eq!(&out[9..], [0xCB, 0xF4, 0x39, 0x26]);
        let mut out = b"123456789".to_vec();
        let little = Checksum {
            kind: ChecksumKind::Crc32,
            order: ByteOrder::Little,
        };
        little.append_over(&mut out, 0);
        assert_eq!(&out[9..], [0x26, 0x39, 0xF4, 0xCB]);

        let mut out = b"123456789".to_vec();
        Checksum::usual(ChecksumKind::Crc8).append_over(&mut out, 0);
        assert_eq!(&out[9..], [0xF4]);
    }

    #[test]
    fn verify_accepts_its_own_checksum_and_rejects_a_changed_byte() {
        for kind in ChecksumKind::ALL {
            for order in [ByteOrder::Big, ByteOrder::Little] {
                let checksum = Checksum { kind, order };
                let mut message = b"hello".to_vec();
                checksum.append_over(&mut message, 0);
                assert_eq!(checksum.verify(&message), Some(true), "{checksum}");
                message[0] ^= 0x01;
                assert_eq!(checksum.verify(&message), Some(false), "{checksum}");
            }
        }
        let swapped = Checksum {
            kind: ChecksumKind::Crc16Modbus,
            order: ByteOrder::Big,
        };
        assert_eq!(swapped.verify(b"123456789\x37\x4B"), Some(false));
    }

    #[test]
    fn verify_needs_at_least_one_covered_byte() {
        let crc32 = Checksum::usual(ChecksumKind::Crc32);
        assert_eq!(crc32.verify(b""), None);
        assert_eq!(crc32.verify(b"abc"), None);
        // Only a checksum (of nothing: CRC-32 of "" is 0): still nothing to check.
        assert_eq!(crc32.verify(&[0, 0, 0, 0]), None);
        assert_eq!(crc32.verify(&[7, 0, 0, 0, 0]), Some(false));
        assert_eq!(
            Checksum::usual(ChecksumKind::Sum8).verify(&[7, 7]),
            Some(true)
        );
    }

    #[test]
    fn parse_and_display_round_trip() {
        for kind in ChecksumKind::ALL {
            for order in [ByteOrder::Big, ByteOrder::Little] {
                let checksum = Checksum { kind, order };
                assert_eq!(Checksum::parse(&checksum.to_string()), Ok(checksum));
            }
        }
        assert_eq!(
            Checksum::usual(ChecksumKind::Crc16Modbus).to_string(),
            "crc16-modbus"
        );
        let modbus_big = Checksum::parse("crc16-modbus:be").unwrap();
        assert_eq!(modbus_big.order, ByteOrder::Big);
        assert_eq!(modbus_big.to_string(), "crc16-modbus:be");
        assert_eq!(
            Checksum::parse("CRC32:LE"),
            Ok(Checksum {
                kind: ChecksumKind::Crc32,
                order: ByteOrder::Little
            })
        );
        assert_eq!(
            Checksum::parse("crc16-modbus:le"),
            Ok(Checksum::usual(ChecksumKind::Crc16Modbus))
        );
    }

    #[test]
    fn parse_errors_name_the_valid_forms() {
        let unknown = Checksum::parse("crc64").unwrap_err();
        assert!(unknown.contains("\"crc64\""), "{unknown}");
        for kind in ChecksumKind::ALL {
            assert!(unknown.contains(kind.name()), "{unknown}");
        }
        let order = Checksum::parse("crc32:middle").unwrap_err();
        assert!(
            order.contains("\"middle\"") && order.contains(":le"),
            "{order}"
        );
        assert!(Checksum::parse("").is_err());
    }
}
