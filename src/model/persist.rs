//! What socklab remembers between runs (the window keeps it in `settings_file`): the
//! socket list (restored stopped; UDP ones with their options and groups), sent-payload history, named presets and view options.
//! Plain serde data; runtime handles stay out. Every struct is `#[serde(default)]`, so a
//! file from an older socklab (fields missing) or a newer one (fields unknown) still loads.

use serde::{Deserialize, Serialize};

use super::tls::TlsSide;
use crate::engine::framing::FramingSpec;
use crate::engine::options::SocketOptions;
use crate::engine::responder::ResponderSpec;
use crate::engine::{Membership, UdpOptions};
use crate::payload::{Checksum, LineEnding, PayloadFormat, TextEncoding};

/// The key under which earlier versions kept [`Saved`] in eframe's storage.
pub const STORAGE_KEY: &str = "socklab";
/// Sent payloads remembered, newest first.
pub const MAX_HISTORY: usize = 50;
/// Longer payloads are sent but not remembered: the history is saved every few seconds.
pub const MAX_HISTORY_TEXT: usize = 16 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Saved {
    pub sockets: Vec<SavedSocket>,
    pub history: Vec<SavedPayload>,
    pub presets: Vec<Preset>,
    pub options: Options,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedSocket {
    /// TCP only (ignored when `udp` is set).
    pub server: bool,
    pub chat: bool,
    /// TCP: where to listen or connect. UDP socket: where to bind. UDP client: its peer.
    pub addr: String,
    /// How the socket's text is typed and shown.
    pub encoding: TextEncoding,
    /// Set for a UDP socket or client; files from before UDP have none (TCP).
    pub udp: Option<SavedUdp>,
    /// How received bytes are cut into messages (files from before framing: raw).
    pub framing: FramingSpec,
    /// The rules as edited (files from before responders: none).
    pub responder: ResponderSpec,
    /// "Respond with rules" was on.
    pub respond: bool,
    /// TCP: the socket options asked for (files from before them: the defaults).
    pub socket_options: SocketOptions,
    /// TCP: TLS on or off and its settings (files from before TLS: off).
    pub tls: TlsSide,
    /// A TCP client's connect timeout in milliseconds (files from before it: 10 s).
    pub connect_timeout_ms: u64,
}

impl Default for SavedSocket {
    fn default() -> Self {
        SavedSocket {
            server: true,
            chat: false,
            addr: String::new(),
            encoding: TextEncoding::Utf8,
            udp: None,
            framing: FramingSpec::default(),
            responder: ResponderSpec::default(),
            respond: false,
            socket_options: SocketOptions::default(),
            tls: TlsSide::default(),
            connect_timeout_ms: 10_000,
        }
    }
}

/// A UDP socket's or client's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedUdp {
    /// A connected UDP client (talks to `addr` only) rather than a UDP socket.
    pub client: bool,
    /// A client's local address (empty: any).
    pub bind: String,
    pub options: SavedUdpOptions,
    /// Groups joined again when the socket opens.
    pub memberships: Vec<SavedMembership>,
}

/// [`UdpOptions`] as saved (the engine's types carry no serde).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedUdpOptions {
    pub broadcast: bool,
    pub multicast_ttl: Option<u32>,
    pub multicast_loop: bool,
    pub multicast_interface: String,
}

impl Default for SavedUdpOptions {
    fn default() -> Self {
        SavedUdpOptions::from(&UdpOptions::default())
    }
}

impl From<&UdpOptions> for SavedUdpOptions {
    fn from(o: &UdpOptions) -> Self {
        SavedUdpOptions {
            broadcast: o.broadcast,
            multicast_ttl: o.multicast_ttl,
            multicast_loop: o.multicast_loop,
            multicast_interface: o.multicast_interface.clone(),
        }
    }
}

impl From<&SavedUdpOptions> for UdpOptions {
    fn from(o: &SavedUdpOptions) -> Self {
        UdpOptions {
            broadcast: o.broadcast,
            // A hand-edited TTL out of range is the system's default instead.
            multicast_ttl: o.multicast_ttl.filter(|ttl| (1..=255).contains(ttl)),
            multicast_loop: o.multicast_loop,
            multicast_interface: o.multicast_interface.clone(),
        }
    }
}

