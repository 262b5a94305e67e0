//! Actors (placeholder)
