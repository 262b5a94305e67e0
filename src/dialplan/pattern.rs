//! A dial-plan pattern (guide: Calling using Back-to-Back User Agent, "Dial Plan Rule Examples"):
//! literal text with variable areas in braces, where `D` is one digit, `S` one character of any
//! case, `#` any number of digits and `*` any number of any characters. Outside braces every
//! character is literal (the guide's `sip:SSS{DDDD}@domain.com` is "a user part containing
//! 'SSS' followed by 4 digits"). Literals compare ignoring case, a pattern matches a whole
//! destination, and whitespace in a pattern is layout, not content (the guide writes
//! `tel: + {#}`). A destination whose ends do not fit the pattern's literal ends is rejected
//! before matching proper; matching with two or more `#`/`*` is memoised, so no pattern can make
//! it exponential. It never panics on any input.

use super::rule::RuleError;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

/// Longest pattern accepted, in characters (bounds matching work and recursion depth).
pub const MAX_PATTERN_LEN: usize = 512;

/// One element of a compiled pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A literal character, compared ignoring case.
    Lit(char),
    /// `D` inside braces: one ASCII digit.
    Digit,
    /// `S` inside braces: any one character.
    Any,
    /// `#` inside braces: zero or more ASCII digits.
    Digits,
    /// `*` inside braces: zero or more characters.
    AnyRun,
    /// `{`: the start of variable area `n` (0-based).
    Open(usize),
    /// `}`: the end of variable area `n`.
    Close(usize),
}

/// A parsed dial-plan pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as written, whitespace removed.
    text: String,
    tokens: Vec<Token>,
    areas: usize,
    runs: usize,
    /// How many tokens at the start / at the end are literals: a cheap necessary condition
    /// checked before matching proper, which rejects most non-matching rules of a plan.
    lead: usize,
    trail: usize,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.text)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The variable areas of a successful match, as byte ranges of the destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captures<'s> {
    destination: &'s str,
    areas: Vec<Range<usize>>,
}

impl<'s> Captures<'s> {
    /// The text matched by variable area `i` (0-based), if the pattern has it.
    pub fn area(&self, i: usize) -> Option<&'s str> {
        self.areas.get(i).map(|r| &self.destination[r.clone()])
    }
    /// Every variable area's text, in order.
    pub fn areas(&self) -> impl Iterator<Item = &'s str> + '_ {
        self.areas.iter().map(|r| &self.destination[r.clone()])
    }
    /// The variable areas concatenated (the target's `{DIGITS}`).
    pub fn digits(&self) -> String {
        self.areas().collect()
    }
}

impl Pattern {
    /// Parses a pattern; whitespace is dropped, braces must pair up without nesting and enclose
    /// something.
    pub fn parse(text: &str) -> Result<Pattern, RuleError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(RuleError::EmptyPattern);
        }
        let len = compact.chars().count();
        if len > MAX_PATTERN_LEN {
            return Err(RuleError::TooLong { len, max: MAX_PATTERN_LEN });
        }
        let mut tokens = Vec::with_capacity(len);
        let mut open: Option<(usize, usize)> = None; // (area, character position of '{')
        let mut areas = 0;
        let mut runs = 0;
        for (at, c) in compact.chars().enumerate() {
            let token = match (c, open) {
                ('{', Some(_)) => return Err(RuleError::NestedBrace { at }),
                ('{', None) => {
                    open = Some((areas, at));
                    areas += 1;
                    Token::Open(areas - 1)
                }
                ('}', None) => return Err(RuleError::UnopenedBrace { at }),
                ('}', Some((area, start))) => {
                    if tokens.last() == Some(&Token::Open(area)) {
                        return Err(RuleError::EmptyArea { at: start });
                    }
                    open = None;
                    Token::Close(area)
                }
                ('D', Some(_)) => Token::Digit,
                ('S', Some(_)) => Token::Any,
                ('#', Some(_)) => Token::Digits,
                ('*', Some(_)) => Token::AnyRun,
                (c, _) => Token::Lit(c),
            };
            runs += usize::from(matches!(token, Token::Digits | Token::AnyRun));
            tokens.push(token);
        }
        if let Some((_, at)) = open {
            return Err(RuleError::UnclosedBrace { at });
        }
        let lead = tokens.iter().take_while(|t| matches!(t, Token::Lit(_))).count();
        let trail = tokens.iter().rev().take_while(|t| matches!(t, Token::Lit(_))).count();
        Ok(Pattern { text: compact, tokens, areas, runs, lead, trail })
    }

    /// The pattern text (whitespace removed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many variable areas (brace pairs) the pattern has.
    pub fn areas(&self) -> usize {
        self.areas
    }

    /// Whether the pattern has no variable area: it then matches only itself, ignoring case.
    pub fn is_literal(&self) -> bool {
        self.areas == 0
    }

    #[cfg(test)]
    pub(crate) fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Whether `destination` matches the whole pattern.
    pub fn is_match(&self, destination: &str) -> bool {
        self.captures(destination).is_some()
    }

    /// Matches the whole of `destination`; on success, what each variable area matched. Where a
    /// `#` or `*` could take more or fewer characters, the earlier one takes as few as it can
    /// (`sip:{*}@{*}` splits `sip:a@b@c` after `a`).
    pub fn captures<'s>(&self, destination: &'s str) -> Option<Captures<'s>> {
        if !self.literal_ends_fit(destination) {
            return None;
        }
        let mut m = Matcher {
            tokens: &self.tokens,
            s: destination,
            bounds: vec![0; 2 * self.areas],
            failed: (self.runs > 1).then(HashSet::new),
        };
        if !m.run(0, 0) {
            return None;
        }
        let areas = m.bounds.chunks(2).map(|b| b[0]..b[1]).collect();
        Some(Captures { destination, areas })
    }
}

