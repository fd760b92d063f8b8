//! The bounded message log of one socket: rows in arrival order, capped in rows and bytes.
//! When the cap drops old rows it counts them, so the view can say so; byte counters live
//! in the engine and stay exact regardless.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Local};

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

    /// This direction's bit in a set of directions (see the filter).
    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// What the framing or the checksum check says about a received message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowNote {
    #[default]
    None,
    ChecksumOk,
    ChecksumWrong,
    /// A piece of a message longer than the framing's maximum.
    TooLong,
    /// Bytes that never became a whole message: the stream ended or the framing changed.
    Leftover,
}

impl RowNote {
    pub fn label(self) -> &'static str {
        match self {
            RowNote::None => "",
            RowNote::ChecksumOk => "checksum ok",
            RowNote::ChecksumWrong => "checksum WRONG",
            RowNote::TooLong => "over the maximum size: cut",
            RowNote::Leftover => "incomplete message",
        }
    }

    /// Something a person should look at.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            RowNote::ChecksumWrong | RowNote::TooLong | RowNote::Leftover
        )
    }
}

/// One row of the log, borrowed from it (or handed to [`Log::push`], which copies it).
#[derive(Clone, Copy, Debug)]
pub struct LogRow<'a> {
    pub time: DateTime<Local>,
    pub direction: Direction,
    pub peer: Option<SocketAddr>,
    /// Bytes for data rows; UTF-8 text for system rows.
    pub data: &'a [u8],
    pub note: RowNote,
}

/// Rows per chunk at most.
const CHUNK_ROWS: usize = 4096;
/// A chunk takes no more rows once its data passes this; a larger row gets a chunk of its own.
const CHUNK_BYTES: usize = 256 * 1024;
/// Rows at least this long keep an allocation of their own instead of being copied into the
/// chunk's buffer: a flood of 64 KiB reads is then stored without copying.
const OWN_ALLOCATION: usize = 1024;
/// In a chunk's row, the peer index that means "no peer".
const NO_PEER: u16 = u16::MAX;
const _: () = assert!(
    CHUNK_ROWS < NO_PEER as usize,
    "a chunk's peers fit its index"
);

/// Rows stored back to back: their data in one buffer and their peers in a small table, so a
/// row costs a few dozen bytes besides its data and no allocation of its own. Full chunks are
/// shared, never changed, so a snapshot of the whole log is a few reference counts.
#[derive(Clone, Debug, Default)]
struct Chunk {
    rows: Vec<RowInChunk>,
    /// Short rows' data, back to back.
    data: Vec<u8>,
    /// Long rows' data.
    large: Vec<Box<[u8]>>,
    peers: Vec<SocketAddr>,
    /// Data bytes of all its rows.
    bytes: usize,
}

#[derive(Clone, Copy, Debug)]
struct RowInChunk {
    time: DateTime<Local>,
    /// Offset in `data`, or index in `large`.
    start: u32,
    /// Length of a short row (a long row's is its allocation's).
    len: u32,
    peer: u16,
    direction: Direction,
    note: RowNote,
    large: bool,
}

/// Data handed to the log: copied when borrowed, kept when owned and long.
enum RowData<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl RowData<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            RowData::Borrowed(data) => data,
            RowData::Owned(data) => data,
        }
    }

    fn into_box(self) -> Box<[u8]> {
        match self {
            RowData::Borrowed(data) => data.into(),
            RowData::Owned(data) => data.into_boxed_slice(),
        }
    }
}

impl Chunk {
    fn row(&self, index: usize) -> Option<LogRow<'_>> {
        let row = self.rows.get(index)?;
        let start = row.start as usize;
        let data = if row.large {
            // The whole allocation: `len` is only meant for short rows.
            self.large.get(start)?
        } else {
            self.data.get(start..start + row.len as usize)?
        };
        Some(LogRow {
            time: row.time,
            direction: row.direction,
            peer: self.peers.get(usize::from(row.peer)).copied(),
            data,
            note: row.note,
        })
    }

    fn has_room_for(&self, data_len: usize) -> bool {
        self.rows.len() < CHUNK_ROWS && (self.bytes == 0 || self.bytes + data_len <= CHUNK_BYTES)
    }
}

