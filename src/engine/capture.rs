//! Capturing every received byte of a session to a file, on a writer thread fed through a
//! bounded channel. When the disk falls behind, the net thread pauses reading (TCP slows the
//! peer) instead of dropping bytes or growing memory. The writer hands its buffer to the
//! kernel whenever nothing more is queued and at least every [`FLUSH_EVERY`], so `tail -f`
//! shows data promptly and a killed process loses at most that much.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::ids::SessionId;
use super::wording::describe_file_error;

/// Received chunks waiting for the disk (64 KiB each at most).
const CHUNKS_IN_FLIGHT: usize = 64;
/// The longest a received byte waits in the writer before it is written to the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Bytes gathered before writing even if more are queued: fewer, larger writes.
const BUFFER_BYTES: usize = 1 << 20;

/// What the writer thread reports back to the net thread when it ends.
pub(crate) struct CaptureDone {
    pub session: SessionId,
    pub capture: u64,
    pub path: PathBuf,
    /// Bytes that reached the file (handed to the kernel), whatever happened after.
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
            let mut written = 0u64;
            let result = write_capture(&file_path, &rx, &mut written);
            done(CaptureDone {
                session,
                capture: id,
                path: file_path.clone(),
                bytes: written,
                error: result.err().map(|e| {
                    format!(
                        "capture to {} failed: {}",
                        file_path.display(),
                        describe_file_error(&e)
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

/// Writes every chunk until the channel closes; `written` counts bytes the file took.
fn write_capture(path: &Path, chunks: &Receiver<Arc<[u8]>>, written: &mut u64) -> io::Result<()> {
    let mut file = File::create(path)?;
    let mut buffer: Vec<u8> = Vec::with_capacity(BUFFER_BYTES);
    // When the oldest byte in the buffer arrived.
    let mut oldest: Option<Instant> = None;
    loop {
        let wait = oldest.map_or(Duration::from_secs(3600), |at| {
            FLUSH_EVERY.saturating_sub(at.elapsed())
        });
        match chunks.recv_timeout(wait) {
            Ok(chunk) => {
                buffer.extend_from_slice(&chunk);
                oldest.get_or_insert_with(Instant::now);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return write_out(&mut file, &mut buffer, written);
            }
        }
        let due = oldest.is_some_and(|at| at.elapsed() >= FLUSH_EVERY);
        if chunks.is_empty() || due || buffer.len() >= BUFFER_BYTES {
            write_out(&mut file, &mut buffer, written)?;
            oldest = None;
        }
    }
}

/// Hands the whole buffer to the kernel, counting what it took even if it fails midway.
fn write_out(file: &mut impl Write, buffer: &mut Vec<u8>, written: &mut u64) -> io::Result<()> {
    let mut start = 0;
    let result = loop {
        if start == buffer.len() {
            break Ok(());
        }
        match file.write(&buffer[start..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                start += n;
                *written += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buffer.clear();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture_into(path: PathBuf) -> (Capture, Receiver<CaptureDone>) {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let capture = start_writer(SessionId::new(1), 1, path, move |done| {
            let _ = done_tx.send(done);
        })
        .unwrap();
        (capture, done_rx)
    }

    #[test]
    fn bytes_reach_the_file_while_the_capture_stays_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture.bin");
        let (capture, _done) = capture_into(path.clone());
        capture.chunks.send(Arc::from(&b"first bytes"[..])).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&path).map_or(0, |m| m.len()) < 11 {
            assert!(
                Instant::now() < deadline,
                "the bytes never reached the file"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"first bytes");
        capture.finish();
    }

    /// A disk that takes `room` bytes, a few at a time, then is full.
    struct FillingDisk {
        room: usize,
    }

    impl Write for FillingDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = buf.len().min(self.room).min(4);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_disk_that_fills_midway_counts_exactly_the_bytes_it_took() {
        let mut disk = FillingDisk { room: 10 };
        let mut buffer = b"0123456789abcdef".to_vec();
        let mut written = 5;
        let error = write_out(&mut disk, &mut buffer, &mut written).unwrap_err();
        assert_eq!(describe_file_error(&error), "no space left on the disk");
        assert_eq!(written, 15);
        assert!(buffer.is_empty());
    }

    #[test]
    fn a_full_disk_is_reported_with_the_bytes_that_reached_it() {
        let (capture, done) = capture_into(PathBuf::from("/dev/full"));
        capture.chunks.send(Arc::from(&b"lost"[..])).unwrap();
        let done = done.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(done.bytes, 0);
        assert_eq!(
            done.error.as_deref(),
            Some("capture to /dev/full failed: no space left on the disk")
        );
        capture.finish();
    }
}
