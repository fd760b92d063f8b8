//! The words a person reads for what went wrong: I/O errors, close reasons and durations,
//! in one place so the window, the command line and the logs say the same thing.

use std::io;
use std::time::Duration;

use super::event::CloseReason;

/// Plain words for the socket errors people meet most, instead of OS error strings with
/// codes.
pub fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::AddrInUse => "address already in use".into(),
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".into(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        io::ErrorKind::TimedOut => "timed out".into(),
        io::ErrorKind::ConnectionReset => "reset by peer".into(),
        io::ErrorKind::HostUnreachable => "host unreachable".into(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
        _ => without_error_code(error),
    }
}

/// Plain words for a file that could not be opened, read or written.
pub fn describe_file_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file or folder (was it removed?)".into(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "not allowed to write there (read-only or no permission)".into()
        }
        io::ErrorKind::StorageFull => "no space left on the disk".into(),
        io::ErrorKind::IsADirectory => "that is a folder, not a file".into(),
        _ => without_error_code(error),
    }
}

/// The OS's words without the " (os error N)" suffix: the words are what a person reads.
fn without_error_code(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// Why a connection ended, from the error that ended it.
pub(crate) fn close_reason_for(error: &io::Error) -> CloseReason {
    if let Some(reason) = super::tls::tls_failure(error) {
        return CloseReason::TlsFailed(reason.to_string());
    }
    match error.kind() {
        // On a connection that was up, "not connected" means a reset already tore it down
        // (e.g. shutting our sending half down after the peer's RST arrived).
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::NotConnected => CloseReason::PeerReset,
        _ => CloseReason::Io(describe_io_error(error)),
    }
}

/// `65,507`: digits grouped by thousands, so exact counts stay readable.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `10 s`, or `250 ms` when not a whole number of seconds.
pub(crate) fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_in_any_of_its_forms_is_the_peers_reset() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::NotConnected,
        ] {
            assert_eq!(
                close_reason_for(&io::Error::from(kind)),
                CloseReason::PeerReset
            );
        }
        let other = close_reason_for(&io::Error::from(io::ErrorKind::TimedOut));
        assert!(matches!(other, CloseReason::Io(_)), "{other:?}");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(65_507), "65,507");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn file_errors_are_worded_for_files_not_ports() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(!describe_file_error(&denied).contains("port"));
        assert!(describe_io_error(&denied).contains("port"));
        let full = io::Error::from_raw_os_error(28);
        assert_eq!(describe_file_error(&full), "no space left on the disk");
        let other = io::Error::from_raw_os_error(5);
        assert_eq!(describe_file_error(&other), "Input/output error");
    }
}
