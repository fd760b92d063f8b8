//! Which log rows to show: a direction set and a text to find. The text is looked for the
//! way the log shows bytes (encoding, escapes, hex), and the matching row numbers are kept
//! up to date a bounded number of rows at a time, so a new filter never freezes a frame.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::log::{Direction, Log, LogRow};
use crate::payload::{TextEncoding, parse_escaped, parse_hex};

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
        // Case is ignored only in ASCII patterns: the second byte of a GBK, Big5 or
        // Shift_JIS character may be an ASCII letter, and folding it finds another character.
        if let Ok(encoded) = self.encoding.encode(&self.text, 1) {
            let ascii = encoded.is_ascii();
            add(encoded, ascii);
        }
        if self.text.contains('\\')
            && let Ok(unescaped) = parse_escaped(&self.text, self.encoding)
        {
            let ascii = unescaped.is_ascii();
            add(unescaped, ascii);
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
    pub fn matches(&self, row: &LogRow<'_>) -> bool {
        if self.directions & row.direction.bit() == 0 {
            return false;
        }
        self.everything
            || self.patterns.iter().any(|p| {
                if p.ignore_case {
                    contains_ignore_ascii_case(row.data, &p.bytes)
                } else {
                    contains(row.data, &p.bytes)
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
pub const FILTER_ROWS_PER_FRAME: u64 = 50_000;

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
        for (seq, row) in log.iter_from(start).take((end - start) as usize) {
            if matcher.matches(&row) {
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

    fn row(direction: Direction, data: &[u8]) -> LogRow<'_> {
        crate::model::log::test_row(direction, data)
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
        let finds = |text: &str, encoding: TextEncoding, hex: bool| {
            let filter = Filter {
                text: text.into(),
                encoding,
                hex,
                ..Filter::default()
            };
            filter.matcher().matches(&gbk)
        };
        assert!(finds("你好", TextEncoding::Gbk, false));
        assert!(!finds("你好", TextEncoding::Utf8, false));
        assert!(finds("OK\\r\\n", TextEncoding::Gbk, false));
        assert!(finds("0d 0a", TextEncoding::Utf8, true));
        assert!(finds("C4E3", TextEncoding::Utf8, true));
        assert!(
            !finds("0d 0a", TextEncoding::Utf8, false),
            "hex is read as hex only when the log shows hex"
        );
        assert!(
            !finds("4F 4B", TextEncoding::Utf8, true),
            "hex bytes match exactly, not ignoring case"
        );
        // "ア" is 83 41 in Shift_JIS; 83 61 is another character, not a case of it.
        let other = row(Direction::Received, b"\x83\x61");
        let filter = Filter {
            text: "ア".into(),
            encoding: TextEncoding::ShiftJis,
            ..Filter::default()
        };
        assert!(!filter.matcher().matches(&other));
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
