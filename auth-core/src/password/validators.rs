//! Password validators, after Django's `AUTH_PASSWORD_VALIDATORS`, and the
//! [`PasswordPolicy`] that runs them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use super::PasswordError;
use crate::user::{NewUser, User};

/// The user a password is checked against, for
/// [`UserAttributeSimilarity`]. Empty fields are skipped; a policy run with
/// `UserAttributes::default()` checks the password alone (Django's
/// `user=None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserAttributes<'a> {
    /// The username.
    pub username: &'a str,
    /// The email address.
    pub email: &'a str,
    /// The given name.
    pub first_name: &'a str,
    /// The family name.
    pub last_name: &'a str,
}

impl<'a> From<&'a User> for UserAttributes<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            username: &user.username,
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
        }
    }
}

impl<'a> From<&'a NewUser> for UserAttributes<'a> {
    fn from(user: &'a NewUser) -> Self {
        Self {
            username: &user.username,
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
        }
    }
}

/// One rule a new password must follow.
///
/// ```
/// use auth_core::password::{PasswordPolicy, PasswordValidator, UserAttributes};
///
/// /// Rejects passwords without a symbol.
/// #[derive(Debug)]
/// struct NeedsSymbol;
///
/// impl PasswordValidator for NeedsSymbol {
///     fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
///         if password.chars().any(|c| !c.is_alphanumeric()) {
///             Ok(())
///         } else {
///             Err("This password has no symbol.".into())
///         }
///     }
///     fn help_text(&self) -> String {
///         "Your password must contain a symbol.".into()
///     }
/// }
///
/// let policy = PasswordPolicy::default().with(NeedsSymbol);
/// assert_eq!(
///     policy.validate("tr0ub4dor", &UserAttributes::default()),
///     ["This password has no symbol."]
/// );
/// ```
pub trait PasswordValidator: fmt::Debug + Send + Sync {
    /// `Err` with the message to show when `password` breaks the rule.
    fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Result<(), String>;

    /// Describes the rule, for forms and API docs.
    fn help_text(&self) -> String;
}

/// `n` with the singular or plural noun: "1 character", "8 characters".
fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".to_string()
    } else {
        format!("{n} characters")
    }
}

/// Rejects passwords shorter than the given number of characters (Unicode
/// scalar values, as Python's `len`). Django's default is 8.
///
/// ```
/// use auth_core::password::{MinimumLength, PasswordValidator, UserAttributes};
/// let rule = MinimumLength(8);
/// assert_eq!(
///     rule.validate("short", &UserAttributes::default()).unwrap_err(),
///     "This password is too short. It must contain at least 8 characters."
/// );
/// assert!(rule.validate("long enough", &UserAttributes::default()).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumLength(pub usize);

impl Default for MinimumLength {
    fn default() -> Self {
        Self(8)
    }
}

impl PasswordValidator for MinimumLength {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        if password.chars().count() < self.0 {
            Err(format!(
                "This password is too short. It must contain at least {}.",
                characters(self.0)
            ))
        } else {
            Ok(())
        }
    }

    fn help_text(&self) -> String {
        format!(
            "Your password must contain at least {}.",
            characters(self.0)
        )
    }
}

/// Rejects passwords longer than the given number of characters. The
/// default is 1024; it cannot be set below 64 (NIST SP 800-63B asks that at
/// least 64 be allowed). Hashing never truncates, so this is the one place
/// that bounds a password's length.
///
/// ```
/// use auth_core::password::{MaximumLength, PasswordValidator, UserAttributes};
/// let rule = MaximumLength::default();
/// assert!(rule.validate(&"x".repeat(1024), &UserAttributes::default()).is_ok());
/// assert_eq!(
///     rule.validate(&"x".repeat(1025), &UserAttributes::default()).unwrap_err(),
///     "This password is too long. It must contain at most 1024 characters."
/// );
/// assert!(MaximumLength::new(63).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaximumLength {
    max: usize,
}

impl Default for MaximumLength {
    fn default() -> Self {
        Self { max: 1024 }
    }
}

impl MaximumLength {
    /// The smallest maximum that may be configured.
    pub const AT_LEAST: usize = 64;

    /// A maximum of `max` characters; at least [`AT_LEAST`](Self::AT_LEAST).
    pub fn new(max: usize) -> Result<Self, PasswordError> {
        if max < Self::AT_LEAST {
            return Err(PasswordError::InvalidValidator(format!(
                "the maximum password length must be at least {}, not {max}",
                Self::AT_LEAST
            )));
        }
        Ok(Self { max })
    }

