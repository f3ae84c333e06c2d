//! Users as the API shows them, and the rules for the fields people choose themselves.

use crate::rules;
use crate::validate::length_problem;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory as _};

use crate::Role;
use crate::validate::Checks;

/// A user as the API returns it (never with the password hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Username, as registered.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Role.
    pub role: Role,
    /// Whether the account may sign in; a deactivated account's tokens stop working.
    pub active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// bcrypt reads at most this many bytes of a password.
pub const PASSWORD_MAX_BYTES: usize = 72;

/// The problem with a username, if any: 3–32 ASCII letters, digits, `_`, `.`, `-`.
pub fn username_problem(username: &str) -> Option<String> {
    let length = username.chars().count();
    if let Some(problem) = length_problem(length, rules::USERNAME) {
        Some(problem)
    } else if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        Some("may contain only ASCII letters, digits, '_', '.' and '-'".into())
    } else {
        None
    }
}

/// The problem with a new password, if any: 8–64 characters, at most 72 bytes, with a
/// lowercase letter, an uppercase letter, a digit and another character; no control
/// characters.
pub fn password_problem(password: &str) -> Option<String> {
    let length = password.chars().count();
    if let Some(problem) = length_problem(length, rules::PASSWORD) {
        Some(problem)
    } else if password.len() > PASSWORD_MAX_BYTES {
        Some(format!(
            "must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8"
        ))
    } else if password.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else if !password.chars().any(char::is_lowercase)
        || !password.chars().any(char::is_uppercase)
        || !password.chars().any(|c| c.is_ascii_digit())
        || !password.chars().any(|c| !c.is_alphanumeric())
    {
        Some(
            "must contain a lowercase letter, an uppercase letter, a digit and another character"
                .into(),
        )
    } else {
        None
    }
}

/// The problem with a full name (in NFC), if any: 2–100 characters, letters of any script
/// (with their combining marks: a Devanagari virama, a Tamil pulli, an accent NFC cannot
/// compose), spaces, `-` and `'`, at least two words.
pub fn full_name_problem(full_name: &str) -> Option<String> {
    let length = full_name.chars().count();
    let mut previous = ' ';
    let allowed = full_name.chars().all(|c| {
        let is_mark = |c: char| c.general_category_group() == GeneralCategoryGroup::Mark;
        // A mark belongs to the letter (or mark) before it, never to a space.
        let ok = c.is_alphabetic()
            || matches!(c, ' ' | '-' | '\'')
            || (is_mark(c) && (previous.is_alphabetic() || is_mark(previous)));
        previous = c;
        ok
    });
    if let Some(problem) = length_problem(length, rules::FULL_NAME) {
        Some(problem)
    } else if let Some(problem) = crate::validate::invisible_problem(full_name) {
        Some(problem)
    } else if !allowed {
        Some("may contain only letters, spaces, '-' and '''".into())
    } else if full_name
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphabetic))
        .count()
        < 2
    {
        Some("must have at least two words".into())
    } else {
        None
    }
}

/// A registration that passed every rule.
#[derive(Debug)]
pub struct NewUser {
    /// Username.
    pub username: String,
    /// Password, still in clear: it is hashed next, off the async threads.
    pub password: SecretString,
    /// Full name, with surrounding and repeated spaces removed.
    pub full_name: String,
}

impl NewUser {
    /// Checks every field at once; 422 lists all that are wrong or missing.
    pub fn parse(
        username: Option<String>,
        password: Option<SecretString>,
        confirm_password: Option<SecretString>,
        full_name: Option<String>,
    ) -> crate::Result<Self> {
        const REQUIRED: &str = "this field is required";
        let full_name = full_name.map(|name| {
            crate::validate::name(&name.split_whitespace().collect::<Vec<_>>().join(" "))
        });
        let mut checks = Checks::new();
        checks
            .check("username", username.is_none(), REQUIRED)
            .add("username", username.as_deref().and_then(username_problem))
            .check("password", password.is_none(), REQUIRED)
            .add("password", password.as_ref().and_then(|p| password_problem(p.expose_secret())))
            .check("confirm_password", confirm_password.is_none(), REQUIRED)
            .check(
                "confirm_password",
                matches!((&password, &confirm_password), (Some(p), Some(c)) if p.expose_secret() != c.expose_secret()),
                "must equal password",
            )
            .check("full_name", full_name.is_none(), REQUIRED)
            .add("full_name", full_name.as_deref().and_then(full_name_problem));
        checks.finish()?;
        match (username, password, full_name) {
            (Some(username), Some(password), Some(full_name)) => Ok(Self {
                username,
                password,
                full_name,
            }),
            _ => unreachable!("missing fields were reported above"),
        }
    }
}

