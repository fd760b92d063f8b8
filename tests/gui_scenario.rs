//! Scenarios in the real window, driven with egui_kittest against real loopback servers:
//! a scenario opened, given a variable and run by clicking, every step ticking as passed;
//! a failed expect showing what arrived instead, then *Run again*; a file dropped on the
//! window, and *Stop*; and a session's log saved as a scenario that replays against the
//! same server.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use common::window::{App, app, run_until, shows_text, wait_for_text};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use socklab::model::scenario::StepState;
use socklab::model::session::State;
use socklab::scenario::file::read_scenario;
use socklab::ui::FormKind;

/// A server on loopback that answers each line with `answer(line)`, for every client.
fn line_server(answer: fn(&str) -> String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if writer.write_all(answer(&line).as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn echo(line: &str) -> String {
    format!("{line}\n")
}

fn write_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn click(harness: &mut App, role: Role, label: &str) {
    harness.get_by_role_and_label(role, label).scroll_to_me();
    harness.run_ok();
    harness.get_by_role_and_label(role, label).click();
    harness.run_ok();
}

fn type_into(harness: &mut App, role: Role, label: &str, text: &str) {
    click(harness, role, label);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.key_press(Key::Backspace);
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.run_ok();
}

fn rows_in(harness: &App, wanted: fn(&StepState) -> bool) -> usize {
    let page = harness.state().scenario_page();
    page.rows.iter().filter(|row| wanted(&row.state)).count()
}

const PING_PONG: &str = r#"
name = "ping"
timeout = "3s"

[vars]
port = "1"

[[socket]]
name = "web"
connect = "127.0.0.1:{{port}}"
framing = "line"

[[step]]
send = "hello\n"

[[step]]
expect = "hello"

[[step]]
repeat = 3
steps = [{ send = "again {{counter}}\n" }, { expect = "again", match = "starts-with" }]
"#;

#[test]
fn a_scenario_runs_by_clicking_and_every_step_ticks_as_passed() {
    let server = line_server(echo);
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "ping.toml", PING_PONG);
    let mut harness = app();
    click(&mut harness, Role::Button, "Scenarios");
    harness.state_mut().open_scenario(path);
    harness.run_ok();
    assert!(shows_text(&harness, "send on web: \"hello\\n\""));
    assert_eq!(rows_in(&harness, |s| *s == StepState::Waiting), 4);

    type_into(
        &mut harness,
        Role::TextInput,
        "Variables",
        &format!("port={}", server.port()),
    );
    click(&mut harness, Role::Button, "Run");
    wait_for_text(&mut harness, "Passed: 4 steps");
    assert_eq!(
        rows_in(&harness, |s| matches!(s, StepState::Passed { .. })),
        4
    );
    assert_eq!(
        harness.query_all_by_label("passed").count(),
        4,
        "each step shows its tick"
    );
    // The run's socket is in the session list under its scenario name, stopped after the run.
    assert!(shows_text(&harness, "web: "));
    run_until(&mut harness, "the scenario's socket to stop", |h| {
        h.state()
            .sessions()
            .iter()
            .any(|s| s.scenario_socket.as_deref() == Some("web") && !s.state.is_active())
    });
    // Its log has what the run sent and received.
    let session = &harness.state().sessions()[0];
    assert_eq!(
        session.addr,
        server.to_string(),
        "its address as substituted"
    );
    assert_eq!(session.totals().bytes_out, session.totals().bytes_in);
    assert!(session.totals().bytes_out > 0);
}

#[test]
fn a_failed_expect_shows_what_arrived_instead_and_can_run_again() {
    let server = line_server(|_| "WORLD\n".into());
    let dir = tempfile::tempdir().unwrap();
    let text = PING_PONG.replace("port = \"1\"", &format!("port = \"{}\"", server.port()));
    let path = write_file(dir.path(), "ping.toml", &text);
    let mut harness = app();
    harness.state_mut().open_scenario(path);
    harness.run_ok();
    click(&mut harness, Role::Button, "Run");
    wait_for_text(&mut harness, "Failed at step 2");
    assert!(shows_text(&harness, "FAILED"));
    assert!(shows_text(&harness, "WORLD"), "what arrived is shown");
    assert!(shows_text(&harness, "57 4f 52 4c 44"), "and in hex");
    assert_eq!(
        rows_in(&harness, |s| *s == StepState::NotRun),
        1,
        "the repeat never ran"
    );
    click(&mut harness, Role::Button, "Run again");
    wait_for_text(&mut harness, "Failed at step 2");
    // The first run's socket made way for the second's.
    let scenario_sockets = harness
        .state()
        .sessions()
        .iter()
        .filter(|s| s.scenario_socket.is_some())
        .count();
    assert_eq!(scenario_sockets, 1);
}

#[test]
fn a_session_saved_as_scenario_replays_against_the_same_server() {
    let server = line_server(|line| format!("got {line}\n"));
    let dir = tempfile::tempdir().unwrap();
    let mut harness = app();
    harness
        .state_mut()
        .start(FormKind::Client, &server.to_string(), false);
    run_until(&mut harness, "the client to connect", |h| {
        h.state().sessions()[0].state == State::Connected
    });
    type_into(&mut harness, Role::MultilineTextInput, "Message", "one");
    click(&mut harness, Role::Button, "Send");
    wait_for_text(&mut harness, "got one");
    let id = harness.state().sessions()[0].id;
    let path = dir.path().join("recorded.toml");
    harness.state_mut().save_scenario(id, path.clone());
    wait_for_text(&mut harness, "scenario saved to");

    let scenario = read_scenario(&path).expect("the recorded scenario reads back");
    assert_eq!(scenario.sockets.len(), 1);
    assert_eq!(scenario.steps.len(), 2, "a send and an expect");

    harness.state_mut().open_scenario(path);
    harness.run_ok();
    click(&mut harness, Role::Button, "Run");
    wait_for_text(&mut harness, "Passed: 3 steps");
}

/// A file dropped on the window, as a desktop drag and drop hands it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl eframe::egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_scenario_dropped_on_the_window_opens_and_stop_ends_its_run() {
    // A server that takes the line and never answers: the expect waits until stopped.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let text = PING_PONG
        .replace("port = \"1\"", &format!("port = \"{port}\""))
        .replace("timeout = \"3s\"", "timeout = \"60s\"");
    let path = write_file(dir.path(), "silent.toml", &text);
    let mut harness = app();
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path)));
    harness.run_ok();
    assert!(
        shows_text(&harness, "silent.toml"),
        "the page shows the file"
    );

    click(&mut harness, Role::Button, "Run");
    let (_client, _) = listener.accept().unwrap();
    wait_for_text(&mut harness, "Running: 3 of 4 steps");
    click(&mut harness, Role::Button, "Stop");
    wait_for_text(&mut harness, "Failed at step 2");
    let page = harness.state().scenario_page();
    match &page.rows[2].state {
        StepState::Failed { failure, .. } => assert_eq!(failure.message, "stopped"),
        other => panic!("the waiting expect fails as stopped, not {other:?}"),
    }
    assert_eq!(rows_in(&harness, |s| *s == StepState::NotRun), 1);
}