/// A chunk and the sequence number of its first row.
#[derive(Clone, Debug)]
struct Stored {
    first_seq: u64,
    chunk: Arc<Chunk>,
}

/// The bounded log of one socket. Rows are numbered in arrival order; dropping old rows
/// keeps the numbers of the rest.
#[derive(Debug, Default)]
pub struct Log {
    chunks: VecDeque<Stored>,
    /// Sequence number of the oldest kept row (older rows of the first chunk are dropped).
    first_seq: u64,
    /// The sequence number the next row gets.
    end_seq: u64,
    /// Data bytes of the kept rows.
    bytes: usize,
    dropped: u64,
    /// Bumped by `clear` so the view can reset its scroll position.
    generation: u64,
    /// Peer table index of the last chunk, while it takes rows.
    last_chunk_peers: HashMap<SocketAddr, u16>,
}

impl Log {
    pub fn push(&mut self, row: LogRow<'_>) {
        self.push_data(
            row.time,
            row.direction,
            row.peer,
            RowData::Borrowed(row.data),
            row.note,
        );
    }

    /// Like [`Log::push`], keeping `data`'s allocation when the row is long.
    pub fn push_owned(
        &mut self,
        time: DateTime<Local>,
        direction: Direction,
        peer: Option<SocketAddr>,
        data: Vec<u8>,
    ) {
        self.push_data(time, direction, peer, RowData::Owned(data), RowNote::None);
    }

    fn push_data(
        &mut self,
        time: DateTime<Local>,
        direction: Direction,
        peer: Option<SocketAddr>,
        data: RowData<'_>,
        note: RowNote,
    ) {
        let len = data.as_slice().len();
        let fits = self
            .chunks
            .back()
            .is_some_and(|last| last.chunk.has_room_for(len));
        if !fits {
            self.seal_last_chunk();
            self.chunks.push_back(Stored {
                first_seq: self.end_seq,
                chunk: Arc::new(Chunk::default()),
            });
        }
        let Some(last) = self.chunks.back_mut() else {
            return;
        };
        // Copies the last chunk only if a snapshot is still reading it.
        let chunk = Arc::make_mut(&mut last.chunk);
        let peer = match peer {
            None => NO_PEER,
            Some(peer) => *self.last_chunk_peers.entry(peer).or_insert_with(|| {
                chunk.peers.push(peer);
                (chunk.peers.len() - 1) as u16
            }),
        };
        let large = len >= OWN_ALLOCATION;
        let start = if large {
            chunk.large.push(data.into_box());
            chunk.large.len() - 1
        } else {
            chunk.data.extend_from_slice(data.as_slice());
            chunk.data.len() - len
        };
        chunk.rows.push(RowInChunk {
            time,
            start: start as u32,
            len: if large { 0 } else { len as u32 },
            peer,
            direction,
            note,
            large,
        });
        chunk.bytes += len;
        self.end_seq += 1;
        self.bytes += len;
        while self.len() > MAX_ROWS || (self.bytes > MAX_BYTES && self.len() > 1) {
            self.drop_oldest();
        }
    }

    /// Gives back the spare capacity of the chunk that is full.
    fn seal_last_chunk(&mut self) {
        self.last_chunk_peers.clear();
        // A chunk a snapshot still reads is left as it is rather than copied.
        if let Some(chunk) = self
            .chunks
            .back_mut()
            .and_then(|l| Arc::get_mut(&mut l.chunk))
        {
            chunk.rows.shrink_to_fit();
            chunk.data.shrink_to_fit();
            chunk.large.shrink_to_fit();
            chunk.peers.shrink_to_fit();
        }
    }

    fn drop_oldest(&mut self) {
        let Some(first) = self.chunks.front() else {
            return;
        };
        let index = (self.first_seq - first.first_seq) as usize;
        let len = first.chunk.row(index).map_or(0, |r| r.data.len());
        let chunk_done = index + 1 >= first.chunk.rows.len();
        self.bytes -= len;
        self.dropped += 1;
        self.first_seq += 1;
        if chunk_done {
            self.chunks.pop_front();
            if self.chunks.is_empty() {
                self.last_chunk_peers.clear();
            }
        }
    }

