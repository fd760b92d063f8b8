//! The Linux desktop entry and its icon, as the README installs them: the entry starts the
//! installed `socklab` in a window, and the icon is the size of the folder it goes to.

use std::collections::HashMap;

fn desktop_entry() -> HashMap<String, String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/socklab.desktop"
    ))
    .expect("assets/socklab.desktop exists");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("[Desktop Entry]"));
    lines
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("key=value");
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn the_desktop_entry_opens_the_installed_window() {
    let entry = desktop_entry();
    let get = |key: &str| entry.get(key).map(String::as_str);
    assert_eq!(get("Type"), Some("Application"));
    assert_eq!(get("Name"), Some("socklab"));
    assert_eq!(get("Exec"), Some("socklab"));
    assert_eq!(get("Icon"), Some("socklab"));
    assert_eq!(get("Terminal"), Some("false"));
    assert_eq!(get("Categories"), Some("Network;Development;"));
    // The window's app id (ui::run), so the running window is matched to this entry.
    assert_eq!(get("StartupWMClass"), Some("socklab"));
    assert!(get("Comment").is_some_and(|c| !c.is_empty()));
}

#[test]
fn the_icon_is_a_256_pixel_square_png() {
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/icon.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(
        (width, height),
        (256, 256),
        "installed under hicolor/256x256"
    );
}
