//! Field checks shared by request bodies: each returns the problem, if any, so a handler
//! can collect every bad field before answering.

use std::ops::RangeInclusive;

use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};

use crate::error::FieldError;

/// Collects field errors; `finish` answers 422 listing all of them, or `Ok`.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` when `failed`.
    pub fn check(&mut self, field: &str, failed: bool, message: &str) -> &mut Self {
        if failed {
            self.0.push(FieldError::new(field, message));
        }
        self
    }

    /// Records a problem a helper found, if any.
    pub fn add(&mut self, field: &str, problem: Option<String>) -> &mut Self {
        if let Some(message) = problem {
            self.0.push(FieldError::new(field, message));
        }
        self
    }

    /// 422 with every recorded error, or `Ok(())`.
    pub fn finish(&mut self) -> crate::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::Validation(std::mem::take(&mut self.0)))
        }
    }
}

/// Checks a text's length in characters and refuses control characters (a NUL byte cannot
/// even be stored in PostgreSQL text).
pub fn text(value: &str, bounds: RangeInclusive<usize>) -> Option<String> {
    if value.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else {
        length_problem(value.chars().count(), bounds)
    }
}

/// "must be 3 to 32 characters long" when `length` is outside `bounds`.
pub fn length_problem(length: usize, bounds: RangeInclusive<usize>) -> Option<String> {
    let (min, max) = (*bounds.start(), *bounds.end());
    (!bounds.contains(&length)).then(|| {
        if min == max {
            format!("must be {min} characters long")
        } else {
            format!("must be {min} to {max} characters long")
        }
    })
}

/// A name or title as it is checked, stored and compared: trimmed and in Unicode NFC, so
/// that `Café` typed with a precomposed `é` or with `e` and a combining accent is one title.
pub fn name(value: &str) -> String {
    value.trim().nfc().collect()
}

/// Characters that render as nothing, or as something other than what they are: format
/// characters (zero-width spaces and joiners, bidi controls and marks, the soft hyphen, the
/// byte-order mark), the other default-ignorable characters (the combining grapheme joiner,
/// variation selectors, Hangul and braille blanks), line and paragraph separators, private-use
/// characters, and code points that are unassigned or noncharacters. In a name they make two
/// titles that look the same, a name that shows as nothing, or text that reads in another order.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// The problem with invisible characters in a name or title, if it has any.
pub fn invisible_problem(value: &str) -> Option<String> {
    value.chars().any(is_invisible).then(|| {
        "must not contain invisible characters (zero-width, direction marks, fillers, \
         variation selectors, separators, private-use or unassigned code points)"
            .into()
    })
}

/// A title or name: [`text`] on its [`name`] form, no invisible characters, at least one letter
/// or digit (a title of marks or punctuation alone names nothing; `1917` is a film), and at most
/// `bounds`' maximum of characters as sent, so that the documented `maxLength` holds for the
/// request.
pub fn trimmed_text(value: &str, bounds: RangeInclusive<usize>) -> Option<String> {
    if let Some(problem) = invisible_problem(value) {
        return Some(problem);
    }
    let sent = value.chars().count();
    let named = name(value);
    text(&named, bounds.clone())
        .or_else(|| {
            (sent > *bounds.end())
                .then(|| length_problem(sent, bounds))
                .flatten()
        })
        .or_else(|| {
            (!named.chars().any(char::is_alphanumeric))
                .then(|| "must contain a letter or a digit".to_owned())
        })
}

/// Like [`text`], but line breaks and tabs are allowed (descriptions, notes).
pub fn multiline_text(value: &str, bounds: RangeInclusive<usize>) -> Option<String> {
    let flattened: String = value
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    text(&flattened, bounds)
}

/// An `ILIKE` pattern matching any text that contains `needle`, with `%`, `_` and `\` in the
/// needle matched literally.
pub fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks_length_in_characters_and_refuses_control_characters() {
        assert_eq!(text("ab", 1..=2), None);
        assert_eq!(text("éé", 1..=2), None);
        assert!(text("", 1..=2).is_some());
        assert!(text("abc", 1..=2).is_some());
        assert!(text("a\0", 1..=5).is_some());
        assert!(text("a\nb", 1..=5).is_some());
    }

    #[test]
    fn trimmed_text_counts_the_trimmed_value_but_never_more_than_sent() {
        assert_eq!(trimmed_text(" ab ", 1..=4), None);
        assert!(trimmed_text("   ", 1..=4).is_some());
        assert!(trimmed_text("ab   ", 1..=4).is_some(), "5 characters sent");
        assert!(trimmed_text(" ab ", 1..=2).is_some(), "4 characters sent");
        assert!(trimmed_text("a\u{0}", 1..=4).is_some());
    }

    #[test]
    fn names_are_nfc_and_refuse_invisible_characters() {
        let decomposed = "Cafe\u{301}";
        assert_eq!(name(&format!("  {decomposed} ")), "Caf\u{e9}");
        assert_eq!(trimmed_text("Cafe\u{301}", 1..=5), None);
        assert!(
            trimmed_text(&name(decomposed), 1..=4).is_none(),
            "4 characters once composed"
        );
        for invisible in [
            "Star\u{200B}Wars",  // zero-width space
            "Star\u{200D}Wars",  // zero-width joiner
            "\u{202E}sraW ratS", // right-to-left override
            "Star Wars\u{2066}", // left-to-right isolate
            "Star\u{00AD}Wars",  // soft hyphen
            "\u{FEFF}Star Wars", // byte-order mark
            "Star\u{3164}Wars",  // Hangul filler
            "\u{3164}",          // a Hangul filler alone (a letter, by its category)
            "Star\u{034F}Wars",  // combining grapheme joiner
            "Star Wars\u{FE0F}", // variation selector
            "Star\u{E000}Wars",  // private use
            "Star Wars\u{FFFF}", // a noncharacter
            "Star\u{2028}Wars",  // line separator
            "Star\u{2029}Wars",  // paragraph separator
        ] {
            assert!(trimmed_text(invisible, 1..=50).is_some(), "{invisible:?}");
        }
        assert_eq!(trimmed_text("Amélie — 2001", 1..=50), None);
    }

    #[test]
    fn titles_need_a_letter_or_a_digit() {
        for nothing in ["\u{301}\u{301}", "\u{301}", "--", "!?", "\u{20DD}"] {
            assert_eq!(
                trimmed_text(nothing, 1..=50).as_deref(),
                Some("must contain a letter or a digit"),
                "{nothing:?}"
            );
        }
        for title in ["1917", "M", "देवदास", "8½", "Amélie"] {
            assert_eq!(trimmed_text(title, 1..=50), None, "{title:?}");
        }
    }

    #[test]
    fn multiline_text_allows_line_breaks_only() {
        assert_eq!(multiline_text("a\nb\tc", 1..=10), None);
        assert!(multiline_text("a\0b", 1..=10).is_some());
    }

    #[test]
    fn contains_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("star"), "%star%");
        assert_eq!(contains_pattern("100%_\\"), "%100\\%\\_\\\\%");
    }

    #[test]
    fn checks_collect_every_error() {
        let mut checks = Checks::new();
        checks
            .check("a", true, "bad")
            .check("b", false, "fine")
            .add("c", Some("worse".into()));
        match checks.finish() {
            Err(crate::Error::Validation(errors)) => assert_eq!(errors.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