    pub fn system(&mut self, time: DateTime<Local>, peer: Option<SocketAddr>, text: String) {
        self.push(LogRow {
            time,
            direction: Direction::System,
            peer,
            data: text.as_bytes(),
            note: Default::default(),
        });
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.last_chunk_peers.clear();
        self.first_seq = self.end_seq;
        self.bytes = 0;
        self.dropped = 0;
        self.generation += 1;
    }

    pub fn len(&self) -> usize {
        (self.end_seq - self.first_seq) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<LogRow<'_>> {
        self.by_seq(self.first_seq + index as u64)
    }

    /// The row numbered `seq`, if it is still kept.
    pub fn by_seq(&self, seq: u64) -> Option<LogRow<'_>> {
        if seq < self.first_seq || seq >= self.end_seq {
            return None;
        }
        let after = self.chunks.partition_point(|c| c.first_seq <= seq);
        let stored = self.chunks.get(after.checked_sub(1)?)?;
        stored.chunk.row((seq - stored.first_seq) as usize)
    }

    /// The number the next row will get.
    pub fn end_seq(&self) -> u64 {
        self.end_seq
    }

    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    pub fn iter(&self) -> impl Iterator<Item = LogRow<'_>> {
        rows_from(self.chunks.iter(), self.first_seq)
    }

    /// The kept rows from number `seq` on, with their numbers.
    pub fn iter_from(&self, seq: u64) -> impl Iterator<Item = (u64, LogRow<'_>)> {
        let seq = seq.max(self.first_seq);
        let first_chunk = self
            .chunks
            .partition_point(|c| c.first_seq <= seq)
            .saturating_sub(1);
        (seq..self.end_seq).zip(rows_from(self.chunks.range(first_chunk..), seq))
    }

    /// Every kept row as of now, cheap to take and safe to read on another thread.
    pub fn snapshot(&self) -> LogSnapshot {
        LogSnapshot {
            chunks: self.chunks.clone(),
            first_seq: self.first_seq,
            len: self.len(),
        }
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

/// The rows of `chunks` numbered `first_seq` and later.
fn rows_from<'a>(
    chunks: impl Iterator<Item = &'a Stored>,
    first_seq: u64,
) -> impl Iterator<Item = LogRow<'a>> {
    chunks.flat_map(move |stored| {
        let skip = first_seq.saturating_sub(stored.first_seq) as usize;
        (skip..stored.chunk.rows.len()).filter_map(|index| stored.chunk.row(index))
    })
}

/// The log's rows at one moment, for saving while the log goes on.
#[derive(Debug)]
pub struct LogSnapshot {
    chunks: VecDeque<Stored>,
    first_seq: u64,
    len: usize,
}

impl LogSnapshot {
    pub fn iter(&self) -> impl Iterator<Item = LogRow<'_>> {
        rows_from(self.chunks.iter(), self.first_seq).take(self.len)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A row of `data` from no peer, now: for tests here and in the filter.
#[cfg(test)]
pub(crate) fn test_row(direction: Direction, data: &[u8]) -> LogRow<'_> {
    LogRow {
        time: Local::now(),
        direction,
        peer: None,
        data,
        note: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(direction: Direction, data: &[u8]) -> LogRow<'_> {
        test_row(direction, data)
    }

    /// The data of row `seq`: its number, then filler, so rows differ.
    fn data_of(seq: u64, len: usize) -> Vec<u8> {
        let mut data = seq.to_le_bytes().to_vec();
        data.resize(len.max(8), seq as u8);
        data
    }

    fn peer_of(seq: u64) -> Option<SocketAddr> {
        (!seq.is_multiple_of(7))
            .then(|| SocketAddr::from(([127, 0, 0, 1], 40000 + (seq % 5000) as u16)))
    }