/// A [`Membership`] as saved: addresses as text, so a hand-edited typo drops one
/// membership instead of making the whole file unreadable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedMembership {
    pub group: String,
    pub interface: String,
    pub source: Option<String>,
}

impl From<&Membership> for SavedMembership {
    fn from(m: &Membership) -> Self {
        SavedMembership {
            group: m.group.to_string(),
            interface: m.interface.clone(),
            source: m.source.map(|s| s.to_string()),
        }
    }
}

impl SavedMembership {
    /// The membership, or `None` when an address does not read.
    pub fn membership(&self) -> Option<Membership> {
        let source = match &self.source {
            Some(text) => Some(text.parse().ok()?),
            None => None,
        };
        Some(Membership {
            group: self.group.parse().ok()?,
            interface: self.interface.clone(),
            source,
        })
    }
}

/// A payload as the composer holds it, so loading it restores exactly what was typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedPayload {
    pub text: String,
    pub format: PayloadFormat,
    pub encoding: TextEncoding,
    pub line_ending: LineEnding,
    /// Appended to what is sent.
    pub checksum: Option<Checksum>,
    /// `{{…}}` are variables. Payloads remembered before variables existed were sent
    /// literally, so they load with this off.
    pub variables: bool,
}

impl SavedPayload {
    /// One line for menus: format and the start of the text.
    pub fn summary(&self) -> String {
        let mut text: String = self.text.chars().take(40).collect();
        if self.text.chars().count() > 40 {
            text.push('…');
        }
        let text = text.replace('\n', "⏎");
        format!("[{}] {text}", self.format.label())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preset {
    pub name: String,
    pub payload: SavedPayload,
}

/// How the log shows data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisplayMode {
    #[default]
    Text,
    Hex,
    Both,
}

impl DisplayMode {
    pub const ALL: [DisplayMode; 3] = [DisplayMode::Text, DisplayMode::Hex, DisplayMode::Both];

    pub fn label(self) -> &'static str {
        match self {
            DisplayMode::Text => "Text",
            DisplayMode::Hex => "Hex",
            DisplayMode::Both => "Hex + text",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub display: DisplayMode,
    pub form_addr: String,
    /// Split positions of the session view, as the user dragged them: heights in points
    /// of the client table, the rate chart and the composer (the log takes the rest).
    pub clients_pane_height: f32,
    pub chart_pane_height: f32,
    pub composer_pane_height: f32,
    /// The rate chart pane is shown.
    pub show_chart: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            display: DisplayMode::Text,
            form_addr: "127.0.0.1:9999".into(),
            clients_pane_height: 170.0,
            chart_pane_height: 150.0,
            composer_pane_height: 200.0,
            show_chart: false,
        }
    }
}

impl Saved {
    /// Remembers a sent payload at the top of the history, without duplicates.
    pub fn remember(&mut self, payload: SavedPayload) {
        if payload.text.len() > MAX_HISTORY_TEXT {
            return;
        }
        self.history.retain(|p| p != &payload);
        self.history.insert(0, payload);
        self.history.truncate(MAX_HISTORY);
    }

