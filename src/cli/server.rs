//! `socklab server`: the event loop. Stdin lines go to every client, each engine event
//! becomes at most one stdout line (see [`super::format`]), and `quit`, Ctrl-C or SIGTERM
//! stop the server.

use std::time::{Duration, Instant};

use crossbeam_channel::{never, select};

use super::format::{ServerLog, ServerStep};
use super::{
    DataOutput, EventLines, Failure, ServerArgs, check_address, new_session_capturing,
    start_engine, stdin_lines, termination_signals,
};
use crate::engine::{Command, ServerOptions, Target};

/// How long a stopping server waits for its connections' closes before it exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(6);

pub(super) fn run(args: ServerArgs) -> Result<(), Failure> {
    check_address(&args.addr)?;
    let setup = args.messages.setup()?;
    let options = ServerOptions {
        chat: args.chat,
        socket: args.socket.options(true)?,
        tls: args.tls.server_setup(&args.addr)?,
    };
    let engine = start_engine()?;
    let signals = termination_signals();
    let mut stdin = stdin_lines();
    let session = new_session_capturing(&engine, args.capture.as_deref());
    setup.apply(&engine, session);
    if args.data == DataOutput::None {
        // Nothing shows the bytes, so the engine need not copy them out of each read.
        engine.execute(Command::ReportData {
            session,
            data: false,
        });
    }
    engine.execute(Command::Listen {
        session,
        addr: args.addr.clone(),
        options,
    });
    let mut log = ServerLog::new(&args.addr, args.data);
    let mut stdout = EventLines::new();
    let mut stopping: Option<Instant> = None;
    loop {
        if let Some(since) = stopping
            && (!log.listening() || since.elapsed() > STOP_GRACE)
        {
            return Ok(());
        }
        let mut stop_now = false;
        select! {
            recv(engine.events()) -> event => {
                let Ok(event) = event else { return Ok(()) };
                match log.step(&event) {
                    ServerStep::Print(line) => stdout.line(&line),
                    ServerStep::Quiet => {}
                    ServerStep::Fail(failure) => return Err(failure),
                }
                stdout.caught_up(!engine.events().is_empty());
                #[cfg(feature = "testing")]
                testing::fail_engine_if_asked(&engine, &event);
            }
            recv(stdin) -> line => match line {
                Ok(line) if line.trim_ascii() == b"quit" => stop_now = true,
                Ok(line) => engine.send(session, Target::All, line),
                // Stdin ended (e.g. started with < /dev/null): keep serving.
                Err(_) => stdin = never(),
            },
            recv(signals) -> _ => stop_now = true,
            default(Duration::from_millis(200)) => {}
        }
        if stop_now && stopping.is_none() {
            stopping = Some(Instant::now());
            engine.execute(Command::Stop { session });
        }
    }
}

/// Hooks for this crate's own tests; a build without the `testing` feature has none.
#[cfg(feature = "testing")]
mod testing {
    use crate::engine::{Engine, Event, EventKind};

    /// With this set to `1`, the engine fails as a broken poll would once the server
    /// listens, so a test can watch the command end with the reason.
    const FAIL_ENGINE: &str = "SOCKLAB_TEST_FAIL_ENGINE";

    pub(super) fn fail_engine_if_asked(engine: &Engine, event: &Event) {
        if matches!(event.kind, EventKind::Listening { .. })
            && std::env::var_os(FAIL_ENGINE).is_some_and(|value| value == "1")
        {
            engine.inject_failure(false);
        }
    }
}