    /// The maximum number of characters.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl PasswordValidator for MaximumLength {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        // Cheap bound first: a password of at most `max` bytes has at most
        // `max` characters, so a huge input is not walked to the end.
        if password.len() <= self.max || password.chars().take(self.max + 1).count() <= self.max {
            Ok(())
        } else {
            Err(format!(
                "This password is too long. It must contain at most {}.",
                characters(self.max)
            ))
        }
    }

    fn help_text(&self) -> String {
        format!(
            "Your password must contain at most {}.",
            characters(self.max)
        )
    }
}

/// How [`UserAttributeSimilarity`] measures similarity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimilarityMeasure {
    /// [`quick_ratio`], what Django's validator uses: an upper bound of the
    /// Ratcliff/Obershelp ratio that ignores character order. The default.
    #[default]
    QuickRatio,
    /// [`similarity_ratio`], the full Ratcliff/Obershelp ratio: stricter
    /// about order, so it rejects fewer passwords.
    Ratio,
}

/// Rejects passwords too similar to the user's username, first name, last
/// name or email address, as Django's `UserAttributeSimilarityValidator`:
/// the lower-cased password is compared with each lower-cased attribute and
/// with the attribute's parts split on runs of non-word characters (so
/// `ada.lovelace@example.com` also gives `ada`, `lovelace`, `example` and
/// `com`). A part much shorter than the password is skipped, as Django
/// skips it; otherwise a similarity at or above `max_similarity` (default
/// 0.7) fails with "The password is too similar to the {username, first
/// name, last name, email address}."
///
/// ```
/// use auth_core::password::{PasswordValidator, UserAttributeSimilarity, UserAttributes};
/// let user = UserAttributes { username: "ada_lovelace", ..Default::default() };
/// let rule = UserAttributeSimilarity::default();
/// assert_eq!(
///     rule.validate("ada_lovelace1", &user).unwrap_err(),
///     "The password is too similar to the username."
/// );
/// assert!(rule.validate("analytical engine", &user).is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserAttributeSimilarity {
    max_similarity: f64,
    measure: SimilarityMeasure,
}

impl Default for UserAttributeSimilarity {
    fn default() -> Self {
        Self {
            max_similarity: 0.7,
            measure: SimilarityMeasure::QuickRatio,
        }
    }
}

impl UserAttributeSimilarity {
    /// Fails passwords whose similarity is at least `max_similarity`, which
    /// must be at least 0.1 (as Django requires).
    pub fn new(max_similarity: f64) -> Result<Self, PasswordError> {
        if max_similarity.is_nan() || max_similarity < 0.1 {
            return Err(PasswordError::InvalidValidator(format!(
                "max_similarity must be at least 0.1, not {max_similarity}"
            )));
        }
        Ok(Self {
            max_similarity,
            ..Self::default()
        })
    }

    /// Uses `measure` instead of Django's [`SimilarityMeasure::QuickRatio`].
    pub fn with_measure(mut self, measure: SimilarityMeasure) -> Self {
        self.measure = measure;
        self
    }

    /// The threshold.
    pub fn max_similarity(&self) -> f64 {
        self.max_similarity
    }

    /// The measure in use.
    pub fn measure(&self) -> SimilarityMeasure {
        self.measure
    }

    /// Django's `exceeds_maximum_length_ratio`: a value at most a tenth the
    /// password's length (and short against the threshold) cannot be similar
    /// enough, so it is not compared (which also keeps long passwords cheap).
    fn too_short_to_compare(&self, password_len: usize, value_len: usize) -> bool {
        let length_bound = self.max_similarity / 2.0 * password_len as f64;
        password_len >= value_len.saturating_mul(10) && (value_len as f64) < length_bound
    }

    fn similar(&self, password: &[char], value: &str) -> bool {
        let value: Vec<char> = value.chars().collect();
        if self.too_short_to_compare(password.len(), value.len()) {
            return false;
        }
        let similarity = match self.measure {
            SimilarityMeasure::QuickRatio => quick_ratio_chars(password, &value),
            SimilarityMeasure::Ratio => ratio_chars(password, &value),
        };
        similarity >= self.max_similarity
    }
}

