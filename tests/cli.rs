//! The built `socklab` binary, run headless as a user would.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn socklab(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_socklab"));
    command.args(args);
    command
}

/// Waits for the process to end, killing it and failing the test after [`WAIT`].
fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("socklab did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs to completion with no stdin; returns (status, stdout, stderr).
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = socklab(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child);
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

struct Server {
    child: Child,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

fn start_server(extra: &[&str]) -> Server {
    let mut args = vec!["server", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = socklab(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = next_line(&mut stdout);
    let addr = first
        .split_once(" listening ")
        .unwrap_or_else(|| panic!("first line announces the address: {first:?}"))
        .1
        .trim()
        .parse()
        .unwrap();
    Server {
        child,
        stdout,
        addr,
    }
}

/// One stdout line; the server is killed by the test's end if it hangs (reads are bounded
/// by the events the test causes).
fn next_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "stdout ended early");
    line
}

fn line_with(stdout: &mut BufReader<ChildStdout>, needle: &str) -> String {
    for _ in 0..50 {
        let line = next_line(stdout);
        if line.contains(needle) {
            return line;
        }
    }
    panic!("no line with {needle:?}");
}

#[test]
fn chat_server_relays_logs_and_quits_on_stdin_quit() {
    let mut server = start_server(&["--chat"]);
    let mut a = client(server.addr);
    let mut b = BufReader::new(client(server.addr));
    let a_addr = a.local_addr().unwrap();
    line_with(
        &mut server.stdout,
        &format!("accepted #1 {a_addr} -> {}", server.addr),
    );
    line_with(&mut server.stdout, "accepted #2");
    a.write_all("hi\tthere 你好\r\n".as_bytes()).unwrap();
    assert_eq!(read_relay(&mut b, a_addr), "hi\tthere 你好");
    let logged = line_with(&mut server.stdout, " line ");
    assert!(
        logged.ends_with(&format!(" line #1 {a_addr} \"hi\\tthere 你好\"\n")),
        "{logged:?}"
    );
    server
        .child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"quit\n")
        .unwrap();
    assert!(line_with(&mut server.stdout, "closed #").contains("server stopped"));
    line_with(&mut server.stdout, " stopped");
    assert!(wait_bounded(&mut server.child).success());
    let mut a = BufReader::new(a);
    assert_eq!(
        read_relay(&mut a, a_addr),
        "hi\tthere 你好",
        "the sender gets its own line too"
    );
    assert_eq!(read_to_close(a.get_mut()).unwrap(), b"");
}

#[test]
fn plain_server_logs_received_bytes_and_broadcasts_stdin_lines() {
    let mut server = start_server(&[]);
    let mut a = client(server.addr);
    line_with(&mut server.stdout, "accepted #1");
    a.write_all(b"GET /\r\n").unwrap();
    let logged = line_with(&mut server.stdout, "received");
    let expected = format!(
        "received #1 {} 7 bytes \"GET /\\r\\n\"\n",
        a.local_addr().unwrap()
    );
    assert!(logged.ends_with(&expected), "{logged:?}");
    server
        .child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"hello client\n")
        .unwrap();
    assert_eq!(read_exact(&mut a, 13), b"hello client\n");
    line_with(&mut server.stdout, "sent #1");
    send_sigterm(&server.child);
    assert!(
        wait_bounded(&mut server.child).success(),
        "SIGTERM ends it cleanly"
    );
}

fn send_sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn client_sends_stdin_prints_replies_and_addresses() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = socklab(&["client", &addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut peer, peer_addr) = listener.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\nworld\n").unwrap();
    drop(stdin);
    let mut request = Vec::new();
    peer.read_to_end(&mut request).unwrap();
    assert_eq!(request, b"hello\nworld\n");
    peer.write_all(b"reply\x00\n").unwrap();
    drop(peer);
    let status = wait_bounded(&mut child);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(out, b"reply\x00\n");
    assert!(
        err.contains(&format!("sockname {peer_addr} peername {addr}")),
        "{err}"
    );
}

#[test]
fn bad_input_gives_one_clear_line_and_a_non_zero_exit() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let refused_addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["server", "127.0.0.1:99999"],
            2,
            "not a valid port: \"99999\"",
        ),
        (&["server", &taken_addr], 1, "address already in use"),
        (&["client", &refused_addr], 1, "connection refused"),
        (&["client", "::1:80"], 2, "brackets"),
    ];
    for (args, code, message) in cases {
        let (status, _, err) = run(args);
        assert_eq!(status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("socklab:")).count(),
            1,
            "{err}"
        );
    }
}

#[test]
fn help_documents_both_commands_and_the_output_format() {
    let (status, out, _) = run(&["--help"]);
    assert!(status.success());
    for needle in ["server", "client", "listening ADDR", "--chat"] {
        assert!(out.contains(needle), "help lacks {needle}: {out}");
    }
    let (status, out, _) = run(&["server", "--help"]);
    assert!(status.success());
    assert!(out.contains("127.0.0.1:9999"), "{out}");
}
