//! Python's text predicates, for the emulators of Python libraries.

/// Python's `str.isspace()` (what `re.compile(r'\s+')` and `str.split()` split on): Rust's
/// White_Space plus the information separators U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}
