//! The bounded message log of one socket: rows in arrival order, capped in rows and bytes.
//! When the cap drops old rows it counts them, so the view can say so; byte counters live
//! in the engine and stay exact regardless.

use std::collections::VecDeque;
use std::net::SocketAddr;

use chrono::{DateTime, Local};

/// Rows kept per socket before the oldest are dropped.
pub const MAX_ROWS: usize = 200_000;
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
    pub fn label(self) -> &'static str {
        match self {
            Direction::Received => "recv",
            Direction::Sent => "sent",
            Direction::Relayed => "relay",
            Direction::System => "info",
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(len: usize) -> LogRow {
        LogRow {
            time: Local::now(),
            direction: Direction::Received,
            peer: None,
            data: vec![0; len].into_boxed_slice(),
        }
    }

    #[test]
    fn drops_oldest_rows_past_the_row_cap_and_counts_them() {
        let mut log = Log::default();
        for _ in 0..MAX_ROWS + 5 {
            log.push(row(1));
        }
        assert_eq!(log.len(), MAX_ROWS);
        assert_eq!(log.dropped(), 5);
        assert_eq!(log.bytes(), MAX_ROWS);
        log.clear();
        assert!(log.is_empty());
        assert_eq!((log.dropped(), log.bytes(), log.generation()), (0, 0, 1));
    }

    #[test]
    fn drops_oldest_rows_past_the_byte_cap_but_keeps_the_newest() {
        let mut log = Log::default();
        log.push(row(MAX_BYTES / 2));
        log.push(row(MAX_BYTES / 2));
        log.push(row(10));
        assert_eq!(log.len(), 2);
        assert_eq!(log.dropped(), 1);
        log.push(row(MAX_BYTES * 2));
        assert_eq!(log.len(), 1, "a single huge row is kept alone");
        assert_eq!(log.bytes(), MAX_BYTES * 2);
    }
}