impl PasswordValidator for UserAttributeSimilarity {
    fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Result<(), String> {
        let password: Vec<char> = password.to_lowercase().chars().collect();
        let attributes = [
            (user.username, "username"),
            (user.first_name, "first name"),
            (user.last_name, "last name"),
            (user.email, "email address"),
        ];
        for (value, verbose_name) in attributes {
            if value.is_empty() {
                continue;
            }
            let value = value.to_lowercase();
            let similar = split_non_word(&value)
                .into_iter()
                .chain([value.as_str()])
                .any(|part| self.similar(&password, part));
            if similar {
                return Err(format!(
                    "The password is too similar to the {verbose_name}."
                ));
            }
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be too similar to your other personal information.".to_string()
    }
}

/// A word character as Python's `re` sees one in a `str` pattern: alphanumeric
/// or `_`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Python's `re.split(r"\W+", s)`: the pieces between runs of non-word
/// characters, with an empty piece where `s` starts or ends with such a run.
fn split_non_word(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_run = false;
    for (i, c) in s.char_indices() {
        let word = is_word_char(c);
        if !word && !in_run {
            parts.push(&s[start..i]);
            in_run = true;
        } else if word && in_run {
            start = i;
            in_run = false;
        }
    }
    parts.push(if in_run { "" } else { &s[start..] });
    parts
}

/// `2 * matches / (len_a + len_b)`, or 1.0 for two empty sequences (as
/// difflib's `_calculate_ratio`).
fn ratio_of(matches: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        2.0 * matches as f64 / total as f64
    }
}

/// The Ratcliff/Obershelp similarity of two strings, computed over Unicode
/// scalar values exactly as Python's `difflib.SequenceMatcher(None, a,
/// b).ratio()` computes it (including its "autojunk" heuristic, which only
/// applies when `b` has 200 or more characters): twice the number of
/// characters in the matching blocks, over the total length. 1.0 means
/// equal.
///
/// ```
/// use auth_core::password::similarity_ratio;
/// assert_eq!(similarity_ratio("abcd", "bcde"), 0.75);
/// assert_eq!(similarity_ratio("", ""), 1.0);
/// ```
pub fn similarity_ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    ratio_chars(&a, &b)
}

/// An upper bound of [`similarity_ratio`] that ignores order, as Python's
/// `SequenceMatcher.quick_ratio()`: twice the size of the multiset
/// intersection of the two strings' characters, over the total length.
/// Django's similarity validator uses this one.
///
/// ```
/// use auth_core::password::{quick_ratio, similarity_ratio};
/// assert_eq!(quick_ratio("abc", "cba"), 1.0);
/// assert!(similarity_ratio("abc", "cba") < 1.0);
/// ```
pub fn quick_ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    quick_ratio_chars(&a, &b)
}

fn quick_ratio_chars(a: &[char], b: &[char]) -> f64 {
    let mut available: HashMap<char, usize> = HashMap::new();
    for &c in b {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0;
    for c in a {
        if let Some(count) = available.get_mut(c).filter(|count| **count > 0) {
            *count -= 1;
            matches += 1;
        }
    }
    ratio_of(matches, a.len() + b.len())
}

fn ratio_chars(a: &[char], b: &[char]) -> f64 {
    let matcher = Matcher::new(a, b);
    let matches: usize = matcher.matching_blocks().iter().map(|m| m.2).sum();
    ratio_of(matches, a.len() + b.len())
}

/// The core of difflib's `SequenceMatcher` with no junk function.
struct Matcher<'s> {
    a: &'s [char],
    b: &'s [char],
    /// Where each character of `b` occurs, ascending; "popular" characters
    /// (the autojunk heuristic) are left out.
    b2j: HashMap<char, Vec<usize>>,
}

impl<'s> Matcher<'s> {
    fn new(a: &'s [char], b: &'s [char]) -> Self {
        let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
        for (j, &c) in b.iter().enumerate() {
            b2j.entry(c).or_default().push(j);
        }
        // Autojunk: in a `b` of 200 or more, characters occurring more than
        // 1% (+1) of the time are not used to seed matches.
        if b.len() >= 200 {
            let limit = b.len() / 100 + 1;
            b2j.retain(|_, positions| positions.len() <= limit);
        }
        Self { a, b, b2j }
    }