    fn assert_same(log: &Log, model: &VecDeque<(u64, Vec<u8>)>) {
        assert_eq!(log.len(), model.len());
        assert_eq!(
            log.bytes(),
            model.iter().map(|(_, d)| d.len()).sum::<usize>()
        );
        assert_eq!(
            log.first_seq(),
            model.front().map_or(log.end_seq(), |(s, _)| *s)
        );
        let rows: Vec<_> = log.iter().collect();
        assert_eq!(rows.len(), model.len());
        for (row, (seq, data)) in rows.iter().zip(model) {
            assert_eq!(row.data, &data[..], "row {seq}");
            assert_eq!(row.peer, peer_of(*seq), "row {seq}");
            assert_eq!(log.by_seq(*seq).map(|r| r.data), Some(&data[..]));
        }
        let middle = log.first_seq() + model.len() as u64 / 2;
        let from_middle: Vec<_> = log
            .iter_from(middle)
            .map(|(seq, r)| (seq, r.data))
            .collect();
        let expected: Vec<_> = model
            .iter()
            .filter(|(seq, _)| *seq >= middle)
            .map(|(seq, data)| (*seq, &data[..]))
            .collect();
        assert_eq!(from_middle, expected);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// The chunked log against a plain list of rows under the same caps.
        #[test]
        fn keeps_exactly_the_rows_a_plain_list_would(
            sizes in proptest::collection::vec(
                proptest::prop_oneof![0usize..64, 60_000usize..70_000, 3_000_000usize..5_000_000],
                1..120,
            ),
            clear_at in proptest::option::of(0usize..120),
        ) {
            let mut log = Log::default();
            let mut model: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
            let mut model_bytes = 0;
            for (i, len) in sizes.into_iter().enumerate() {
                if clear_at == Some(i) {
                    log.clear();
                    model.clear();
                    model_bytes = 0;
                }
                let seq = log.end_seq();
                let data = data_of(seq, len);
                if seq.is_multiple_of(2) {
                    log.push(LogRow { time: Local::now(), direction: Direction::Received, peer: peer_of(seq), data: &data, note: Default::default() });
                } else {
                    log.push_owned(Local::now(), Direction::Received, peer_of(seq), data.clone());
                }
                model_bytes += data.len();
                model.push_back((seq, data));
                while model.len() > MAX_ROWS || (model_bytes > MAX_BYTES && model.len() > 1) {
                    let (_, old) = model.pop_front().unwrap();
                    model_bytes -= old.len();
                }
            }
            assert_same(&log, &model);
        }
    }

    #[test]
    fn many_peers_and_rows_cross_chunks_intact() {
        let mut log = Log::default();
        let mut model = VecDeque::new();
        for seq in 0..20_000u64 {
            let data = data_of(seq, (seq % 300) as usize);
            log.push(LogRow {
                time: Local::now(),
                direction: Direction::Sent,
                peer: peer_of(seq),
                data: &data,
                note: Default::default(),
            });
            model.push_back((seq, data));
        }
        assert_same(&log, &model);
    }

    #[test]
    fn a_snapshot_keeps_its_rows_while_the_log_goes_on() {
        let mut log = Log::default();
        for seq in 0..10u64 {
            log.system(Local::now(), peer_of(seq), format!("row {seq}"));
        }
        let snapshot = log.snapshot();
        // Fill and overflow the log: the snapshot's rows must not change.
        let big = vec![b'z'; MAX_BYTES / 4];
        for _ in 0..8 {
            log.push(LogRow {
                time: Local::now(),
                direction: Direction::Received,
                peer: None,
                data: &big,
                note: Default::default(),
            });
        }
        log.system(Local::now(), None, "after".into());
        assert!(log.dropped() >= 10, "the snapshot's rows left the log");
        let texts: Vec<_> = snapshot
            .iter()
            .map(|r| String::from_utf8(r.data.to_vec()).unwrap())
            .collect();
        let expected: Vec<_> = (0..10).map(|seq| format!("row {seq}")).collect();
        assert_eq!(texts, expected);
        assert_eq!(snapshot.len(), 10);
        assert_eq!(snapshot.iter().nth(3).unwrap().peer, peer_of(3));
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
}