impl Pattern {
    /// Whether `s` starts with the pattern's leading literals and ends with its trailing ones.
    fn literal_ends_fit(&self, s: &str) -> bool {
        let tail = &self.tokens[self.tokens.len() - self.trail..];
        literals_fit(self.tokens[..self.lead].iter(), s.chars()) && literals_fit(tail.iter().rev(), s.chars().rev())
    }
}

fn literals_fit<'t>(tokens: impl Iterator<Item = &'t Token>, mut chars: impl Iterator<Item = char>) -> bool {
    tokens.into_iter().all(|t| match (t, chars.next()) {
        (Token::Lit(want), Some(c)) => same_char(*want, c),
        _ => false,
    })
}

/// Case-insensitive character equality (ASCII fast path).
fn same_char(a: char, b: char) -> bool {
    a == b || (a.is_ascii() && b.is_ascii() && a.eq_ignore_ascii_case(&b)) || a.to_lowercase().eq(b.to_lowercase())
}

struct Matcher<'a> {
    tokens: &'a [Token],
    s: &'a str,
    /// Start and end byte offset of each variable area on the current path.
    bounds: Vec<usize>,
    /// (token, offset) pairs known not to lead to a match; only needed with two or more runs,
    /// since a single run visits each offset once.
    failed: Option<HashSet<(usize, usize)>>,
}

impl Matcher<'_> {
    fn next_char(&self, at: usize) -> Option<char> {
        self.s.get(at..).and_then(|rest| rest.chars().next())
    }

    /// Whether tokens `ti..` match `s[si..]`. Recurses only at `#`/`*`, so the depth is bounded
    /// by the number of runs in the pattern (at most [`MAX_PATTERN_LEN`]).
    fn run(&mut self, mut ti: usize, mut si: usize) -> bool {
        loop {
            let Some(&token) = self.tokens.get(ti) else {
                return si == self.s.len();
            };
            match token {
                Token::Open(a) => self.bounds[2 * a] = si,
                Token::Close(a) => self.bounds[2 * a + 1] = si,
                Token::Lit(want) => match self.next_char(si) {
                    Some(c) if same_char(want, c) => si += c.len_utf8(),
                    _ => return false,
                },
                Token::Digit => match self.next_char(si) {
                    Some(c) if c.is_ascii_digit() => si += 1,
                    _ => return false,
                },
                Token::Any => match self.next_char(si) {
                    Some(c) => si += c.len_utf8(),
                    None => return false,
                },
                Token::Digits | Token::AnyRun => return self.run_from(ti, si, token == Token::Digits),
            }
            ti += 1;
        }
    }

    /// A `#` (digits only) or `*` at token `ti`: try taking 0, 1, 2, ... characters. A run that
    /// failed from offset `p` fails from every offset it went through, so each (run, offset)
    /// pair is tried once: matching is O(runs × length) steps however the runs are arranged.
    fn run_from(&mut self, ti: usize, si: usize, digits_only: bool) -> bool {
        let mut at = si;
        loop {
            if self.failed.as_ref().is_some_and(|f| f.contains(&(ti, at))) {
                break;
            }
            if self.run(ti + 1, at) {
                return true;
            }
            match self.next_char(at) {
                Some(c) if !digits_only || c.is_ascii_digit() => at += c.len_utf8(),
                _ => break,
            }
        }
        if let Some(f) = self.failed.as_mut() {
            let mut p = si;
            while p < at {
                f.insert((ti, p));
                p += self.s[p..].chars().next().map_or(1, char::len_utf8);
            }
            f.insert((ti, at));
        }
        false
    }
}
