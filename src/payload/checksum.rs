//! Checksums appended to what is sent and checked on what is received: the CRCs through the
//! `crc` crate's catalogue, the one-byte sums by hand (they are one line each).

use serde::{Deserialize, Serialize};

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
        todo!()
    }

    /// The name in variables, rules files and flags: "crc16-modbus", "crc16-ccitt-false",
    /// "crc32", "crc8", "sum8", "xor8".
    pub fn name(self) -> &'static str {
        todo!()
    }

    /// The kind of a [`name`](Self::name), ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<ChecksumKind> {
        todo!()
    }

    /// Bytes the checksum takes on the wire: 1, 2 or 4.
    pub fn width(self) -> usize {
        todo!()
    }

    /// The order the protocol that uses it most writes it in (MODBUS: little; others: big).
    pub fn usual_order(self) -> ByteOrder {
        todo!()
    }

    /// The checksum of `data` as a number.
    pub fn compute(self, data: &[u8]) -> u32 {
        todo!()
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
        todo!()
    }

    /// Whether the last `width` bytes of `message` are the checksum of the bytes before
    /// them; `None` when the message is too short to hold one.
    pub fn verify(&self, message: &[u8]) -> Option<bool> {
        todo!()
    }
}
