//! The window and its settings file: an unreadable file is reported in the window until
//! dismissed, and settings an earlier socklab kept in eframe's storage move to socklab's
//! own file. Real files in temporary folders; the window through egui_kittest.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::App;
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use socklab::model::persist::{STORAGE_KEY, Saved, SavedSocket};
use socklab::model::settings_file::{self, FILE_NAME, LEGACY_FILE_NAME, LoadOutcome};
use socklab::ui::SocklabApp;

const WAIT: Duration = Duration::from_secs(10);

fn app_with(loaded: LoadOutcome, file: Option<PathBuf>) -> Harness<'static, SocklabApp> {
    let mut harness = Harness::builder()
        .with_size([1100.0, 720.0])
        .build_eframe(move |cc| {
            SocklabApp::with_settings(&cc.egui_ctx, loaded, file).expect("engine starts")
        });
    harness.run_ok();
    harness
}

fn shows_text(harness: &Harness<'static, SocklabApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// eframe's storage as a map, as its file holds it.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.into(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

fn a_socket(addr: &str) -> SavedSocket {
    SavedSocket {
        server: true,
        chat: true,
        addr: addr.into(),
        ..SavedSocket::default()
    }
}

#[test]
fn unreadable_settings_are_reported_with_the_old_files_place_until_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    fs::write(&path, "(sockets: [(server: true, addr: \"127.0.0.1:9").unwrap();
    let loaded = settings_file::load(dir.path());
    let LoadOutcome::MovedAside { moved_to, .. } = &loaded else {
        panic!("not moved aside: {loaded:?}");
    };
    let moved_to = moved_to.display().to_string();

    let mut harness = app_with(loaded, Some(path.clone()));
    assert!(shows_text(
        &harness,
        "socklab could not read its settings file"
    ));
    assert!(shows_text(&harness, &moved_to), "the old file's new place");
    assert!(shows_text(&harness, "line 1, column"), "the reason");
    // Started with defaults: no socket restored.
    assert!(harness.state().sessions().is_empty());

    harness
        .get_by_role_and_label(Role::Button, "Dismiss")
        .click();
    harness.run_ok();
    assert!(!shows_text(&harness, "could not read its settings"));
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Dismiss")
            .is_none()
    );
}

#[test]
fn readable_settings_show_no_notice_and_restore_the_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut saved = Saved::default();
    saved.sockets.push(a_socket("127.0.0.1:4321"));
    settings_file::save_atomically(&path, &settings_file::to_text(&saved)).unwrap();

    let harness = app_with(settings_file::load(dir.path()), Some(path));
    assert!(
        harness
            .query_by_role_and_label(Role::Button, "Dismiss")
            .is_none()
    );
    assert_eq!(harness.state().sessions().len(), 1);
    assert_eq!(harness.state().sessions()[0].addr, "127.0.0.1:4321");
}

/// Calls the app's `save` as eframe's autosave does, until `done` holds.
fn save_until(
    harness: &mut Harness<'static, SocklabApp>,
    storage: &mut MemoryStorage,
    what: &str,
    done: impl Fn(&MemoryStorage) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        harness.state_mut().save(storage);
        if done(storage) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn load_settings(path: &Path) -> Saved {
    match settings_file::load_file(path) {
        LoadOutcome::Loaded(saved) => saved,
        other => panic!("settings not readable: {other:?}"),
    }
}

#[test]
fn settings_kept_by_an_earlier_socklab_in_eframes_storage_move_to_socklabs_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut earlier = Saved::default();
    earlier.sockets.push(a_socket("127.0.0.1:5555"));
    earlier.options.form_addr = "[::1]:7".into();
    let mut storage = MemoryStorage::default();
    storage
        .0
        .insert(STORAGE_KEY.into(), ron::to_string(&earlier).unwrap());
    storage.0.insert("window".into(), "()".into());
    fs::write(
        dir.path().join(LEGACY_FILE_NAME),
        ron::to_string(&storage.0).unwrap(),
    )
    .unwrap();
    let path = dir.path().join(FILE_NAME);

    let loaded = settings_file::load(dir.path());
    assert_eq!(loaded, LoadOutcome::Loaded(earlier.clone()));
    let mut harness = app_with(loaded, Some(path.clone()));
    assert_eq!(harness.state().sessions()[0].addr, "127.0.0.1:5555");

    // The first save writes socklab's file; once it is written eframe's copy is dropped.
    save_until(&mut harness, &mut storage, "eframe's copy removed", |s| {
        !s.0.contains_key(STORAGE_KEY)
    });
    assert!(storage.0.contains_key("window"), "geometry stays");
    assert_eq!(load_settings(&path), earlier);
    assert!(!shows_text(&harness, "could not"));
}

#[test]
fn settings_are_saved_at_exit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut harness = app_with(LoadOutcome::Missing, Some(path.clone()));
    harness
        .state_mut()
        .start(socklab::ui::FormKind::Server, "127.0.0.1:0", false);
    harness.run_ok();
    let mut storage = MemoryStorage::default();
    // What eframe does at exit: save, then on_exit, then drop the app.
    harness.state_mut().save(&mut storage);
    harness.state_mut().on_exit(None);
    drop(harness);
    let saved = load_settings(&path);
    assert_eq!(saved.sockets.len(), 1);
    assert_eq!(saved.sockets[0].addr, "127.0.0.1:0");
    assert!(saved.sockets[0].server);
}

#[cfg(unix)]
#[test]
fn a_failure_to_save_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the settings folder should be: every save fails.
    let blocker = dir.path().join("not-a-folder");
    fs::write(&blocker, "").unwrap();
    let mut harness = app_with(LoadOutcome::Missing, Some(blocker.join(FILE_NAME)));
    let mut storage = MemoryStorage::default();
    let deadline = Instant::now() + WAIT;
    while !shows_text(&harness, "could not save its settings") {
        harness.state_mut().save(&mut storage);
        harness.run_ok();
        assert!(Instant::now() < deadline, "no failure shown");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Later failures for the same reason add nothing.
    for _ in 0..20 {
        harness.state_mut().save(&mut storage);
        harness.run_ok();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        harness
            .query_all_by_role_and_label(Role::Button, "Dismiss")
            .count(),
        1
    );
}

#[test]
fn pane_heights_no_one_could_drag_are_read_as_the_defaults() {
    let text = "(sockets: [(server: true, addr: \"127.0.0.1:0\")], options: (show_chart: true, \
                clients_pane_height: NaN, chart_pane_height: -inf, composer_pane_height: inf))";
    let saved = settings_file::parse(text.as_bytes()).unwrap();
    let defaults = Saved::default().options;
    assert_eq!(
        saved.options.clients_pane_height,
        defaults.clients_pane_height
    );
    assert_eq!(saved.options.chart_pane_height, defaults.chart_pane_height);
    assert_eq!(
        saved.options.composer_pane_height,
        defaults.composer_pane_height
    );
    let mut harness = app_with(LoadOutcome::Loaded(saved), None);
    for _ in 0..3 {
        harness.run_ok();
    }
    assert!(shows_text(&harness, "127.0.0.1:0"));
}
