//! Cutting a byte stream into messages: raw reads, lines, a delimiter, fixed length or a
//! length prefix, with a maximum message size. Pure: the reactor feeds a [`Framer`] what
//! it reads and gets whole messages back in a [`FramedBatch`].

use serde::{Deserialize, Serialize};

use crate::payload::Checksum;

/// Where a line ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineEnd {
    /// `\n` alone.
    Lf,
    /// `\r\n` only (a lone `\n` is part of the line).
    CrLf,
    /// `\n` or `\r\n`.
    #[default]
    Any,
}

/// A length field in front of each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthPrefix {
    /// Bytes of the length field: 1, 2 or 4.
    pub width: u8,
    pub big_endian: bool,
    /// The length counts the bytes before it (the offset) and the field itself too.
    pub includes_header: bool,
    /// Bytes before the length field (a magic or a type byte), part of each message.
    pub offset: usize,
}

impl Default for LengthPrefix {
    fn default() -> Self {
        LengthPrefix {
            width: 2,
            big_endian: true,
            includes_header: false,
            offset: 0,
        }
    }
}

/// How a session's received bytes are cut into messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// Each read is one message (UDP: each datagram).
    #[default]
    Raw,
    Line(LineEnd),
    /// Messages end with these bytes (not empty).
    Delimiter(Vec<u8>),
    /// Every message is this many bytes (at least 1).
    Fixed(usize),
    LengthPrefixed(LengthPrefix),
}

/// A session's framing: how to cut, how long a message may grow, and the checksum each
/// message should end with (checked, not removed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FramingSpec {
    pub framing: Framing,
    /// A message longer than this is delivered in pieces of this size, each marked.
    pub max_message: usize,
    pub checksum: Option<Checksum>,
}

/// The default maximum message size.
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 20;

impl Default for FramingSpec {
    fn default() -> Self {
        FramingSpec {
            framing: Framing::Raw,
            max_message: DEFAULT_MAX_MESSAGE,
            checksum: None,
        }
    }
}

impl FramingSpec {
    /// Why the spec cannot work (empty delimiter, zero length, width not 1, 2 or 4, zero
    /// maximum), in words for the field where it was typed.
    pub fn validate(&self) -> Result<(), String> {
        todo!()
    }
}

/// How a message came to be cut where it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// A whole message, as the framing defines it (raw: one read).
    Whole,
    /// A piece of a message longer than the maximum: the maximum was reached.
    TooLong,
    /// What was waiting when the stream ended or the framing changed.
    Leftover,
}

/// One message inside a [`FramedBatch`]'s data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageMark {
    /// Where the message ends in the batch's data (it starts where the previous one ends).
    pub end: usize,
    /// Bytes at its end that are the delimiter (line end or delimiter), not its body.
    pub delimiter: u8,
    pub cut: Cut,
    /// The framing's checksum over the body: `None` without one or when too short.
    pub checksum_ok: Option<bool>,
}

/// Messages cut from the stream, their bytes back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FramedBatch {
    pub data: Vec<u8>,
    pub messages: Vec<MessageMark>,
}

impl FramedBatch {
    /// Each message's bytes (delimiter included) with its mark.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &MessageMark)> {
        let mut start = 0;
        self.messages.iter().map(move |mark| {
            let bytes = &self.data[start..mark.end];
            start = mark.end;
            (bytes, mark)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.messages.clear();
    }
}

impl MessageMark {
    /// The message without its delimiter: what rules match and checksums cover.
    pub fn body<'a>(&self, message: &'a [u8]) -> &'a [u8] {
        &message[..message.len() - self.delimiter as usize]
    }
}

/// The framing state of one stream.
#[derive(Debug)]
pub struct Framer {
    spec: FramingSpec,
}

impl Framer {
    pub fn new(spec: FramingSpec) -> Framer {
        todo!()
    }

    pub fn spec(&self) -> &FramingSpec {
        &self.spec
    }

    /// Cuts `input` (the next bytes of the stream) into messages appended to `out`;
    /// what does not yet make a message waits inside.
    pub fn push(&mut self, input: &[u8], out: &mut FramedBatch) {
        todo!()
    }

    /// Bytes read that are not yet part of a delivered message ("12 bytes waiting").
    pub fn waiting(&self) -> usize {
        todo!()
    }

    /// The stream ended (or the framing is replaced): what waits becomes one message
    /// marked [`Cut::Leftover`], if anything waits.
    pub fn finish(&mut self, out: &mut FramedBatch) {
        todo!()
    }
}
