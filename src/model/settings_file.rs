//! socklab's own settings file (`settings.ron`): read once before the window opens, written
//! by the window atomically (a temporary file renamed over the old one) on a thread of its
//! own. A file that cannot be read is moved aside, never overwritten, and the outcome says
//! where it went and why, so the window can tell the user. No egui here.
//!
//! Before this file existed socklab kept its settings in eframe's storage file (`app.ron`,
//! under [`STORAGE_KEY`]); [`load`] reads them from there once when `settings.ron` is missing.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::persist::{STORAGE_KEY, Saved};

/// The settings file's name, in the folder eframe uses for the app (`storage_dir`).
pub const FILE_NAME: &str = "settings.ron";
/// eframe's storage file in the same folder, where earlier versions kept the settings.
pub const LEGACY_FILE_NAME: &str = "app.ron";

/// What reading the settings found.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadOutcome {
    Loaded(Saved),
    /// No settings yet (a first run).
    Missing,
    /// The file could not be read; it was renamed to `moved_to` and socklab starts afresh.
    MovedAside {
        file: PathBuf,
        moved_to: PathBuf,
        reason: String,
    },
    /// The file could not be read nor renamed: it stays, and must not be saved over.
    LeftInPlace {
        file: PathBuf,
        reason: String,
        move_error: String,
    },
}

impl LoadOutcome {
    /// The settings to start with: what was read, else the defaults.
    pub fn saved(&self) -> Saved {
        match self {
            LoadOutcome::Loaded(saved) => saved.clone(),
            _ => Saved::default(),
        }
    }

    /// Whether saving may replace the settings file: not while an unreadable one is there.
    pub fn may_save(&self) -> bool {
        !matches!(self, LoadOutcome::LeftInPlace { .. })
    }

    /// What to tell the user once, in the window, when the settings could not be read.
    pub fn notice(&self) -> Option<String> {
        match self {
            LoadOutcome::Loaded(_) | LoadOutcome::Missing => None,
            LoadOutcome::MovedAside {
                file,
                moved_to,
                reason,
            } => Some(format!(
                "socklab could not read its settings file {} ({reason}), so it started with \
                 default settings. The old file was moved to {}: the saved sockets, history \
                 and presets are still in it, to repair or copy from.",
                file.display(),
                moved_to.display()
            )),
            LoadOutcome::LeftInPlace {
                file,
                reason,
                move_error,
            } => Some(format!(
                "socklab could not read its settings file {} ({reason}) nor move it aside \
                 ({move_error}), so it started with default settings and will not save any \
                 until it is restarted, to leave that file as it is.",
                file.display()
            )),
        }
    }
}

/// Reads `dir/settings.ron`; when it is missing, the settings an earlier socklab kept in
/// eframe's `dir/app.ron`. A file that cannot be read is moved aside.
pub fn load(dir: &Path) -> LoadOutcome {
    match load_file(&dir.join(FILE_NAME)) {
        LoadOutcome::Missing => load_legacy(&dir.join(LEGACY_FILE_NAME)),
        outcome => outcome,
    }
}

/// Reads one settings file; moves it aside when it cannot be read.
pub fn load_file(path: &Path) -> LoadOutcome {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return LoadOutcome::Missing,
        Err(e) => return move_aside(path, format!("cannot read it: {e}")),
    };
    match parse(&bytes) {
        Ok(saved) => LoadOutcome::Loaded(saved),
        Err(reason) => move_aside(path, reason),
    }
}

/// Reads the settings from eframe's storage file (a map of keys to RON texts). That file
/// holds only window geometry besides; when it cannot be read it is moved aside too, or
/// eframe would write over the settings in it.
fn load_legacy(path: &Path) -> LoadOutcome {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return LoadOutcome::Missing,
        Err(e) => return move_aside(path, format!("cannot read it: {e}")),
    };
    let map = match utf8(&bytes)
        .and_then(|text| ron::from_str::<HashMap<String, String>>(text).map_err(|e| ron_reason(&e)))
    {
        Ok(map) => map,
        Err(reason) => return move_aside(path, reason),
    };
    let Some(text) = map.get(STORAGE_KEY) else {
        return LoadOutcome::Missing;
    };
    match parse(text.as_bytes()) {
        Ok(saved) => LoadOutcome::Loaded(saved),
        Err(reason) => move_aside(path, format!("in its \"{STORAGE_KEY}\" entry, {reason}")),
    }
}

/// Parses a settings file's bytes. Unknown fields (from a newer socklab) are ignored and
/// missing ones take their defaults; the error names a line and column, or a byte.
pub fn parse(bytes: &[u8]) -> Result<Saved, String> {
    let text = utf8(bytes)?;
    let mut saved = ron::from_str::<Saved>(text).map_err(|e| ron_reason(&e))?;
    tidy(&mut saved);
    Ok(saved)
}

