//! `socklab run`: the built binary running scenario files against real peers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Every process and wait in these tests ends within this.
const WAIT: Duration = Duration::from_secs(20);

/// A running process, killed and reaped when dropped, so a failing test leaves none behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn code(&self) -> i32 {
        self.status.code().expect("exited, not killed by a signal")
    }
}

/// Runs `socklab run ARGS...` to its end, failing the test after [`WAIT`].
fn socklab_run(args: &[&str]) -> Outcome {
    let mut process = Running(
        Command::new(env!("CARGO_BIN_EXE_socklab"))
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socklab starts"),
    );
    // Read both pipes on their own threads so a chatty process cannot block on a full one.
    let mut stdout = process.0.stdout.take().unwrap();
    let mut stderr = process.0.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "socklab run did not end in time");
        thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A TCP echo server on a free loopback port, on its own threads for as long as the test
/// runs (each connection is echoed until its peer closes).
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut buf = [0; 4096];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A directory for this test's files, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("socklab-cli-run-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One socket `echo` connecting to `addr` (line framing), then `steps`.
fn echo_scenario(addr: &str, steps: &str) -> String {
    format!(
        "name = \"echo\"\ntimeout = \"2s\"\n\n\
         [[socket]]\nname = \"echo\"\nconnect = \"{addr}\"\nframing = \"line\"\n\n{steps}"
    )
}

const PING_PONG: &str = "\
[[step]]
send = \"ping\\n\"
on = \"echo\"

[[step]]
expect = \"ping\"
on = \"echo\"
match = \"exact\"

[[step]]
close = \"echo\"
";

/// The stdout lines that start with `  PASS`, `  FAIL` or `  SKIP`.
fn step_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("  PASS") || l.starts_with("  FAIL") || l.starts_with("  SKIP"))
        .collect()
}

#[test]
fn a_passing_scenario_exits_0_with_a_pass_line_per_step() {
    let addr = echo_server();
    let dir = Dir::new("pass");
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), PING_PONG));
    let outcome = socklab_run(&[&file]);
    assert_eq!(outcome.code(), 0, "{}{}", outcome.stdout, outcome.stderr);
    let steps = step_lines(&outcome.stdout);
    assert!(steps.iter().all(|l| l.starts_with("  PASS")), "{steps:?}");
    let numbered: Vec<&str> = steps
        .iter()
        .map(|l| l[8..].split_whitespace().next().unwrap())
        .filter(|n| *n != "open")
        .collect();
    assert_eq!(numbered, ["1", "2", "3"], "{}", outcome.stdout);
    assert!(
        steps[steps.len() - 2].contains("expect on echo"),
        "{steps:?}"
    );
    assert!(
        outcome.stdout.contains("\nPASS echo.toml: 3 steps in "),
        "{}",
        outcome.stdout
    );
    assert_eq!(outcome.stderr, "");
}

#[test]
fn a_failing_expect_exits_1_showing_expected_and_received_as_text_and_hex() {
    let addr = echo_server();
    let dir = Dir::new("fail");
    let steps = "\
[[step]]
send = \"pinG\\n\"
on = \"echo\"

[[step]]
expect = \"ping\"
on = \"echo\"
match = \"exact\"
within = \"300ms\"

[[step]]
close = \"echo\"
";
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), steps));
    let outcome = socklab_run(&[&file]);
    assert_eq!(outcome.code(), 1, "{}{}", outcome.stdout, outcome.stderr);
    let out = &outcome.stdout;
    assert!(out.contains("\n  FAIL  2 "), "{out}");
    assert!(out.contains("expected  4 bytes: \"ping\""), "{out}");
    assert!(out.contains("0000  70 69 6e 67\n"), "{out}");
    assert!(out.contains("received  4 bytes: \"pinG\""), "{out}");
    assert!(out.contains("0000  70 69 6e 47\n"), "{out}");
    assert!(out.contains("\n  SKIP  3 "), "{out}");
    assert!(
        out.contains("\nFAIL echo.toml: step 2 of 3 failed after "),
        "{out}"
    );
}

