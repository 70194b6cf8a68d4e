//! The bearer token that authenticates calls to the CDE API.
//!
//! The token is a secret: its `Debug` and `Display` print `Token(***)`, it is never part of an
//! error message, and the client reads it (through [`Token::expose`]) in exactly one place, where
//! it sets the `Authorization` header. Deliberately absent: any way to obtain or refresh a token
//! (the CDE documents only an interactive OAuth flow); callers re-read it from their Secret.

use std::{fmt, str::FromStr};

/// A CDE bearer token.
///
/// Equality and hashing compare the token itself, so two objects that reference the same Secret
/// value share work (the client's single-flight GET is keyed by connector and token).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

/// A token value that cannot be sent. Never carries the value itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Nothing left after trimming whitespace.
    #[error("the bearer token is empty")]
    Empty,
    /// Characters an HTTP header cannot carry (control characters, non-ASCII, inner whitespace).
    #[error("the bearer token contains characters that cannot be sent in an HTTP header")]
    InvalidCharacters,
}

impl Token {
    /// Builds a token from a Secret value, trimming surrounding whitespace and newlines.
    ///
    /// Secret files usually end with `\n`; that is removed here. Inner whitespace, control
    /// characters and non-ASCII bytes are refused rather than sent, since no bearer token
    /// contains them and a header carrying them would fail at request time instead.
    pub fn new(value: impl AsRef<str>) -> Result<Self, TokenError> {
        let trimmed = value.as_ref().trim();
        if trimmed.is_empty() {
            return Err(TokenError::Empty);
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::InvalidCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The raw token, for the `Authorization` header and nothing else.
    ///
    /// Anything that prints, logs or stores this value leaks a credential.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Token {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_newline_is_trimmed() {
        let token = Token::new("  abc.def-ghi\n").unwrap();
        assert_eq!(token.expose(), "abc.def-ghi");
    }

    #[test]
    fn blank_and_unsendable_values_are_refused() {
        assert_eq!(Token::new(" \n\t"), Err(TokenError::Empty));
        assert_eq!(Token::new("abc def"), Err(TokenError::InvalidCharacters));
        assert_eq!(Token::new("abc\u{7f}"), Err(TokenError::InvalidCharacters));
        assert_eq!(Token::new("jeton-é"), Err(TokenError::InvalidCharacters));
    }

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = Token::new("s3cr3t").unwrap();
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(token.to_string(), "Token(***)");
        assert!(!format!("{:?}", Some(&token)).contains("s3cr3t"));
    }
}
