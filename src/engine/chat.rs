//! Group-chat relay logic: line framing, what a line means, and the relayed form
//! (`YYYY/MM/DD HH:MM:SS ip:port\n` then the line). Pure; the reactor does the I/O.

use std::ops::ControlFlow;

use chrono::{DateTime, Local, Timelike};

/// A line longer than this (without its newline) disconnects its sender, so one client
/// cannot make the server buffer without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Relayed bytes waiting for one client; past this the client is dropped as "too slow"
/// so that it cannot stall the others or grow memory.
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

/// What a complete line asks the chat server to do.
#[derive(Debug, PartialEq, Eq)]
pub enum LineAction {
    Relay,
    /// Blank lines are not relayed.
    Skip,
    /// `quit`, whitespace around it ignored: the sender leaves.
    Quit,
}

pub fn classify(line: &[u8]) -> LineAction {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        LineAction::Skip
    } else if trimmed == b"quit" {
        LineAction::Quit
    } else {
        LineAction::Relay
    }
}

/// The sender's line went past [`MAX_LINE_BYTES`].
#[derive(Debug, PartialEq, Eq)]
pub struct LineTooLong;

/// Splits a byte stream into lines ending in `\n` (a `\r` before it is dropped too), keeping
/// only the unfinished tail between reads.
#[derive(Debug, Default)]
pub struct LineFramer {
    partial: Vec<u8>,
}

impl LineFramer {
    /// Feeds `data`, calling `on_line` for each complete line without its terminator.
    /// `on_line` returning `Break` discards the rest (the sender quit).
    pub fn push(
        &mut self,
        data: &[u8],
        mut on_line: impl FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, LineTooLong> {
        let mut rest = data;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(newline);
            rest = &tail[1..];
            let flow = if self.partial.is_empty() {
                check_length(head.len())?;
                on_line(strip_cr(head))
            } else {
                check_length(self.partial.len() + head.len())?;
                self.partial.extend_from_slice(head);
                let line = std::mem::take(&mut self.partial);
                let flow = on_line(strip_cr(&line));
                // Keep the allocation for the next partial line.
                self.partial = line;
                self.partial.clear();
                flow
            };
            if flow.is_break() {
                self.partial.clear();
                return Ok(ControlFlow::Break(()));
            }
        }
        check_length(self.partial.len() + rest.len())?;
        self.partial.extend_from_slice(rest);
        Ok(ControlFlow::Continue(()))
    }

    /// At end of stream: the last line if it had no newline.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        if self.partial.is_empty() {
            None
        } else {
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            Some(line)
        }
    }
}

fn check_length(len: usize) -> Result<(), LineTooLong> {
    if len > MAX_LINE_BYTES {
        Err(LineTooLong)
    } else {
        Ok(())
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Formats relay headers, reformatting the date only when the second changes.
#[derive(Debug, Default)]
pub struct HeaderClock {
    second: Option<i64>,
    stamp: String,
}

impl HeaderClock {
    /// Appends `YYYY/MM/DD HH:MM:SS ip:port\n` + `line` + `\n` to `out`.
    pub fn append_relay(
        &mut self,
        now: DateTime<Local>,
        sender: &str,
        line: &[u8],
        out: &mut Vec<u8>,
    ) {
        let second = now.timestamp();
        if self.second != Some(second) {
            self.second = Some(second);
            self.stamp = now
                .with_nanosecond(0)
                .unwrap_or(now)
                .format("%Y/%m/%d %H:%M:%S")
                .to_string();
        }
        out.extend_from_slice(self.stamp.as_bytes());
        out.push(b' ');
        out.extend_from_slice(sender.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(line);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn lines_of(framer: &mut LineFramer, data: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let flow = framer
            .push(data, |line| {
                lines.push(line.to_vec());
                ControlFlow::Continue(())
            })
            .unwrap();
        assert!(flow.is_continue());
        lines
    }

    #[test]
    fn frames_lines_across_reads_and_strips_crlf() {
        let mut framer = LineFramer::default();
        assert_eq!(lines_of(&mut framer, b"hel"), Vec::<Vec<u8>>::new());
        assert_eq!(
            lines_of(&mut framer, b"lo\r\nworld\npart"),
            vec![b"hello".to_vec(), b"world".to_vec()]
        );
        assert_eq!(
            lines_of(&mut framer, b"ial\n\n"),
            vec![b"partial".to_vec(), Vec::new()]
        );
        assert_eq!(framer.finish(), None);
        lines_of(&mut framer, b"tail\r");
        assert_eq!(framer.finish(), Some(b"tail".to_vec()));
    }

    #[test]
    fn stops_at_quit_and_rejects_overlong_lines() {
        let mut framer = LineFramer::default();
        let mut seen = Vec::new();
        let flow = framer
            .push(b"a\n quit \nb\n", |line| {
                seen.push(line.to_vec());
                if classify(line) == LineAction::Quit {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        assert!(flow.is_break());
        assert_eq!(seen, vec![b"a".to_vec(), b" quit ".to_vec()]);

        let mut framer = LineFramer::default();
        let long = vec![b'x'; MAX_LINE_BYTES];
        assert!(framer.push(&long, |_| ControlFlow::Continue(())).is_ok());
        assert_eq!(
            framer.push(b"y", |_| ControlFlow::Continue(())),
            Err(LineTooLong)
        );
    }

    #[test]
    fn classifies_lines() {
        assert_eq!(classify(b"  \t"), LineAction::Skip);
        assert_eq!(classify(b"quit"), LineAction::Quit);
        assert_eq!(classify(b"\tquit  "), LineAction::Quit);
        assert_eq!(classify(b"quit now"), LineAction::Relay);
    }

    #[test]
    fn relay_has_time_sender_and_line() {
        let now = Local::now();
        let mut out = Vec::new();
        let mut clock = HeaderClock::default();
        let v6: SocketAddr = "[::1]:4000".parse().unwrap();
        clock.append_relay(now, &v6.to_string(), b"hi", &mut out);
        let expected = format!("{} [::1]:4000\nhi\n", now.format("%Y/%m/%d %H:%M:%S"));
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
