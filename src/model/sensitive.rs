//! The guide's `hide-sensitive-data` rendering: sensitive values (user data, collected and DTMF
//! digits, treatment parameters, IM text) are logged as `**** (length:nn)`, where nn is the length
//! of the original data. Every log line that could carry such data goes through [`Masked`].

use std::fmt;

/// How a value is shown in logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Hidden,
    Shown,
}

impl Visibility {
    pub fn from_hide_flag(hide_sensitive_data: bool) -> Self {
        if hide_sensitive_data {
            Visibility::Hidden
        } else {
            Visibility::Shown
        }
    }
}

/// The masked form for a value of `len` bytes.
pub fn mask(len: usize) -> String {
    format!("**** (length:{len})")
}

/// A Display wrapper that either shows the value or its masked form.
pub struct Masked<'a, T: fmt::Debug + ?Sized> {
    pub value: &'a T,
    pub len: usize,
    pub visibility: Visibility,
}

impl<T: fmt::Debug + ?Sized> fmt::Display for Masked<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.visibility {
            Visibility::Hidden => write!(f, "**** (length:{})", self.len),
            Visibility::Shown => write!(f, "{:?}", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_matches_the_guide() {
        assert_eq!(mask(21), "**** (length:21)");
        let digits = "12345";
        let m = Masked { value: digits, len: digits.len(), visibility: Visibility::Hidden };
        assert_eq!(m.to_string(), "**** (length:5)");
        let m = Masked { value: digits, len: 5, visibility: Visibility::Shown };
        assert_eq!(m.to_string(), "\"12345\"");
    }
}
