//! A connection's outbound queue: payloads waiting for the kernel, written with one
//! vectored write per turn and tracked to the byte, so a partial write resumes exactly
//! where the kernel stopped and counters say what really left.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::sync::Arc;

use super::event::Counters;

/// Payloads handed to one vectored write at most.
const SLICES_PER_WRITE: usize = 64;

/// Bytes waiting to be written, with whether the owner wants a `Sent` event for them.
struct Pending {
    data: Arc<[u8]>,
    report: bool,
}

/// What a flush wrote completely and was asked to report, for `Sent` events.
pub(crate) type Written = Vec<Arc<[u8]>>;

#[derive(Default)]
pub(crate) struct SendQueue {
    queue: VecDeque<Pending>,
    /// Bytes of the front payload already written.
    front_offset: usize,
    /// Bytes of every queued payload, the written part of the front one included.
    queued_bytes: usize,
}

impl SendQueue {
    /// Queues `data`; `report` asks for it back from [`flush_into`](Self::flush_into) once
    /// written completely. Shared buffers let one chat relay sit in many queues.
    pub fn push(&mut self, data: Arc<[u8]>, report: bool) {
        if data.is_empty() {
            return;
        }
        self.queued_bytes += data.len();
        self.queue.push_back(Pending { data, report });
    }

    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.queued_bytes - self.front_offset
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Forgets everything queued; returns how many bytes never left.
    pub fn discard(&mut self) -> u64 {
        let unsent = self.len() as u64;
        self.queue.clear();
        self.queued_bytes = 0;
        self.front_offset = 0;
        unsent
    }

    /// Writes as much as `out` takes, counting bytes and whole payloads in `counters`.
    /// `WouldBlock` ends the flush without error; any other error is returned.
    pub fn flush_into(&mut self, out: &mut dyn Write, counters: &Counters) -> io::Result<Written> {
        let mut written = Written::new();
        while !self.queue.is_empty() {
            let result = {
                let mut slices = [IoSlice::new(&[]); SLICES_PER_WRITE];
                let mut count = 0;
                for (index, pending) in self.queue.iter().take(SLICES_PER_WRITE).enumerate() {
                    let start = if index == 0 { self.front_offset } else { 0 };
                    slices[count] = IoSlice::new(&pending.data[start..]);
                    count += 1;
                }
                out.write_vectored(&slices[..count])
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    counters.add_out(n);
                    self.consume(n, counters, &mut written);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    /// Drops `n` written bytes from the front, payload by payload.
    fn consume(&mut self, mut n: usize, counters: &Counters, written: &mut Written) {
        while n > 0 {
            let Some(front) = self.queue.front() else {
                return;
            };
            let left = front.data.len() - self.front_offset;
            if n < left {
                self.front_offset += n;
                return;
            }
            n -= left;
            self.front_offset = 0;
            self.queued_bytes -= front.data.len();
            counters.add_message_out();
            if let Some(done) = self.queue.pop_front()
                && done.report
            {
                written.push(done.data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `per_call` bytes per write, and says `WouldBlock` once
    /// `budget` bytes have been taken, like a socket whose send buffer is full.
    struct Stingy {
        taken: Vec<u8>,
        per_call: usize,
        budget: usize,
    }

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let room = self.budget.saturating_sub(self.taken.len());
            if room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.per_call).min(room);
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn data(text: &str) -> Arc<[u8]> {
        Arc::from(text.as_bytes())
    }

    #[test]
    fn partial_writes_resume_mid_payload_and_report_only_whole_payloads() {
        let counters = Counters::default();
        let mut queue = SendQueue::default();
        queue.push(data("hello "), true);
        queue.push(data("quiet "), false);
        queue.push(data("world"), true);
        let mut out = Stingy {
            taken: Vec::new(),
            per_call: 4,
            budget: 8,
        };
        // 8 bytes fit: "hello " whole and "qu" of the next payload.
        let written = queue.flush_into(&mut out, &counters).unwrap();
        assert_eq!(written, vec![data("hello ")]);
        assert_eq!(out.taken, b"hello qu");
        assert_eq!(queue.len(), 9);
        assert_eq!((counters.bytes_out(), counters.messages_out()), (8, 1));

        out.budget = 100;
        let written = queue.flush_into(&mut out, &counters).unwrap();
        assert_eq!(written, vec![data("world")]);
        assert_eq!(out.taken, b"hello quiet world");
        assert!(queue.is_empty());
        assert_eq!(queue.len(), 0);
        assert_eq!((counters.bytes_out(), counters.messages_out()), (17, 3));
    }

    #[test]
    fn a_write_of_zero_bytes_is_an_error_and_the_queue_keeps_its_bytes() {
        struct Zero;
        impl Write for Zero {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let counters = Counters::default();
        let mut queue = SendQueue::default();
        queue.push(data("abc"), true);
        let error = queue.flush_into(&mut Zero, &counters).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.discard(), 3);
        assert!(queue.is_empty());
    }

    #[test]
    fn empty_payloads_are_not_queued() {
        let mut queue = SendQueue::default();
        queue.push(data(""), true);
        assert!(queue.is_empty());
    }

    #[test]
    fn more_payloads_than_one_vectored_write_takes_all_go_out_in_order() {
        let counters = Counters::default();
        let mut queue = SendQueue::default();
        let mut expected = Vec::new();
        for i in 0..(SLICES_PER_WRITE * 2 + 5) {
            let text = format!("{i},");
            expected.extend_from_slice(text.as_bytes());
            queue.push(data(&text), true);
        }
        let mut out = Stingy {
            taken: Vec::new(),
            per_call: 7,
            budget: usize::MAX,
        };
        let written = queue.flush_into(&mut out, &counters).unwrap();
        assert_eq!(out.taken, expected);
        assert_eq!(written.len(), SLICES_PER_WRITE * 2 + 5);
        assert_eq!(counters.messages_out(), (SLICES_PER_WRITE * 2 + 5) as u64);
    }
}
