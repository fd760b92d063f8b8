//! Sending a file: a reader thread streams it in chunks through a small bounded channel,
//! so neither memory nor the net thread ever holds more than a few chunks of it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crossbeam_channel::{Receiver, Sender};

use std::time::{Duration, Instant};

use super::command::{DatagramPacing, Target};
use super::ids::{SessionId, TransferId};
use super::wording::describe_file_error;

/// Bytes per chunk read from the file.
pub const FILE_CHUNK: usize = 256 * 1024;
/// Chunks waiting between the reader thread and the net thread.
const CHUNKS_IN_FLIGHT: usize = 4;
/// The net thread takes another chunk only while every target has less than this queued.
pub const FILE_QUEUE_LOW: usize = 1024 * 1024;

pub(crate) enum FileChunk {
    Opened {
        size: u64,
    },
    Data {
        bytes: Vec<u8>,
        last: bool,
    },
    /// The file was empty.
    End,
    Failed(String),
}

pub(crate) struct Transfer {
    pub id: TransferId,
    pub session: SessionId,
    pub target: Target,
    pub path: PathBuf,
    pub chunks: Receiver<FileChunk>,
    pub sent: Arc<AtomicU64>,
    /// UDP only: how the file is cut into datagrams and paced.
    pub datagrams: Option<DatagramSchedule>,
}

/// A UDP transfer's progress through the file and against its rate.
pub(crate) struct DatagramSchedule {
    pub pacing: DatagramPacing,
    /// Bytes read from the file; those from `pending_at` on are not sent yet.
    pub pending: Vec<u8>,
    pub pending_at: usize,
    /// The file has no more chunks: `pending` is the end of it.
    pub file_done: bool,
    pub started: Instant,
    pub datagrams_sent: u64,
}

impl DatagramSchedule {
    pub fn new(pacing: DatagramPacing, now: Instant) -> Self {
        DatagramSchedule {
            pacing,
            pending: Vec::new(),
            pending_at: 0,
            file_done: false,
            started: now,
            datagrams_sent: 0,
        }
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_at
    }

    /// A whole datagram is waiting, or the last (shorter) one of the file.
    pub fn has_datagram(&self) -> bool {
        let waiting = self.pending_len();
        waiting >= self.pacing.size || (self.file_done && waiting > 0)
    }

    /// Adds a chunk read from the file, first dropping what was already sent.
    pub fn refill(&mut self, bytes: &[u8]) {
        self.pending.drain(..self.pending_at);
        self.pending_at = 0;
        self.pending.extend_from_slice(bytes);
    }

    /// The next datagram's bytes.
    pub fn take_datagram(&mut self) -> Vec<u8> {
        let end = (self.pending_at + self.pacing.size).min(self.pending.len());
        let datagram = self.pending[self.pending_at..end].to_vec();
        self.pending_at = end;
        datagram
    }

    /// How many datagrams the rate allows by `now` beyond those sent, and when the next
    /// one is due if none is (`per_second` 0: no limit).
    pub fn allowance(&self, now: Instant) -> (u64, Option<Instant>) {
        let rate = u64::from(self.pacing.per_second);
        if rate == 0 {
            return (u64::MAX, None);
        }
        let elapsed = now.saturating_duration_since(self.started);
        let allowed = (elapsed.as_nanos() * u128::from(rate) / 1_000_000_000) as u64 + 1;
        if allowed > self.datagrams_sent {
            (allowed - self.datagrams_sent, None)
        } else {
            let due = self.datagrams_sent as u128 * 1_000_000_000 / u128::from(rate);
            (0, Some(self.started + Duration::from_nanos(due as u64)))
        }
    }
}

/// Starts the reader thread; `wake` nudges the net thread after each chunk.
pub(crate) fn start_reader(
    path: PathBuf,
    wake: impl Fn() + Send + 'static,
) -> io::Result<Receiver<FileChunk>> {
    let (tx, rx) = crossbeam_channel::bounded(CHUNKS_IN_FLIGHT);
    std::thread::Builder::new()
        .name("socklab-file".into())
        .spawn(move || read_file(&path, &tx, &wake))?;
    Ok(rx)
}

fn read_file(path: &PathBuf, tx: &Sender<FileChunk>, wake: &dyn Fn()) {
    let send = |chunk: FileChunk| {
        let delivered = tx.send(chunk).is_ok();
        wake();
        delivered
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            send(failure("open", path, &e));
            return;
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if !send(FileChunk::Opened { size }) {
        return;
    }
    // One chunk of look-ahead: the last chunk goes out marked as last, so the transfer is
    // complete once it is queued, even if the peer closes before the reader could say "end".
    let mut pending: Option<Vec<u8>> = None;
    loop {
        let chunk = match read_chunk(&mut file) {
            Ok(chunk) => chunk,
            Err(e) => {
                send(failure("read", path, &e));
                return;
            }
        };
        if chunk.is_empty() {
            send(match pending {
                Some(bytes) => FileChunk::Data { bytes, last: true },
                None => FileChunk::End,
            });
            return;
        }
        // A closed channel means the transfer was cancelled: stop reading.
        if let Some(bytes) = pending.replace(chunk)
            && !send(FileChunk::Data { bytes, last: false })
        {
            return;
        }
    }
}

fn failure(doing: &str, path: &Path, error: &io::Error) -> FileChunk {
    FileChunk::Failed(format!(
        "cannot {doing} {}: {}",
        path.display(),
        describe_file_error(error)
    ))
}

/// Reads a whole chunk (fewer, larger writes on the socket); empty at the end of the file.
fn read_chunk(file: &mut File) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; FILE_CHUNK];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paced_transfer_sends_at_its_rate() {
        let start = Instant::now();
        let pacing = DatagramPacing {
            size: 100,
            per_second: 1000,
        };
        let mut schedule = DatagramSchedule::new(pacing, start);
        assert_eq!(schedule.allowance(start), (1, None));
        schedule.datagrams_sent = 1;
        assert_eq!(
            schedule.allowance(start),
            (0, Some(start + Duration::from_millis(1)))
        );
        assert_eq!(schedule.allowance(start + Duration::from_millis(10)).0, 10);
        let unpaced = DatagramPacing {
            size: 1,
            per_second: 0,
        };
        let unpaced = DatagramSchedule::new(unpaced, start);
        assert_eq!(unpaced.allowance(start), (u64::MAX, None));
    }

    #[test]
    fn a_file_is_cut_into_datagrams_across_chunks() {
        let pacing = DatagramPacing {
            size: 4,
            per_second: 0,
        };
        let mut schedule = DatagramSchedule::new(pacing, Instant::now());
        schedule.refill(b"abcdef");
        assert!(schedule.has_datagram());
        assert_eq!(schedule.take_datagram(), b"abcd");
        assert!(!schedule.has_datagram(), "2 bytes wait for the next chunk");
        schedule.refill(b"ghij");
        assert_eq!(schedule.take_datagram(), b"efgh");
        schedule.file_done = true;
        assert!(
            schedule.has_datagram(),
            "the short end of the file goes too"
        );
        assert_eq!(schedule.take_datagram(), b"ij");
        assert!(!schedule.has_datagram());
    }
}