    /// The longest matching block in `a[alo..ahi]` and `b[blo..bhi]` as
    /// `(i, j, size)`: the earliest in `a`, then the earliest in `b`.
    fn find_longest_match(
        &self,
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> (usize, usize, usize) {
        let (mut best_i, mut best_j, mut best_size) = (alo, blo, 0);
        // Length of the match ending at a[i - 1], b[j], keyed by j.
        let mut j2len: HashMap<usize, usize> = HashMap::new();
        for i in alo..ahi {
            let mut next: HashMap<usize, usize> = HashMap::new();
            if let Some(positions) = self.b2j.get(&self.a[i]) {
                for &j in positions {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = j
                        .checked_sub(1)
                        .and_then(|prev| j2len.get(&prev))
                        .copied()
                        .unwrap_or(0)
                        + 1;
                    next.insert(j, k);
                    if k > best_size {
                        best_i = i + 1 - k;
                        best_j = j + 1 - k;
                        best_size = k;
                    }
                }
            }
            j2len = next;
        }
        // Extend across characters the autojunk left out of `b2j`.
        while best_i > alo && best_j > blo && self.a[best_i - 1] == self.b[best_j - 1] {
            best_i -= 1;
            best_j -= 1;
            best_size += 1;
        }
        while best_i + best_size < ahi
            && best_j + best_size < bhi
            && self.a[best_i + best_size] == self.b[best_j + best_size]
        {
            best_size += 1;
        }
        (best_i, best_j, best_size)
    }

    /// Every matching block, found by recursing left and right of the
    /// longest one.
    fn matching_blocks(&self) -> Vec<(usize, usize, usize)> {
        let mut blocks = Vec::new();
        let mut queue = vec![(0, self.a.len(), 0, self.b.len())];
        while let Some((alo, ahi, blo, bhi)) = queue.pop() {
            let (i, j, k) = self.find_longest_match(alo, ahi, blo, bhi);
            if k > 0 {
                blocks.push((i, j, k));
                if alo < i && blo < j {
                    queue.push((alo, i, blo, j));
                }
                if i + k < ahi && j + k < bhi {
                    queue.push((i + k, ahi, j + k, bhi));
                }
            }
        }
        blocks.sort_unstable();
        blocks
    }
}

/// Django 5.2's list of 19,640 common passwords (lower-case, one a line).
const BUNDLED_LIST: &str = include_str!("../../data/common-passwords.txt");

/// The bundled list, parsed once.
fn bundled() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        BUNDLED_LIST
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect()
    })
}

/// Rejects passwords on a list of common passwords: by default the one
/// Django 5.2 ships (19,640 passwords), or a list of your own. The password
/// is lower-cased and trimmed before the lookup.
///
/// ```
/// use auth_core::password::{CommonPassword, PasswordValidator, UserAttributes};
/// let none = UserAttributes::default();
/// let rule = CommonPassword::default();
/// assert_eq!(rule.validate(" PassWord ", &none).unwrap_err(), "This password is too common.");
/// assert!(rule.validate("quintessential-zebra-42", &none).is_ok());
///
/// let own = CommonPassword::from_list(["Acme2024", "acme-rocks"]);
/// assert!(own.validate("acme2024", &none).is_err());
/// assert!(own.validate("password", &none).is_ok());
/// ```
#[derive(Clone)]
pub struct CommonPassword {
    list: List,
}

#[derive(Clone)]
enum List {
    Bundled,
    Own(Arc<HashSet<String>>),
}

impl fmt::Debug for CommonPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = match self.list {
            List::Bundled => "bundled",
            List::Own(_) => "own",
        };
        f.debug_struct("CommonPassword")
            .field("list", &list)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for CommonPassword {
    fn default() -> Self {
        Self {
            list: List::Bundled,
        }
    }
}

impl CommonPassword {
    /// The list Django ships (parsed on first use, then shared).
    pub fn bundled() -> Self {
        Self::default()
    }

    /// Your own list. Entries are trimmed and lower-cased (the lookup is
    /// case-insensitive); empty ones are skipped.
    pub fn from_list<I, S>(passwords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let set = passwords
            .into_iter()
            .map(|p| p.as_ref().trim().to_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        Self {
            list: List::Own(Arc::new(set)),
        }
    }

    /// Your own list as text, one password a line (the format of Django's
    /// file).
    pub fn from_text(text: &str) -> Self {
        Self::from_list(text.lines())
    }

    /// How many passwords the list holds.
    pub fn len(&self) -> usize {
        match &self.list {
            List::Bundled => bundled().len(),
            List::Own(set) => set.len(),
        }
    }

    /// True when the list is empty (nothing is rejected).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `password`, lower-cased and trimmed, is on the list.
    pub fn contains(&self, password: &str) -> bool {
        let key = password.to_lowercase();
        let key = key.trim();
        match &self.list {
            List::Bundled => bundled().contains(key),
            List::Own(set) => set.contains(key),
        }
    }
}

impl PasswordValidator for CommonPassword {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        if self.contains(password) {
            Err("This password is too common.".to_string())
        } else {
            Ok(())
        }
    }

