//! One TCP connection on the net thread: its stream, addresses, counters, outbound queue
//! and, for chat sessions, its line framer.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;

use super::chat::LineFramer;
use super::event::{CloseReason, ConnInfo, Counters};
use super::{ConnId, SessionId};

/// Bytes waiting to be written, with whether the owner wants a `Sent` event for them.
struct Chunk {
    data: Arc<[u8]>,
    report: bool,
}

/// What a flush wrote completely, for `Sent` events.
pub(crate) type Written = Vec<Arc<[u8]>>;

pub(crate) struct Conn {
    pub id: ConnId,
    pub session: SessionId,
    pub stream: TcpStream,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    /// `peer` as text, computed once: the chat header repeats it on every line.
    pub peer_text: String,
    pub counters: Arc<Counters>,
    pub framer: Option<LineFramer>,
    queue: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_offset: usize,
    queued_bytes: usize,
    /// Shut down the writing half once the queue is empty (`FinishSending`).
    pub finish_after_flush: bool,
    /// Set once the writing half is shut down.
    pub write_closed: bool,
    /// Graceful close in progress: the connection goes when its queue is empty or at the deadline.
    pub closing: Option<(CloseReason, Instant)>,
    /// The kernel may hold more to read (edge-triggered readiness not yet drained).
    pub read_pending: bool,
    /// Already in the reactor's list of connections to read again.
    pub in_read_list: bool,
    /// Already in the reactor's list of connections to flush.
    pub in_flush_list: bool,
}

impl Conn {
    pub fn new(
        id: ConnId,
        session: SessionId,
        stream: TcpStream,
        local: SocketAddr,
        peer: SocketAddr,
        chat: bool,
    ) -> Self {
        Conn {
            id,
            session,
            stream,
            local,
            peer,
            peer_text: peer.to_string(),
            counters: Arc::new(Counters::default()),
            framer: chat.then(LineFramer::default),
            queue: VecDeque::new(),
            front_offset: 0,
            queued_bytes: 0,
            finish_after_flush: false,
            write_closed: false,
            closing: None,
            read_pending: false,
            in_read_list: false,
            in_flush_list: false,
        }
    }

    pub fn info(&self) -> ConnInfo {
        ConnInfo {
            conn: self.id,
            local: self.local,
            peer: self.peer,
            counters: self.counters.clone(),
        }
    }

    pub fn enqueue(&mut self, data: Arc<[u8]>, report: bool) {
        if data.is_empty() {
            return;
        }
        self.queued_bytes += data.len();
        self.queue.push_back(Chunk { data, report });
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes - self.front_offset
    }

    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    pub fn discard_queue(&mut self) -> u64 {
        let unsent = self.queued_bytes() as u64;
        self.queue.clear();
        self.queued_bytes = 0;
        self.front_offset = 0;
        unsent
    }

    /// Writes as much of the queue as the kernel takes. Returns the chunks written
    /// completely that asked to be reported; `WouldBlock` is not an error.
    pub fn flush(&mut self) -> io::Result<Written> {
        let mut written = Written::new();
        while !self.queue.is_empty() {
            let result = {
                let mut slices = [IoSlice::new(&[]); 64];
                let mut count = 0;
                for (index, chunk) in self.queue.iter().take(slices.len()).enumerate() {
                    let start = if index == 0 { self.front_offset } else { 0 };
                    slices[count] = IoSlice::new(&chunk.data[start..]);
                    count += 1;
                }
                self.stream.write_vectored(&slices[..count])
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(mut n) => {
                    self.counters.add_out(n);
                    while n > 0 {
                        let Some(front) = self.queue.front() else {
                            break;
                        };
                        let left = front.data.len() - self.front_offset;
                        if n >= left {
                            n -= left;
                            self.front_offset = 0;
                            self.queued_bytes -= front.data.len();
                            self.counters.add_message_out();
                            if let Some(chunk) = self.queue.pop_front()
                                && chunk.report
                            {
                                written.push(chunk.data);
                            }
                        } else {
                            self.front_offset += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.queue.is_empty() && self.finish_after_flush && !self.write_closed {
            self.write_closed = true;
            self.stream.shutdown(Shutdown::Write)?;
        }
        Ok(written)
    }

    /// RST instead of FIN when the stream is dropped.
    pub fn set_abortive(&self) {
        // Failing only means a FIN goes out instead; nothing to report.
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(std::time::Duration::ZERO));
    }
}
