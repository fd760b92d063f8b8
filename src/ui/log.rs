//! The bounded message log of one socket: rows in arrival order, capped in rows and bytes.
//! When the cap drops old rows it counts them, so the view can say so; byte counters live
//! in the engine and stay exact regardless.

use std::collections::VecDeque;
use std::net::SocketAddr;

use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};

use crate::payload::{TextEncoding, parse_escaped, parse_hex};

/// Rows kept per socket before the oldest are dropped.
pub const MAX_ROWS: usize = 1_000_000;
/// Payload bytes kept per socket before the oldest rows are dropped.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Received,
    Sent,
    /// A chat line the server relayed to every client.
    Relayed,
    /// Connections, closes, errors: things that happened rather than bytes.
    System,
}

impl Direction {
    pub const ALL: [Direction; 4] = [
        Direction::Received,
        Direction::Sent,
        Direction::Relayed,
        Direction::System,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Direction::Received => "recv",
            Direction::Sent => "sent",
            Direction::Relayed => "relay",
            Direction::System => "info",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

#[derive(Clone, Debug)]
pub struct LogRow {
    pub time: DateTime<Local>,
    pub direction: Direction,
    pub peer: Option<SocketAddr>,
    /// Bytes for data rows; UTF-8 text for system rows.
    pub data: Box<[u8]>,
}

#[derive(Debug, Default)]
pub struct Log {
    rows: VecDeque<LogRow>,
    /// Sequence number of `rows[0]`; rows keep their number while older ones are dropped.
    first_seq: u64,
    bytes: usize,
    dropped: u64,
    /// Bumped by `clear` so the view can reset its scroll position.
    generation: u64,
}

impl Log {
    pub fn push(&mut self, row: LogRow) {
        self.bytes += row.data.len();
        self.rows.push_back(row);
        while self.rows.len() > MAX_ROWS || (self.bytes > MAX_BYTES && self.rows.len() > 1) {
            if let Some(old) = self.rows.pop_front() {
                self.bytes -= old.data.len();
                self.dropped += 1;
                self.first_seq += 1;
            }
        }
    }

    pub fn system(&mut self, time: DateTime<Local>, peer: Option<SocketAddr>, text: String) {
        self.push(LogRow {
            time,
            direction: Direction::System,
            peer,
            data: text.into_bytes().into_boxed_slice(),
        });
    }

    pub fn clear(&mut self) {
        self.first_seq += self.rows.len() as u64;
        self.rows.clear();
        self.bytes = 0;
        self.dropped = 0;
        self.generation += 1;
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&LogRow> {
        self.rows.get(index)
    }

    /// The row numbered `seq`, if it is still kept.
    pub fn by_seq(&self, seq: u64) -> Option<&LogRow> {
        seq.checked_sub(self.first_seq)
            .and_then(|index| self.rows.get(index as usize))
    }

    /// The number the next row will get.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.rows.len() as u64
    }

    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogRow> {
        self.rows.iter()
    }

    /// Rows dropped by the cap since the last clear.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }
}

/// Which rows the log view shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// One bit per [`Direction`].
    directions: u8,
    /// Text to look for in the data or the peer address; see [`Filter::matcher`].
    pub text: String,
    /// The socket's encoding, so text typed here finds bytes the way the log shows them.
    pub encoding: TextEncoding,
    /// The log shows hex, so hex typed here (`0d 0a`) finds those bytes too.
    pub hex: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            directions: 0b1111,
            text: String::new(),
            encoding: TextEncoding::Utf8,
            hex: false,
        }
    }
}

impl Filter {
    pub fn shows(&self, direction: Direction) -> bool {
        self.directions & direction.bit() != 0
    }

    pub fn set(&mut self, direction: Direction, shown: bool) {
        if shown {
            self.directions |= direction.bit();
        } else {
            self.directions &= !direction.bit();
        }
    }

    pub fn is_everything(&self) -> bool {
        self.directions == 0b1111 && self.text.is_empty()
    }