    fn help_text(&self) -> String {
        "Your password can’t be a commonly used password.".to_string()
    }
}

/// Rejects passwords made only of digits (any script's digits, close to
/// Python's `str.isdigit`).
///
/// ```
/// use auth_core::password::{NumericPassword, PasswordValidator, UserAttributes};
/// let none = UserAttributes::default();
/// assert_eq!(
///     NumericPassword.validate("20240917", &none).unwrap_err(),
///     "This password is entirely numeric."
/// );
/// assert!(NumericPassword.validate("2024-09-17", &none).is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumericPassword;

impl PasswordValidator for NumericPassword {
    fn validate(&self, password: &str, _user: &UserAttributes<'_>) -> Result<(), String> {
        if !password.is_empty() && password.chars().all(char::is_numeric) {
            Err("This password is entirely numeric.".to_string())
        } else {
            Ok(())
        }
    }

    fn help_text(&self) -> String {
        "Your password can’t be entirely numeric.".to_string()
    }
}

/// The validators a new password must pass.
///
/// The default is Django's default four, in the order Django's project
/// template lists them, plus [`MaximumLength`]:
/// [`UserAttributeSimilarity`], [`MinimumLength`]`(8)`, [`MaximumLength`]
/// (1024), [`CommonPassword`] and [`NumericPassword`].
///
/// ```
/// use auth_core::password::{MinimumLength, NumericPassword, PasswordPolicy, UserAttributes};
/// let none = UserAttributes::default();
/// assert_eq!(
///     PasswordPolicy::default().validate("12345678", &none),
///     ["This password is too common.", "This password is entirely numeric."]
/// );
///
/// let lenient = PasswordPolicy::empty().with(MinimumLength(4)).with(NumericPassword);
/// assert!(lenient.validate("abcd", &none).is_empty());
/// ```
#[derive(Debug)]
pub struct PasswordPolicy {
    validators: Vec<Box<dyn PasswordValidator>>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::empty()
            .with(UserAttributeSimilarity::default())
            .with(MinimumLength::default())
            .with(MaximumLength::default())
            .with(CommonPassword::default())
            .with(NumericPassword)
    }
}

impl PasswordPolicy {
    /// A policy with no validators: every password passes.
    pub fn empty() -> Self {
        Self {
            validators: Vec::new(),
        }
    }

    /// Adds a validator (builder style).
    pub fn with(mut self, validator: impl PasswordValidator + 'static) -> Self {
        self.validators.push(Box::new(validator));
        self
    }

    /// Adds a boxed validator.
    pub fn push(&mut self, validator: Box<dyn PasswordValidator>) {
        self.validators.push(validator);
    }

    /// The validators, in the order they run.
    pub fn validators(&self) -> &[Box<dyn PasswordValidator>] {
        &self.validators
    }

    /// Runs every validator and returns every message, in order; empty when
    /// the password is acceptable.
    pub fn validate(&self, password: &str, user: &UserAttributes<'_>) -> Vec<String> {
        self.validators
            .iter()
            .filter_map(|validator| validator.validate(password, user).err())
            .collect()
    }