#[test]
fn an_invalid_file_exits_2_naming_line_and_column_before_anything_runs() {
    let addr = echo_server();
    let dir = Dir::new("invalid");
    let good = dir.file("good.toml", &echo_scenario(&addr.to_string(), PING_PONG));
    let bad = dir.file(
        "bad.toml",
        &echo_scenario(&addr.to_string(), "[[step]]\nsned = \"x\"\n"),
    );
    let outcome = socklab_run(&[&good, &bad]);
    assert_eq!(outcome.code(), 2, "{}{}", outcome.stdout, outcome.stderr);
    // The good file did not run either.
    assert_eq!(outcome.stdout, "");
    let line = outcome.stderr.lines().next().unwrap();
    assert!(
        line.starts_with(&format!("{bad}: line 10, column 1: unknown key `sned`")),
        "{line}"
    );
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
}

#[test]
fn an_unreadable_junit_directory_exits_2_before_running() {
    let addr = echo_server();
    let dir = Dir::new("junit-dir");
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), PING_PONG));
    let junit = dir.path("no/such/dir/report.xml");
    let outcome = socklab_run(&[&file, "--junit", &junit]);
    assert_eq!(outcome.code(), 2, "{}{}", outcome.stdout, outcome.stderr);
    assert_eq!(outcome.stdout, "");
    assert!(outcome.stderr.contains("--junit"), "{}", outcome.stderr);
}

#[test]
fn a_command_line_var_overrides_the_files_vars() {
    let addr = echo_server();
    let dir = Dir::new("var");
    let scenario = "[vars]\nword = \"file\"\nport = \"1\"\n\n\
         [[socket]]\nname = \"echo\"\nconnect = \"127.0.0.1:{{port}}\"\nframing = \"line\"\n\n\
         [[step]]\nsend = \"{{word}}\\n\"\non = \"echo\"\n\n\
         [[step]]\nexpect = \"cli\"\non = \"echo\"\nmatch = \"exact\"\nwithin = \"2s\"\n";
    let file = dir.file("vars.toml", scenario);
    let port = format!("port={}", addr.port());
    let outcome = socklab_run(&[&file, "--var", "word=cli", "--var", &port]);
    assert_eq!(outcome.code(), 0, "{}{}", outcome.stdout, outcome.stderr);
    // Without --var word=cli the file's value is sent, and the expect fails.
    let outcome = socklab_run(&[&file, "--var", &port]);
    assert_eq!(outcome.code(), 1, "{}{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stdout.contains("received  4 bytes: \"file\""),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_malformed_var_exits_2() {
    let outcome = socklab_run(&["whatever.toml", "--var", "novalue"]);
    assert_eq!(outcome.code(), 2);
    assert!(outcome.stderr.contains("--var"), "{}", outcome.stderr);
}

#[test]
fn repeat_3_writes_3_testsuites_to_the_junit_file() {
    let addr = echo_server();
    let dir = Dir::new("junit");
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), PING_PONG));
    let junit = dir.path("report.xml");
    let outcome = socklab_run(&[&file, "--repeat", "3", "--junit", &junit]);
    assert_eq!(outcome.code(), 0, "{}{}", outcome.stdout, outcome.stderr);
    for round in 1..=3 {
        let summary = format!("\nPASS echo.toml (round {round} of 3): 3 steps in ");
        assert!(outcome.stdout.contains(&summary), "{}", outcome.stdout);
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
    assert!(xml.contains("name=\"echo (round 2 of 3)\""), "{xml}");
    assert!(xml.contains("<testsuites name=\"socklab run\""), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    // Only the report is left in the directory: the temporary file was renamed.
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["echo.toml", "report.xml"]);
}

#[test]
fn a_failing_run_writes_its_failure_to_the_junit_file() {
    let addr = echo_server();
    let dir = Dir::new("junit-fail");
    let steps = "[[step]]\nsend = \"a\\x01b\\n\"\non = \"echo\"\n\n\
                 [[step]]\nexpect = \"ab\"\non = \"echo\"\nmatch = \"exact\"\nwithin = \"300ms\"\n";
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), steps));
    let junit = dir.path("report.xml");
    let outcome = socklab_run(&[&file, "--junit", &junit]);
    assert_eq!(outcome.code(), 1, "{}{}", outcome.stdout, outcome.stderr);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure message="), "{xml}");
    // The control byte arrives escaped for display, never raw.
    assert!(
        xml.contains("received  3 bytes: &quot;a\\x01b&quot;"),
        "{xml}"
    );
    assert!(!xml.contains('\u{1}'), "{xml}");
}

