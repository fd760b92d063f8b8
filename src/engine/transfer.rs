//! Sending a file: a reader thread streams it in chunks through a small bounded channel,
//! so neither memory nor the net thread ever holds more than a few chunks of it.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crossbeam_channel::{Receiver, Sender};

use super::command::Target;
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
