//! Free text, personal and organisational names, and e-mail addresses.
//!
//! Only JSON strings are text: a number where text is expected is a mapping
//! mistake, not something to stringify silently. Lengths are in characters
//! and are checked before any copy, so a huge value costs one scan.

use serde_json::Value;

use super::Invalid;

/// Longest free text, in characters.
const TEXT_MAX_CHARS: usize = 10_000;
/// Longest name, in characters.
const NAME_MAX_CHARS: usize = 500;
/// Longest e-mail address (RFC 5321's path limit less the angle brackets).
const EMAIL_MAX_CHARS: usize = 254;

/// Free text: a string, trimmed, at most 10 000 characters, with no control
/// characters but line feeds and tabs (a CR LF line end becomes a line feed).
pub fn text(value: &Value) -> Result<String, Invalid> {
    let expected =
        "text (a string of at most 10000 characters, no control characters but \\n and \\t)";
    let raw = value
        .as_str()
        .map(str::trim)
        .ok_or_else(|| Invalid::new(expected, value))?;
    if longer_than(raw, TEXT_MAX_CHARS) {
        return Err(Invalid::new(expected, value));
    }
    let text = raw.replace("\r\n", "\n");
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Invalid::new(expected, value));
    }
    Ok(text)
}

/// A name: [`text`] with every run of whitespace (line breaks and tabs too)
/// collapsed to one space; not empty, at most 500 characters.
pub fn name(value: &Value) -> Result<String, Invalid> {
    let expected = "a name (a non-empty string of at most 500 characters)";
    let text = text(value).map_err(|_| Invalid::new(expected, value))?;
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || longer_than(&name, NAME_MAX_CHARS) {
        return Err(Invalid::new(expected, value));
    }
    Ok(name)
}

/// An e-mail address, trimmed and lower-cased: one `@` between a non-empty
/// local part and a domain with an inner dot, no whitespace or control
/// characters, at most 254 characters. Deliberately no more than that: the
/// full RFC 5322 grammar accepts much that no mailbox uses.
pub fn email(value: &Value) -> Result<String, Invalid> {
    let expected = "an e-mail address like name@example.com";
    let invalid = || Invalid::new(expected, value);
    let raw = value.as_str().map(str::trim).ok_or_else(invalid)?;
    if longer_than(raw, EMAIL_MAX_CHARS) || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    let email = raw.to_lowercase();
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || domain.contains('@') || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

/// Whether `text` has more than `max` characters, without counting past
/// it, nor at all when its bytes are few enough.
pub(super) fn longer_than(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().nth(max).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_trimmed_and_checked() {
        for (input, expected) in [
            ("  hello  ", "hello"),
            ("line one\nline two", "line one\nline two"),
            ("a\r\nb", "a\nb"),
            ("tab\tseparated", "tab\tseparated"),
            ("Grüße, 東京 😀", "Grüße, 東京 😀"),
            ("", ""),
        ] {
            assert_eq!(text(&json!(input)), Ok(expected.to_owned()), "{input:?}");
        }
        assert_eq!(
            text(&json!("é".repeat(10_000))).unwrap().chars().count(),
            10_000
        );
    }

    #[test]
    fn bad_text_is_invalid() {
        for input in [
            json!("a\u{0}b"),
            json!("bell\u{7}"),
            json!("lone\rcarriage return"),
            json!("escape\u{1b}[31m"),
            json!("a\u{85}b"),
            json!("x".repeat(10_001)),
            json!("😀".repeat(100_000)),
            json!(42),
            json!(1.5),
            json!(true),
            json!(null),
            json!({"text": "a"}),
        ] {
            assert!(text(&input).is_err(), "{input}");
        }
    }

    #[test]
    fn names_collapse_whitespace() {
        for (input, expected) in [
            ("  Ada   Lovelace ", "Ada Lovelace"),
            ("Ada\n\tLovelace", "Ada Lovelace"),
            ("Zoë\u{a0}Ålander", "Zoë Ålander"),
            ("O'Brien-Smith", "O'Brien-Smith"),
        ] {
            assert_eq!(name(&json!(input)), Ok(expected.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn bad_names_are_invalid() {
        for input in [
            json!(""),
            json!(" \n\t "),
            json!("x".repeat(501)),
            json!("a\u{0}"),
            json!(7),
            json!(null),
        ] {
            assert!(name(&input).is_err(), "{input}");
        }
        assert!(name(&json!("x".repeat(500))).is_ok());
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        for (input, expected) in [
            ("Ada@Example.COM", "ada@example.com"),
            (
                "  first.last+tag@mail.example.org ",
                "first.last+tag@mail.example.org",
            ),
            ("ÉLODIE@exemple.fr", "élodie@exemple.fr"),
        ] {
            assert_eq!(email(&json!(input)), Ok(expected.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn bad_emails_are_invalid() {
        let long = format!("{}@example.com", "a".repeat(243));
        for input in [
            json!(""),
            json!("plain"),
            json!("@example.com"),
            json!("a@localhost"),
            json!("a@b@example.com"),
            json!("a b@example.com"),
            json!("a@.example.com"),
            json!("a@example.com."),
            json!("a@example..com"),
            json!("a\u{0}@example.com"),
            json!(long),
            json!("@".repeat(100_000)),
            json!(1),
            json!(null),
        ] {
            assert!(email(&input).is_err(), "{input}");
        }
        let longest = format!("{}@example.com", "a".repeat(242));
        assert!(email(&json!(longest)).is_ok());
    }
}
