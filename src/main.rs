use std::process::ExitCode;

use clap::Parser;
use socklab::cli::{self, Cli};

fn main() -> ExitCode {
    raise_open_file_limit();
    let parsed = Cli::parse();
    match parsed.command {
        Some(command) => cli::run(command),
        None => match socklab::ui::run(parsed.scenario) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("socklab: cannot open the window: {e}");
                eprintln!(
                    "socklab: without a display, use `socklab server` or `socklab client` (see --help)"
                );
                ExitCode::FAILURE
            }
        },
    }
}

/// A server with thousands of clients needs a descriptor each; the usual soft limit (often
/// 1024) is far below the hard limit, so take what the system allows.
fn raise_open_file_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
