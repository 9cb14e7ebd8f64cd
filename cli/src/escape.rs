//! Text from devices and members, made harmless for a terminal.
//!
//! A sysDescr, an ifAlias, a station name set on a member's own radio, a member's name from a
//! CSV file: any of them may carry escape sequences that retitle, clear or rewrite the
//! technician's terminal, a newline that forges an output line, or a bidi override that shows
//! text in another order than it is. Every text output shows such characters escaped
//! (`\x1b`, `\n`, `\u{202e}`), never interpreted; `--json` output escapes them as JSON does
//! (`\u001b`), the few JSON leaves raw (DEL, C1, bidi) included.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Whether a character must not reach a terminal as it is: C0 controls (newline and tab
/// included: a value is one line), DEL, C1 controls, bidi overrides and isolates, and the
/// Unicode line and paragraph separators.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// One value (a name, a description) as a terminal may show it: unsafe characters escaped,
/// everything else as it is. Escaping escaped text changes nothing.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_unsafe(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A message of several lines (an error with its details): each line escaped, the line
/// breaks kept.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

/// A whole answer with every string in it escaped (object keys too), for the text outputs:
/// no field can be forgotten by a renderer.
pub fn escaped<T: Serialize + DeserializeOwned>(value: T) -> anyhow::Result<T> {
    let mut tree = serde_json::to_value(&value)?;
    escape_tree(&mut tree);
    Ok(serde_json::from_value(tree)?)
}

fn escape_tree(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(e) = escape(s) {
                *s = e;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(escape_tree),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut item) in entries {
                escape_tree(&mut item);
                map.insert(escape(&k).into_owned(), item);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// JSON text with the characters JSON leaves raw (DEL, C1, bidi, separators) as `\uXXXX`
/// escapes too: the same document, safe to `cat`. Outside strings JSON text is ASCII, so each
/// one found is inside a string.
pub fn json_safe(json: String) -> String {
    // C0 controls are escaped by JSON itself inside strings, and are layout outside them.
    let raw_in_json = |c: char| c >= '\u{7f}' && is_unsafe(c);
    if !json.chars().any(raw_in_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw_in_json(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A word for a command line the CLI suggests (`coopnoc line add ... --key KEY`), quoted for
/// a POSIX shell when it holds anything but plain characters: a key read from a device
/// (`$(reboot)`) is pasted as text, never run.
pub fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_escaped() {
        assert_eq!(
            escape("\u{1b}]0;owned\u{7}\u{1b}[2J"),
            "\\x1b]0;owned\\x07\\x1b[2J"
        );
        assert_eq!(escape("a\r\nb\tc\u{0}"), "a\\r\\nb\\tc\\x00");
        assert_eq!(escape("del\u{7f} csi\u{9b}2J"), "del\\x7f csi\\u{9b}2J");
        assert_eq!(
            escape("abc\u{202e}fdp.exe\u{2066}\u{2069}"),
            "abc\\u{202e}fdp.exe\\u{2066}\\u{2069}"
        );
        assert_eq!(escape("line\u{2028}sep"), "line\\u{2028}sep");
    }

    #[test]
    fn ordinary_text_is_left_alone_and_escaping_is_idempotent() {
        for text in [
            "Zoé Quintessa-Erasmus",
            "gpon_1/1/3:12",
            "ZXA10 C320 — été",
            "日本語",
            "C:\\path",
        ] {
            assert!(matches!(escape(text), Cow::Borrowed(_)), "{text}");
        }
        let once = escape("\u{1b}[31mred\u{9b}\u{202e}").into_owned();
        assert_eq!(escape(&once), once);
        assert!(!once.chars().any(is_unsafe));
    }

    #[test]
    fn messages_keep_their_line_breaks() {
        assert_eq!(
            escape_lines("2 rows refused\n  line 3: \u{1b}[2J\n  line 4: ok"),
            "2 rows refused\n  line 3: \\x1b[2J\n  line 4: ok"
        );
    }

    #[test]
    fn every_string_of_an_answer_is_escaped_keys_included() {
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("name\u{1b}".to_string(), "\u{1b}]0;x\u{7}".to_string());
        let item = coopnoc_proto::UnassignedItem {
            device: "olt\u{1b}[2J".into(),
            site: Some("nord\n".into()),
            kind: "onu".into(),
            port: None,
            onu: Some(3),
            match_kind: None,
            key: Some("\u{202e}KEY".into()),
            labels,
        };
        let e = escaped(item).expect("round trip");
        assert_eq!(e.device, "olt\\x1b[2J");
        assert_eq!(e.site.as_deref(), Some("nord\\n"));
        assert_eq!(e.key.as_deref(), Some("\\u{202e}KEY"));
        assert_eq!(e.onu, Some(3));
        assert_eq!(
            e.labels.get("name\\x1b").map(String::as_str),
            Some("\\x1b]0;x\\x07")
        );
    }

    #[test]
    fn suggested_commands_quote_what_a_shell_would_run() {
        assert_eq!(shell_word("gpon_1/1/3:12"), "gpon_1/1/3:12");
        assert_eq!(shell_word("aa:bb:cc:00:11:22"), "aa:bb:cc:00:11:22");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_word("it's; rm"), "'it'\\''s; rm'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn json_output_escapes_what_json_leaves_raw() {
        let value = serde_json::json!({"name": "a\u{1b}b\u{7f}c\u{9b}d\u{202e}e"});
        let text = json_safe(serde_json::to_string(&value).expect("json"));
        assert_eq!(text, r#"{"name":"a\u001bb\u007fc\u009bd\u202ee"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, value);
        // Pretty-printed, its layout stays as it is.
        let pretty = json_safe(serde_json::to_string_pretty(&value).expect("json"));
        assert!(
            pretty.contains("{\n  \"name\": \"a\\u001bb\\u007fc"),
            "{pretty}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&pretty).expect("JSON"),
            value
        );
    }
}