#[test]
fn a_scenario_with_its_own_listener_connects_to_its_port() {
    let dir = Dir::new("self");
    let scenario = "\
name = \"loop\"
timeout = \"2s\"

[[socket]]
name = \"srv\"
listen = \"127.0.0.1:0\"
framing = \"line\"

[[socket]]
name = \"cli\"
connect = \"127.0.0.1:{{srv.port}}\"
framing = \"line\"

[[step]]
expect-connection = \"srv\"

[[step]]
send = \"hello\\n\"
on = \"cli\"

[[step]]
expect = \"hello\"
on = \"srv\"
match = \"exact\"

[[step]]
send = \"back\\n\"
on = \"srv\"

[[step]]
expect = \"back\"
on = \"cli\"
match = \"exact\"

[[step]]
close = \"cli\"

[[step]]
expect-close = \"srv\"
";
    let file = dir.file("loop.toml", scenario);
    let outcome = socklab_run(&[&file]);
    assert_eq!(outcome.code(), 0, "{}{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stdout.contains("\nPASS loop.toml: 7 steps in "),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_repeat_block_prints_one_aggregate_line_per_step() {
    let addr = echo_server();
    let dir = Dir::new("repeat");
    let steps = "\
[[step]]
repeat = 200
steps = [{ send = \"x\\n\", on = \"echo\" }, { expect = \"x\", on = \"echo\", match = \"exact\" }]
";
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), steps));
    let outcome = socklab_run(&[&file]);
    assert_eq!(outcome.code(), 0, "{}{}", outcome.stdout, outcome.stderr);
    let aggregates: Vec<&str> = step_lines(&outcome.stdout)
        .into_iter()
        .filter(|l| l.contains("×"))
        .collect();
    assert_eq!(aggregates.len(), 2, "{}", outcome.stdout);
    assert!(
        aggregates.iter().all(|l| l.contains("×200, mean ")),
        "{aggregates:?}"
    );
    let verbose = socklab_run(&[&file, "--verbose"]);
    assert_eq!(verbose.code(), 0);
    assert_eq!(
        verbose.stdout.matches("[200/200]").count(),
        2,
        "{}",
        verbose.stdout
    );
}

#[test]
fn a_scenario_talks_with_socat() {
    if Command::new("socat").arg("-V").output().is_err() {
        eprintln!("skipped: socat is not installed (it is the peer this test talks to)");
        return;
    }
    // socat listens and echoes (a child per connection: the probe below takes one).
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let _socat = Running(
        Command::new("socat")
            .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"))
            .arg("PIPE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_listening(port);
    let dir = Dir::new("socat");
    let steps = "\
[[step]]
send = \"shout\\n\"
on = \"echo\"

[[step]]
expect = \"shout\"
on = \"echo\"
match = \"exact\"
";
    let file = dir.file(
        "socat.toml",
        &echo_scenario(&format!("127.0.0.1:{port}"), steps),
    );
    let outcome = socklab_run(&[&file]);
    assert_eq!(outcome.code(), 0, "{}{}", outcome.stdout, outcome.stderr);
}

/// Waits until something accepts on `port` (a probe connection, closed at once).
fn wait_until_listening(port: u16) {
    let deadline = Instant::now() + WAIT;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_run_writes_the_junit_file_and_exits_1() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;

    let addr = echo_server();
    let dir = Dir::new("ctrl-c");
    let steps = "[[step]]\nsleep = \"60s\"\n\n[[step]]\nclose = \"echo\"\n";
    let file = dir.file("echo.toml", &echo_scenario(&addr.to_string(), steps));
    let junit = dir.path("report.xml");
    let mut process = Running(
        Command::new(env!("CARGO_BIN_EXE_socklab"))
            .args(["run", &file, "--junit", &junit])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, lines) = mpsc::channel();
    let stdout = BufReader::new(process.0.stdout.take().unwrap());
    thread::spawn(move || {
        for line in stdout.lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    // The socket is open (its line is printed) before the sleep begins.
    loop {
        let line = lines.recv_timeout(WAIT).expect("a line within the limit");
        if line.starts_with("  PASS  open") {
            break;
        }
    }
    let sent = Command::new("kill")
        .args(["-INT", &process.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "Ctrl-C did not end the run");
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
    let rest: Vec<String> = lines.iter().collect();
    assert!(rest[0].starts_with("  FAIL  1 "), "{rest:?}");
    assert_eq!(rest[1].trim(), "stopped", "{rest:?}");
    assert!(rest[2].starts_with("  SKIP  2 "), "{rest:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure message=\"stopped\""), "{xml}");
    assert!(xml.contains("<skipped/>"), "{xml}");
}
