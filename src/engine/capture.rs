//! Capturing every received byte of a session to a file, on a writer thread fed through a
//! bounded channel. When the disk falls behind, the net thread pauses reading (TCP slows the
//! peer) instead of dropping bytes or growing memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::ids::SessionId;
use super::wording::describe_io_error;

/// Received chunks waiting for the disk (64 KiB each at most).
const CHUNKS_IN_FLIGHT: usize = 64;

/// What the writer thread reports back to the net thread when it ends.
pub(crate) struct CaptureDone {
    pub session: SessionId,
    pub capture: u64,
    pub path: PathBuf,
    pub bytes: u64,
    pub error: Option<String>,
}

pub(crate) struct Capture {
    /// Tells this capture apart from a later one of the same session.
    pub id: u64,
    pub chunks: Sender<Arc<[u8]>>,
    writer: std::thread::JoinHandle<()>,
}

impl Capture {
    /// Closes the channel and waits until the file is flushed and closed.
    pub fn finish(self) {
        drop(self.chunks);
        let _ = self.writer.join();
    }

    /// True when one more chunk would not fit: the caller must not read now.
    pub fn is_full(&self) -> bool {
        self.chunks.is_full()
    }
}

/// Starts the writer thread. `done` is called once, when the channel closes or writing fails.
pub(crate) fn start_writer(
    session: SessionId,
    id: u64,
    file_path: PathBuf,
    done: impl FnOnce(CaptureDone) + Send + 'static,
) -> io::Result<Capture> {
    let (tx, rx) = crossbeam_channel::bounded::<Arc<[u8]>>(CHUNKS_IN_FLIGHT);
    let writer = std::thread::Builder::new()
        .name("socklab-capture".into())
        .spawn(move || {
            let mut bytes = 0u64;
            let result = (|| {
                let mut out = BufWriter::with_capacity(1 << 20, File::create(&file_path)?);
                for chunk in rx.iter() {
                    out.write_all(&chunk)?;
                    bytes += chunk.len() as u64;
                }
                out.flush()
            })();
            done(CaptureDone {
                session,
                capture: id,
                path: file_path.clone(),
                bytes,
                error: result.err().map(|e| {
                    format!(
                        "capture to {} failed: {}",
                        file_path.display(),
                        describe_io_error(&e)
                    )
                }),
            });
        })?;
    Ok(Capture {
        id,
        chunks: tx,
        writer,
    })
}