/// Values RON reads but no one could have set by dragging (`NaN`, `inf`, negative pane
/// heights) become the defaults, so a hand-edited file cannot break the layout.
fn tidy(saved: &mut Saved) {
    let defaults = Saved::default().options;
    let options = &mut saved.options;
    for (height, default) in [
        (
            &mut options.clients_pane_height,
            defaults.clients_pane_height,
        ),
        (&mut options.chart_pane_height, defaults.chart_pane_height),
        (
            &mut options.composer_pane_height,
            defaults.composer_pane_height,
        ),
    ] {
        if !height.is_finite() || *height < 0.0 {
            *height = default;
        }
    }
}

/// The file's text for `saved`.
pub fn to_text(saved: &Saved) -> String {
    // Plain data with string keys: serialising it cannot fail.
    ron::ser::to_string_pretty(saved, ron::ser::PrettyConfig::default())
        .expect("settings serialise to RON")
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 text at byte {}", e.valid_up_to() + 1))
}

fn ron_reason(error: &ron::error::SpannedError) -> String {
    let at = error.span.start;
    format!("line {}, column {}: {}", at.line, at.col, error.code)
}

/// Renames `path` to `path.unreadable-<local time>` (with `-2`, `-3`, … if taken).
fn move_aside(path: &Path, reason: String) -> LoadOutcome {
    let stamp = chrono::Local::now().format("%Y-%m-%dT%H-%M-%S");
    let name = path
        .file_name()
        .map_or_else(|| FILE_NAME.into(), |n| n.to_string_lossy().into_owned());
    let mut moved_to = path.with_file_name(format!("{name}.unreadable-{stamp}"));
    let mut n = 2;
    while moved_to.exists() {
        moved_to = path.with_file_name(format!("{name}.unreadable-{stamp}-{n}"));
        n += 1;
    }
    match fs::rename(path, &moved_to) {
        Ok(()) => LoadOutcome::MovedAside {
            file: path.to_path_buf(),
            moved_to,
            reason,
        },
        Err(e) => LoadOutcome::LeftInPlace {
            file: path.to_path_buf(),
            reason,
            move_error: e.to_string(),
        },
    }
}

/// Writes `text` to a temporary file beside `path`, flushes it to the disk and renames it
/// over `path`: a crash at any point leaves either the old file or the new one, whole.
pub fn save_atomically(path: &Path, text: &str) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
        return written;
    }
    // The rename itself reaches the disk with the directory; best effort where it can be opened.
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Saves settings on a thread of its own, so the window never waits on the disk. Only a
/// changed text is written; dropping the saver waits for the last write to finish.
pub struct Saver {
    path: PathBuf,
    texts: Option<Sender<String>>,
    results: Receiver<Result<(), String>>,
    thread: Option<JoinHandle<()>>,
    /// The text last handed to the thread, to skip saving what has not changed.
    last: Option<String>,
}

