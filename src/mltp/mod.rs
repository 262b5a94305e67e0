//! MLTP ("Microsoft Lync TServer Protocol"), the text protocol between the T-Server and its
//! Connectors, sans-IO: the generic frame ([`MltpMessage`]), the incremental codec with limits
//! ([`MltpCodec`]), the typed catalogue of every message ([`Mltp`]), and log rendering with the
//! guide's masking ([`render_for_log`]). docs/mltp.md describes the protocol for implementers of
//! other Connectors; its message tables are generated from the catalogue and a test keeps them in
//! sync. This module never does I/O, never spawns or awaits and knows nothing of actors: link
//! actors feed it bytes and take messages back.

mod catalogue;
mod codec;
mod error;
mod frame;
mod log;
pub mod playback;
mod values;

pub use catalogue::{HeaderSpec, MessageKind, MessageName, Mltp, Response};
pub use codec::{MltpCodec, DEFAULT_MAX_BODY, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE};
pub use error::MltpError;
pub use frame::{
    canonical_header_name, is_header_name, MltpMessage, TxId, CAPITALISED_HEADERS, CONTENT_LENGTH, VERSION,
};
pub use log::{render_for_log, HideHeaders, LogView, SENSITIVE_HEADERS};
pub use values::{
    ConnectorState, Direction, DnState, HaKind, HaOp, HeaderValue, Media, MonitorMode, PartyState, PresenceType,
    ResponseStatus, TreatmentStatus,
};

#[cfg(test)]
mod tests;

/// The codec both ends of a T-Server <-> Connector link use. User data travels in the `Data`
/// header, and a call may carry about 64 KiB of it, so the line limit is raised to 128 KiB.
pub fn link_codec() -> MltpCodec {
    MltpCodec::new(128 * 1024, DEFAULT_MAX_HEADERS, DEFAULT_MAX_BODY)
}
