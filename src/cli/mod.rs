//! Command-line front ends that are more than argument parsing.

pub mod client;
pub mod load;
pub mod router;