impl Saver {
    pub fn spawn(path: PathBuf) -> io::Result<Saver> {
        let (texts, inbox) = crossbeam_channel::unbounded::<String>();
        let (report, results) = crossbeam_channel::unbounded();
        let target = path.clone();
        let thread = std::thread::Builder::new()
            .name("socklab-settings".into())
            .spawn(move || {
                while let Ok(mut text) = inbox.recv() {
                    // Only the newest text matters.
                    while let Ok(newer) = inbox.try_recv() {
                        text = newer;
                    }
                    let result = save_atomically(&target, &text).map_err(|e| e.to_string());
                    if report.send(result).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Saver {
            path,
            texts: Some(texts),
            results,
            thread: Some(thread),
            last: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands `saved` to the saving thread unless it is what was saved last.
    pub fn save(&mut self, saved: &Saved) {
        let text = to_text(saved);
        if self.last.as_ref() == Some(&text) {
            return;
        }
        if let Some(texts) = &self.texts
            && texts.send(text.clone()).is_ok()
        {
            self.last = Some(text);
        }
    }

    /// Results of writes finished since the last call, oldest first. After a failure the
    /// next [`Saver::save`] writes again even if nothing changed.
    pub fn results(&mut self) -> Vec<Result<(), String>> {
        let results: Vec<_> = self.results.try_iter().collect();
        if results.iter().any(Result::is_err) {
            self.last = None;
        }
        results
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.texts = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::persist::{DisplayMode, SavedSocket};
    use crate::payload::TextEncoding;

    fn some_settings() -> Saved {
        let mut saved = Saved::default();
        saved.sockets.push(SavedSocket {
            server: false,
            chat: false,
            addr: "127.0.0.1:7".into(),
            encoding: TextEncoding::Gbk,
            udp: None,
            ..SavedSocket::default()
        });
        saved.options.display = DisplayMode::Hex;
        saved
    }

    #[test]
    fn a_udp_socket_survives_the_file_and_a_file_from_before_udp_still_loads() {
        use crate::model::persist::{SavedMembership, SavedUdp, SavedUdpOptions};
        let mut saved = some_settings();
        saved.sockets.push(SavedSocket {
            server: false,
            addr: "0.0.0.0:5000".into(),
            udp: Some(SavedUdp {
                client: false,
                bind: String::new(),
                options: SavedUdpOptions {
                    broadcast: true,
                    multicast_ttl: Some(4),
                    multicast_loop: false,
                    multicast_interface: "lo".into(),
                },
                memberships: vec![SavedMembership {
                    group: "239.1.2.3".into(),
                    interface: "127.0.0.1".into(),
                    source: Some("127.0.0.1".into()),
                }],
            }),
            ..SavedSocket::default()
        });
        assert_eq!(parse(to_text(&saved).as_bytes()), Ok(saved));
        let before_udp = parse(
            b"(sockets: [(server: true, chat: true, addr: \"127.0.0.1:9\", encoding: Utf8)])",
        )
        .unwrap();
        assert_eq!(before_udp.sockets[0].udp, None, "a TCP socket, as it was");
        assert!(before_udp.sockets[0].chat);
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_saved_file_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        save_atomically(&path, &to_text(&some_settings())).unwrap();
        assert_eq!(load(dir.path()), LoadOutcome::Loaded(some_settings()));
    }

    #[test]
    fn no_file_is_missing_and_says_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = load(dir.path());
        assert_eq!(outcome, LoadOutcome::Missing);
        assert_eq!(outcome.notice(), None);
        assert!(outcome.may_save());
        assert!(files_in(dir.path()).is_empty());
    }

    #[test]
    fn a_truncated_file_is_moved_aside_unchanged_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let whole = to_text(&some_settings());
        let half = &whole.as_bytes()[..whole.len() / 2];
        fs::write(&path, half).unwrap();

        let outcome = load(dir.path());
        let LoadOutcome::MovedAside {
            file,
            moved_to,
            reason,
        } = &outcome
        else {
            panic!("not moved aside: {outcome:?}");
        };
        assert_eq!(file, &path);
        assert!(!path.exists());
        assert_eq!(fs::read(moved_to).unwrap(), half);
        let moved_name = moved_to.file_name().unwrap().to_string_lossy();
        assert!(
            moved_name.starts_with("settings.ron.unreadable-20"),
            "{moved_name}"
        );
        assert!(reason.starts_with("line "), "{reason}");
        assert_eq!(outcome.saved(), Saved::default());
        assert!(outcome.may_save());
        let notice = outcome.notice().unwrap();
        assert!(notice.contains(&moved_to.display().to_string()), "{notice}");
        assert!(notice.contains(reason.as_str()), "{notice}");
    }

    #[test]
    fn two_unreadable_files_in_one_second_keep_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "(sockets: [").unwrap();
        let first = load_file(&path);
        fs::write(&path, "(history: [").unwrap();
        let second = load_file(&path);
        let moved = |o: &LoadOutcome| match o {
            LoadOutcome::MovedAside { moved_to, .. } => fs::read_to_string(moved_to).unwrap(),
            other => panic!("not moved aside: {other:?}"),
        };
        assert_eq!(moved(&first), "(sockets: [");
        assert_eq!(moved(&second), "(history: [");
        assert_eq!(files_in(dir.path()).len(), 2);
    }

    #[test]
    fn bytes_that_are_not_text_name_the_byte() {
        assert_eq!(
            parse(b"(history: [\xff])").unwrap_err(),
            "not UTF-8 text at byte 12"
        );
    }

    #[test]
    fn unknown_fields_from_a_newer_socklab_are_ignored() {
        let text = r#"(
            sockets: [(server: true, chat: true, addr: "0.0.0.0:1", tls: (cert: "a.pem"))],
            options: (display: Hex, form_addr: "h:2", theme: "dark"),
            scenarios: ["x", "y"],
        )"#;
        let saved = parse(text.as_bytes()).unwrap();
        assert_eq!(saved.sockets[0].addr, "0.0.0.0:1");
        assert!(saved.sockets[0].chat);
        assert_eq!(saved.options.display, DisplayMode::Hex);
        assert_eq!(saved.options.form_addr, "h:2");
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let saved = parse(b"(presets: [(name: \"p\", payload: (text: \"hi\"))])").unwrap();
        assert_eq!(saved.presets[0].name, "p");
        assert_eq!(saved.presets[0].payload.text, "hi");
        assert_eq!(
            saved.presets[0].payload.encoding,
            TextEncoding::default(),
            "missing inside a preset"
        );
        assert_eq!(saved.options, Saved::default().options);
        assert_eq!(parse(b"()").unwrap(), Saved::default());
    }

    #[test]
    fn the_settings_an_earlier_socklab_kept_in_eframes_file_are_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let inner = to_text(&some_settings());
        let mut map = HashMap::new();
        map.insert(STORAGE_KEY.to_string(), inner);
        map.insert("egui".to_string(), "()".to_string());
        fs::write(
            dir.path().join(LEGACY_FILE_NAME),
            ron::to_string(&map).unwrap(),
        )
        .unwrap();
        assert_eq!(load(dir.path()), LoadOutcome::Loaded(some_settings()));

        // Once socklab's own file exists, eframe's is not read for settings.
        save_atomically(&dir.path().join(FILE_NAME), &to_text(&Saved::default())).unwrap();
        assert_eq!(load(dir.path()), LoadOutcome::Loaded(Saved::default()));
    }