    /// The byte patterns a row's data may contain to match: the text as typed and in the
    /// socket's encoding (ASCII case ignored), with escapes as the log shows them (`\r\n`,
    /// `\xff`), and as hex bytes when the log shows hex.
    pub fn matcher(&self) -> Matcher {
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut add = |bytes: Vec<u8>, ignore_case: bool| {
            if !bytes.is_empty() && !patterns.iter().any(|p| p.bytes == bytes) {
                patterns.push(Pattern { bytes, ignore_case });
            }
        };
        add(self.text.as_bytes().to_vec(), true);
        if let Ok(encoded) = self.encoding.encode(&self.text, 1) {
            add(encoded, true);
        }
        if self.text.contains('\\')
            && let Ok(unescaped) = parse_escaped(&self.text, self.encoding)
        {
            add(unescaped, true);
        }
        if self.hex
            && let Ok(bytes) = parse_hex(&self.text)
        {
            add(bytes, false);
        }
        let address = self.text.as_bytes();
        Matcher {
            directions: self.directions,
            everything: self.text.is_empty(),
            patterns,
            // Formatting the address costs more than the search: only when it could match.
            address: could_be_in_address(address).then(|| address.to_vec()),
        }
    }
}

/// A [`Filter`] prepared for testing many rows.
#[derive(Debug)]
pub struct Matcher {
    directions: u8,
    everything: bool,
    patterns: Vec<Pattern>,
    address: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Pattern {
    bytes: Vec<u8>,
    ignore_case: bool,
}

impl Matcher {
    pub fn matches(&self, row: &LogRow) -> bool {
        if self.directions & row.direction.bit() == 0 {
            return false;
        }
        self.everything
            || self.patterns.iter().any(|p| {
                if p.ignore_case {
                    contains_ignore_ascii_case(&row.data, &p.bytes)
                } else {
                    contains(&row.data, &p.bytes)
                }
            })
            || self.address.as_ref().is_some_and(|needle| {
                row.peer.is_some_and(|peer| {
                    contains_ignore_ascii_case(peer.to_string().as_bytes(), needle)
                })
            })
    }
}

fn could_be_in_address(needle: &[u8]) -> bool {
    !needle.is_empty()
        && needle
            .iter()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']'))
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len()
        && haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Rows examined per call to [`FilteredRows::update`], so that a new filter over a full log
/// is applied over a few frames instead of freezing one.
pub const FILTER_ROWS_PER_FRAME: u64 = 100_000;

/// The rows matching a filter, kept up to date incrementally as rows come and go.
#[derive(Debug, Default)]
pub struct FilteredRows {
    filter: Option<(Filter, Matcher)>,
    generation: u64,
    /// Matching row numbers, oldest first.
    matches: VecDeque<u64>,
    scanned_to: u64,
}

impl FilteredRows {
    /// Brings the matches up to date with `log` and `filter`, examining at most `budget`
    /// rows; returns false while rows remain to examine.
    pub fn update(&mut self, log: &Log, filter: &Filter, budget: u64) -> bool {
        if self.filter.as_ref().map(|(f, _)| f) != Some(filter)
            || self.generation != log.generation()
        {
            self.filter = Some((filter.clone(), filter.matcher()));
            self.generation = log.generation();
            self.matches.clear();
            self.scanned_to = log.first_seq();
        }
        while self
            .matches
            .front()
            .is_some_and(|&seq| seq < log.first_seq())
        {
            self.matches.pop_front();
        }
        let start = self.scanned_to.max(log.first_seq());
        let end = log.end_seq().min(start.saturating_add(budget));
        let Some((_, matcher)) = &self.filter else {
            return true;
        };
        for seq in start..end {
            if log.by_seq(seq).is_some_and(|row| matcher.matches(row)) {
                self.matches.push_back(seq);
            }
        }
        self.scanned_to = end;
        end == log.end_seq()
    }

    /// Rows examined so far, for a progress note while a filter is being applied.
    pub fn scanned(&self, log: &Log) -> u64 {
        self.scanned_to.saturating_sub(log.first_seq())
    }

    /// The row number of the `index`th match, as of the last `update`.
    pub fn matches_at(&self, index: usize) -> Option<u64> {
        self.matches.get(index).copied()
    }