    /// Saves a preset, replacing one of the same name.
    pub fn save_preset(&mut self, name: &str, payload: SavedPayload) {
        let name = name.trim().to_string();
        match self.presets.iter_mut().find(|p| p.name == name) {
            Some(preset) => preset.payload = payload,
            None => self.presets.push(Preset { name, payload }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(text: &str) -> SavedPayload {
        SavedPayload {
            text: text.into(),
            format: PayloadFormat::Hex,
            encoding: TextEncoding::Gbk,
            line_ending: LineEnding::CrLf,
            checksum: None,
            variables: true,
        }
    }

    #[test]
    fn history_keeps_newest_first_without_duplicates_and_bounded() {
        let mut saved = Saved::default();
        for i in 0..MAX_HISTORY + 10 {
            saved.remember(payload(&i.to_string()));
        }
        saved.remember(payload("3"));
        saved.remember(payload(&"f".repeat(MAX_HISTORY_TEXT + 1)));
        assert_eq!(saved.history.len(), MAX_HISTORY);
        assert_eq!(saved.history[0].text, "3");
        assert_eq!(saved.history.iter().filter(|p| p.text == "3").count(), 1);
    }

    #[test]
    fn survives_a_round_trip_through_ron_and_tolerates_missing_fields() {
        let mut saved = Saved::default();
        saved.sockets.push(SavedSocket {
            server: true,
            chat: true,
            addr: "127.0.0.1:0".into(),
            encoding: TextEncoding::Big5,
            udp: None,
            ..SavedSocket::default()
        });
        saved.save_preset("ping", payload("01 02"));
        saved.save_preset("ping", payload("03"));
        saved.options.display = DisplayMode::Both;
        saved.options.composer_pane_height = 321.0;
        saved.options.show_chart = true;
        let text = ron::to_string(&saved).unwrap();
        assert_eq!(ron::from_str::<Saved>(&text).unwrap(), saved);
        assert_eq!(saved.presets.len(), 1);
        assert_eq!(
            ron::from_str::<Saved>("(history: [])").unwrap().options,
            Options::default()
        );
        let before_panes = ron::from_str::<Saved>("(options: (display: Hex))").unwrap();
        assert_eq!(before_panes.options.display, DisplayMode::Hex);
        assert_eq!(
            before_panes.options.clients_pane_height,
            Options::default().clients_pane_height,
            "settings saved before the panes existed load with the default splits"
        );
        let older =
            ron::from_str::<Saved>("(sockets: [(server: false, chat: false, addr: \"h:1\")])");
        assert_eq!(older.unwrap().sockets[0].encoding, TextEncoding::Utf8);
    }

    #[test]
    fn framing_rules_and_checksums_round_trip_and_older_files_load_without_them() {
        use crate::engine::framing::{Framing, LengthPrefix};
        use crate::engine::responder::{MatchKind, ReplyTo, RuleAction, RuleSpec};
        use crate::payload::{ByteOrder, ChecksumKind, PayloadSpec};
        let crc = Checksum {
            kind: ChecksumKind::Crc16Modbus,
            order: ByteOrder::Little,
        };
        let rule = RuleSpec {
            enabled: false,
            name: "ping".into(),
            matches: MatchKind::StartsWith,
            pattern: "01 ?? 03".into(),
            pattern_format: PayloadFormat::Hex,
            action: RuleAction::Reply,
            reply: PayloadSpec {
                text: "n={{counter}}".into(),
                format: PayloadFormat::Escaped,
                line_ending: LineEnding::CrLf,
                checksum: Some(crc),
                variables: true,
            },
            delay_ms: 250,
            to: ReplyTo::All,
        };
        let mut saved = Saved::default();
        for framing in [
            Framing::LengthPrefixed(LengthPrefix {
                width: 4,
                big_endian: false,
                includes_header: true,
                offset: 2,
            }),
            Framing::Delimiter(vec![0x0d, 0x0a]),
            Framing::Line(crate::engine::framing::LineEnd::CrLf),
            Framing::Fixed(9),
        ] {
            saved.sockets.push(SavedSocket {
                addr: "127.0.0.1:0".into(),
                framing: FramingSpec {
                    framing,
                    max_message: 4096,
                    checksum: Some(crc),
                },
                responder: ResponderSpec {
                    all_matching: true,
                    encoding: TextEncoding::Gbk,
                    rules: vec![rule.clone(), RuleSpec::default()],
                },
                respond: true,
                ..SavedSocket::default()
            });
        }
        let mut draft = payload("{{counter}}");
        draft.checksum = Some(crc);
        saved.remember(draft);
        let text = ron::to_string(&saved).unwrap();
        assert_eq!(ron::from_str::<Saved>(&text).unwrap(), saved);

        // Written by the socklab before framing, responders and checksums.
        let older = ron::from_str::<Saved>(
            "(sockets: [(server: true, chat: false, addr: \"127.0.0.1:7\", encoding: Utf8, \
             udp: None)], history: [(text: \"{{x}}\", format: Text, encoding: Utf8, \
             line_ending: Lf)])",
        )
        .unwrap();
        let socket = &older.sockets[0];
        assert_eq!(socket.framing, FramingSpec::default());
        assert_eq!(socket.responder, ResponderSpec::default());
        assert!(!socket.respond);
        assert_eq!(older.history[0].checksum, None);
        assert!(
            !older.history[0].variables,
            "a payload sent literally before stays literal"
        );
    }
}