    /// Every validator's help text, in order.
    pub fn help_texts(&self) -> Vec<String> {
        self.validators.iter().map(|v| v.help_text()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: UserAttributes<'static> = UserAttributes {
        username: "",
        email: "",
        first_name: "",
        last_name: "",
    };

    #[test]
    fn bundled_list_is_djangos() {
        let list = CommonPassword::default();
        assert_eq!(list.len(), 19_640);
        for common in ["password", "123456", "qwerty", "PASSWORD", "  letmein\t"] {
            assert!(list.contains(common), "{common}");
        }
        assert!(!list.contains("quintessential-zebra-42"));
        assert!(!list.contains(""));
        assert!(!CommonPassword::from_text("\n\n").contains(""));
        assert!(CommonPassword::from_text("a\n\nB\n").contains("b"));
        assert_eq!(
            format!("{list:?}"),
            "CommonPassword { list: \"bundled\", len: 19640 }"
        );
    }

    #[test]
    fn length_rules_count_characters() {
        assert!(MinimumLength(8).validate("ééééééé", &NONE).is_err());
        assert!(MinimumLength(8).validate("éééééééé", &NONE).is_ok());
        assert_eq!(
            MinimumLength(1).validate("", &NONE).unwrap_err(),
            "This password is too short. It must contain at least 1 character."
        );
        assert_eq!(
            MinimumLength(1).help_text(),
            "Your password must contain at least 1 character."
        );
        let max = MaximumLength::default();
        assert!(max.validate(&"é".repeat(1024), &NONE).is_ok());
        assert!(max.validate(&"é".repeat(1025), &NONE).is_err());
        assert!(max.validate(&"x".repeat(64), &NONE).is_ok());
        assert!(max.validate(&"x".repeat(1_000_000), &NONE).is_err());
        assert_eq!(
            max.help_text(),
            "Your password must contain at most 1024 characters."
        );
        assert_eq!(MaximumLength::new(64).unwrap().max(), 64);
        assert!(
            MaximumLength::new(64)
                .unwrap()
                .validate(&"x".repeat(65), &NONE)
                .is_err()
        );
        assert!(matches!(
            MaximumLength::new(10),
            Err(PasswordError::InvalidValidator(_))
        ));
    }

    #[test]
    fn numeric_passwords() {
        for numeric in ["12345678", "٣٤٥٦٧٨٩٠", "0"] {
            assert!(
                NumericPassword.validate(numeric, &NONE).is_err(),
                "{numeric}"
            );
        }
        for other in ["", "1234567a", "12 345", "+123", "1.5"] {
            assert!(NumericPassword.validate(other, &NONE).is_ok(), "{other}");
        }
    }

    #[test]
    fn python_split_on_non_word_runs() {
        assert_eq!(
            split_non_word("ada.lovelace@example.com"),
            ["ada", "lovelace", "example", "com"]
        );
        assert_eq!(split_non_word("ada_lovelace"), ["ada_lovelace"]);
        assert_eq!(split_non_word("a..b"), ["a", "b"]);
        assert_eq!(split_non_word("..a"), ["", "a"]);
        assert_eq!(split_non_word("a.."), ["a", ""]);
        assert_eq!(split_non_word(".."), ["", ""]);
        assert_eq!(split_non_word(""), [""]);
        assert_eq!(split_non_word("zoë-ñ"), ["zoë", "ñ"]);
    }

    /// Expected values from Python 3.11's difflib.
    #[test]
    fn ratios_match_difflib() {
        let cases: &[(&str, &str, f64, f64)] = &[
            ("abcd", "bcde", 0.75, 0.75),
            ("ada_lovelace1", "ada_lovelace", 24.0 / 25.0, 24.0 / 25.0),
            ("tide", "diet", 0.25, 1.0),
            ("qabxcd", "abycdf", 2.0 * 4.0 / 12.0, 2.0 * 4.0 / 12.0),
            ("private thread", "thread private", 2.0 * 7.0 / 28.0, 1.0),
            ("", "", 1.0, 1.0),
            ("", "a", 0.0, 0.0),
            ("x", "", 0.0, 0.0),
        ];
        // Long enough for difflib's autojunk (`b` of 200 or more).
        let long_cases = [
            (
                "ab".repeat(30) + "zzz",
                "abc".repeat(70) + "q",
                0.014598540145985401,
                0.43795620437956206,
            ),
            (
                "the quick brown fox jumps over the lazy dog".to_string(),
                "a".repeat(150) + "the lazy dog jumps" + &"b".repeat(50),
                0.09195402298850575,
                0.14559386973180077,
            ),
            (
                "a".repeat(10) + &"xyz".repeat(3),
                "a".repeat(250) + "xyzxyz",
                0.11636363636363636,
                0.11636363636363636,
            ),
            (
                "hello world".to_string(),
                "h".repeat(199) + "ello world",
                0.1,
                0.1,
            ),
            (
                "hello world".to_string(),
                "h".repeat(200) + "ello world" + &"o".repeat(10),
                0.09523809523809523,
                0.09523809523809523,
            ),
        ];
        let long_cases: Vec<(&str, &str, f64, f64)> = long_cases
            .iter()
            .map(|(a, b, r, q)| (a.as_str(), b.as_str(), *r, *q))
            .collect();
        for &(a, b, ratio, quick) in cases.iter().chain(&long_cases) {
            assert!((similarity_ratio(a, b) - ratio).abs() < 1e-12, "{a} {b}");
            assert!((quick_ratio(a, b) - quick).abs() < 1e-12, "{a} {b}");
        }
    }
}