/// A password change that passed every rule.
#[derive(Debug)]
pub struct NewPassword {
    /// The current password, to check.
    pub current: SecretString,
    /// The new one.
    pub new: SecretString,
}

impl NewPassword {
    /// Checks every field at once; 422 lists all that are wrong or missing.
    pub fn parse(
        current: Option<SecretString>,
        new: Option<SecretString>,
        confirm: Option<SecretString>,
    ) -> crate::Result<Self> {
        const REQUIRED: &str = "this field is required";
        let same = |a: &Option<SecretString>, b: &Option<SecretString>| matches!((a, b), (Some(a), Some(b)) if a.expose_secret() == b.expose_secret());
        let mut checks = Checks::new();
        checks
            .check("current_password", current.is_none(), REQUIRED)
            .check("new_password", new.is_none(), REQUIRED)
            .add(
                "new_password",
                new.as_ref()
                    .and_then(|p| password_problem(p.expose_secret())),
            )
            .check(
                "new_password",
                same(&current, &new),
                "must differ from the current password",
            )
            .check("confirm_password", confirm.is_none(), REQUIRED)
            .check(
                "confirm_password",
                new.is_some() && confirm.is_some() && !same(&new, &confirm),
                "must equal new_password",
            );
        checks.finish()?;
        match (current, new) {
            (Some(current), Some(new)) => Ok(Self { current, new }),
            _ => unreachable!("missing fields were reported above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_changes_list_every_bad_field() {
        let secret = |s: &str| Some(SecretString::from(s.to_owned()));
        let fields = |result: crate::Result<NewPassword>| match result {
            Err(crate::Error::Validation(errors)) => {
                errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(NewPassword::parse(None, None, None)),
            ["current_password", "new_password", "confirm_password"]
        );
        assert_eq!(
            fields(NewPassword::parse(
                secret("Old#Pass1"),
                secret("weak"),
                secret("other")
            )),
            ["new_password", "confirm_password"]
        );
        assert_eq!(
            fields(NewPassword::parse(
                secret("Same#Pass1"),
                secret("Same#Pass1"),
                secret("Same#Pass1")
            )),
            ["new_password"]
        );
        let ok = NewPassword::parse(
            secret("Old#Pass1"),
            secret("New#Pass2"),
            secret("New#Pass2"),
        )
        .expect("valid");
        assert_eq!(ok.new.expose_secret(), "New#Pass2");
    }

    #[test]
    fn usernames() {
        let table: &[(&str, bool)] = &[
            ("abc", true),
            ("ab", false), // too short
            (&"a".repeat(32), true),
            (&"a".repeat(33), false), // too long
            ("john.doe_1-x", true),
            ("john doe", false), // space
            ("jöhn", false),     // not ASCII
            ("john\0", false),   // NUL
            ("", false),
        ];
        for (username, ok) in table {
            assert_eq!(username_problem(username).is_none(), *ok, "{username:?}");
        }
    }

    #[test]
    fn passwords() {
        let table: &[(&str, bool, &str)] = &[
            ("Secret#1", true, "minimal valid"),
            ("Secr#1a", false, "7 characters"),
            ("secret#1", false, "no uppercase"),
            ("SECRET#1", false, "no lowercase"),
            ("Secret#x", false, "no digit"),
            ("Secret11", false, "no other character"),
            (
                "Sécret 1",
                true,
                "space counts as other, accents are letters",
            ),
            ("Secret#1\0", false, "NUL"),
            ("Secret#1\n", false, "newline"),
        ];
        for (password, ok, why) in table {
            assert_eq!(
                password_problem(password).is_none(),
                *ok,
                "{why}: {password:?}"
            );
        }
        // 64 characters of one byte each: fine.
        assert_eq!(password_problem(&format!("Aa1!{}", "x".repeat(60))), None);
        // 65 characters: too long.
        assert!(password_problem(&format!("Aa1!{}", "x".repeat(61))).is_some());
        // 37 characters but 73 bytes: refused, bcrypt would ignore the end.
        let multibyte = format!("Aa1!{}x", "é".repeat(34));
        assert_eq!((multibyte.chars().count(), multibyte.len()), (39, 73));
        assert!(
            password_problem(&multibyte)
                .expect("refused")
                .contains("72 bytes")
        );
        // exactly 72 bytes: fine.
        let exact = format!("Aa1!{}", "é".repeat(34));
        assert_eq!(exact.len(), 72);
        assert_eq!(password_problem(&exact), None);
    }

    #[test]
    fn full_names() {
        let table: &[(&str, bool, &str)] = &[
            ("Ada Lovelace", true, "two words"),
            ("Ada", false, "one word"),
            ("Анна Каренина", true, "Cyrillic"),
            ("李 小龍", true, "CJK"),
            ("Zoë O'Brien-Smith", true, "apostrophe and hyphen"),
            ("Ada L0velace", false, "digit"),
            ("Ada - -", false, "punctuation is not a word"),
            ("A", false, "too short"),
            ("Ada\u{0}Lovelace", false, "NUL"),
            ("अमित शर्मा", true, "Devanagari with virama"),
            ("தமிழ் செல்வன்", true, "Tamil with pulli"),
            (
                "অমিত রায়",
                true,
                "Bengali with nukta (NFC keeps it decomposed)",
            ),
            ("Zoé Dupont", true, "French, composed"),
            ("Ada \u{301}Lovelace", false, "a mark after a space"),
            ("Ada\u{200B} Lovelace", false, "zero-width space"),
            ("Ada \u{202E}Lovelace", false, "bidi override"),
            (
                "\u{3164}\u{3164} \u{3164}\u{3164}",
                false,
                "Hangul fillers alone",
            ),
            ("Ada\u{3164} Lovelace", false, "a Hangul filler"),
            ("Ada Love\u{034F}lace", false, "combining grapheme joiner"),
            ("Ada Lovelace\u{FE0F}", false, "variation selector"),
            ("Ada \u{E000}Lovelace", false, "private use"),
        ];
        for (name, ok, why) in table {
            assert_eq!(full_name_problem(name).is_none(), *ok, "{why}: {name:?}");
        }
        assert!(full_name_problem(&format!("Ab {}", "c".repeat(98))).is_some());
        assert!(full_name_problem(&format!("Ab {}", "c".repeat(97))).is_none());
    }

    #[test]
    fn registration_lists_every_bad_field_and_normalises_spaces() {
        let secret = |s: &str| Some(SecretString::from(s.to_owned()));
        match NewUser::parse(
            Some("x".into()),
            secret("weak"),
            secret("other"),
            Some("Solo".into()),
        ) {
            Err(crate::Error::Validation(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(
                    fields,
                    ["username", "password", "confirm_password", "full_name"]
                );
            }
            other => panic!("{other:?}"),
        }
        let user = NewUser::parse(
            Some("ada".into()),
            secret("Secret#1"),
            secret("Secret#1"),
            Some("  Ada   Lovelace ".into()),
        )
        .expect("valid");
        assert_eq!(user.full_name, "Ada Lovelace");
        let decomposed = NewUser::parse(
            Some("zoe".into()),
            secret("Secret#1"),
            secret("Secret#1"),
            Some("Zoe\u{301} Dupont".into()),
        )
        .expect("a decomposed accent is a letter's");
        assert_eq!(decomposed.full_name, "Zo\u{e9} Dupont", "stored in NFC");
        match NewUser::parse(None, None, None, None) {
            Err(crate::Error::Validation(errors)) => {
                assert_eq!(errors.len(), 4);
                assert!(errors.iter().all(|e| e.message == "this field is required"));
            }
            other => panic!("{other:?}"),
        }
    }
}