    #[test]
    fn eframes_file_without_settings_is_missing_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join(LEGACY_FILE_NAME);
        fs::write(&legacy, r#"{"egui": "()"}"#).unwrap();
        assert_eq!(load(dir.path()), LoadOutcome::Missing);
        assert!(legacy.exists());
    }

    #[test]
    fn a_cut_eframe_file_holding_the_settings_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join(LEGACY_FILE_NAME);
        fs::write(&legacy, r#"{"socklab": "(sockets: [(server: tr"#).unwrap();
        let outcome = load(dir.path());
        assert!(
            matches!(&outcome, LoadOutcome::MovedAside { file, .. } if file == &legacy),
            "{outcome:?}"
        );
        assert!(!legacy.exists());
    }

    #[test]
    fn a_bad_settings_entry_in_eframes_file_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(LEGACY_FILE_NAME),
            r#"{"socklab": "(sockets: 7)"}"#,
        )
        .unwrap();
        match load(dir.path()) {
            LoadOutcome::MovedAside { reason, .. } => {
                assert!(
                    reason.starts_with("in its \"socklab\" entry, line 1"),
                    "{reason}"
                )
            }
            other => panic!("not moved aside: {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_that_cannot_be_moved_is_left_and_not_saved_over() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "(sockets: [").unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let outcome = load(dir.path());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        if std::fs::File::create(dir.path().join("probe")).is_ok() {
            // Running as root: permissions do not stop the rename, so this case cannot occur.
            assert!(
                matches!(outcome, LoadOutcome::MovedAside { .. }),
                "{outcome:?}"
            );
            return;
        }
        assert!(!outcome.may_save(), "{outcome:?}");
        assert!(outcome.notice().unwrap().contains("will not save"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "(sockets: [");
    }

    #[test]
    fn saving_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "old").unwrap();
        save_atomically(&path, "new text").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new text");
        assert_eq!(files_in(dir.path()), [FILE_NAME]);
    }

    #[test]
    fn a_failed_save_keeps_the_old_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "old").unwrap();
        // The temporary file's name is taken by a directory: creating it fails.
        let temp = dir
            .path()
            .join(format!(".{FILE_NAME}.tmp-{}", std::process::id()));
        fs::create_dir(&temp).unwrap();
        assert!(save_atomically(&path, "new").is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        fs::remove_dir(&temp).unwrap();
        assert_eq!(files_in(dir.path()), [FILE_NAME]);
    }

    #[test]
    fn the_saver_writes_changes_only_and_finishes_before_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        let mut saver = Saver::spawn(path.clone()).unwrap();
        saver.save(&Saved::default());
        saver.save(&some_settings());
        saver.save(&some_settings());
        drop(saver);
        assert_eq!(load_file(&path), LoadOutcome::Loaded(some_settings()));
        assert_eq!(files_in(&dir.path().join("sub")), [FILE_NAME]);
    }

    #[test]
    fn the_saver_reports_a_failure_and_tries_again() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder should be: every write fails.
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, "").unwrap();
        let mut saver = Saver::spawn(blocker.join(FILE_NAME)).unwrap();
        saver.save(&some_settings());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let results = loop {
            let results = saver.results();
            if !results.is_empty() {
                break results;
            }
            assert!(std::time::Instant::now() < deadline, "no result");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert!(results[0].is_err(), "{results:?}");
        // The same settings are written again at the next save.
        fs::remove_file(&blocker).unwrap();
        saver.save(&some_settings());
        drop(saver);
        assert_eq!(
            load_file(&blocker.join(FILE_NAME)),
            LoadOutcome::Loaded(some_settings())
        );
    }
}