    pub fn len(&self) -> usize {
        self.matches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(direction: Direction, data: &[u8]) -> LogRow {
        LogRow {
            time: Local::now(),
            direction,
            peer: None,
            data: data.into(),
        }
    }

    #[test]
    fn drops_oldest_rows_past_the_row_cap_and_counts_them() {
        let mut log = Log::default();
        for _ in 0..MAX_ROWS + 5 {
            log.push(row(Direction::Received, b"x"));
        }
        assert_eq!(log.len(), MAX_ROWS);
        assert_eq!(log.dropped(), 5);
        assert_eq!(log.bytes(), MAX_ROWS);
        assert_eq!(log.first_seq(), 5);
        assert!(log.by_seq(4).is_none() && log.by_seq(5).is_some());
        log.clear();
        assert!(log.is_empty());
        assert_eq!((log.dropped(), log.bytes(), log.generation()), (0, 0, 1));
    }

    #[test]
    fn drops_oldest_rows_past_the_byte_cap_but_keeps_the_newest() {
        let mut log = Log::default();
        log.push(row(Direction::Received, &vec![0; MAX_BYTES / 2]));
        log.push(row(Direction::Received, &vec![0; MAX_BYTES / 2]));
        log.push(row(Direction::Received, &[0; 10]));
        assert_eq!(log.len(), 2);
        assert_eq!(log.dropped(), 1);
        log.push(row(Direction::Received, &vec![0; MAX_BYTES * 2]));
        assert_eq!(log.len(), 1, "a single huge row is kept alone");
    }

    #[test]
    fn matches_peer_addresses_only_with_address_like_text() {
        let mut entry = row(Direction::Received, b"data");
        entry.peer = Some("127.0.0.1:5000".parse().unwrap());
        let filter = |text: &str| Filter {
            text: text.into(),
            ..Filter::default()
        };
        assert!(filter(":5000").matcher().matches(&entry));
        assert!(filter("DATA").matcher().matches(&entry));
        assert!(!filter("port").matcher().matches(&entry));
    }

    #[test]
    fn finds_bytes_the_way_the_log_shows_them() {
        let gbk = row(Direction::Received, b"\xc4\xe3\xba\xc3 ok\r\n");
        let filter = |text: &str, encoding: TextEncoding, hex: bool| Filter {
            text: text.into(),
            encoding,
            hex,
            ..Filter::default()
        };
        assert!(
            filter("你好", TextEncoding::Gbk, false)
                .matcher()
                .matches(&gbk)
        );
        assert!(
            !filter("你好", TextEncoding::Utf8, false)
                .matcher()
                .matches(&gbk)
        );
        assert!(
            filter("OK\\r\\n", TextEncoding::Gbk, false)
                .matcher()
                .matches(&gbk)
        );
        assert!(
            filter("0d 0a", TextEncoding::Utf8, true)
                .matcher()
                .matches(&gbk)
        );
        assert!(
            filter("C4E3", TextEncoding::Utf8, true)
                .matcher()
                .matches(&gbk)
        );
        assert!(
            !filter("0d 0a", TextEncoding::Utf8, false)
                .matcher()
                .matches(&gbk),
            "hex is read as hex only when the log shows hex"
        );
        assert!(
            !filter("4F 4B", TextEncoding::Utf8, true)
                .matcher()
                .matches(&gbk),
            "hex bytes match exactly, not ignoring case"
        );
    }

    #[test]
    fn filters_by_direction_and_text_incrementally() {
        let mut log = Log::default();
        log.push(row(Direction::Received, b"Hello world"));
        log.push(row(Direction::Sent, b"hello again"));
        log.push(row(Direction::System, b"connected"));
        let mut filter = Filter::default();
        let mut rows = FilteredRows::default();
        let matches = |rows: &FilteredRows| {
            (0..rows.len())
                .filter_map(|i| rows.matches_at(i))
                .collect::<Vec<_>>()
        };
        assert!(rows.update(&log, &filter, 100));
        assert_eq!(rows.len(), 3);
        filter.text = "HELLO".into();
        rows.update(&log, &filter, 100);
        assert_eq!(matches(&rows), [0, 1]);
        filter.set(Direction::Sent, false);
        rows.update(&log, &filter, 100);
        assert_eq!(matches(&rows), [0]);
        log.push(row(Direction::Received, b"hello three"));
        rows.update(&log, &filter, 100);
        assert_eq!(matches(&rows), [0, 3]);
        // A small budget spreads the work over several calls with the same result.
        filter.text = "hello".into();
        assert!(!rows.update(&log, &filter, 2));
        assert_eq!(rows.scanned(&log), 2);
        assert!(rows.update(&log, &filter, 2));
        assert_eq!(matches(&rows), [0, 3]);
        log.clear();
        rows.update(&log, &filter, 100);
        assert!(rows.is_empty());
    }
}
