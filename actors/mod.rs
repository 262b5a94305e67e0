//! Actors (work in progress)
pub mod board;
pub mod supervision;
