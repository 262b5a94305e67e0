//! Domain vocabulary shared by every layer: identifiers (DN names, ConnIDs, agent IDs), the
//! T-Library enumerations (call state, call type, DN roles, work modes, ...), key-value lists and
//! the guide's error codes. Plain data only: this module never does I/O and never knows about actors.

mod enums;
mod error_code;
mod ids;
mod kvlist;
pub mod sensitive;

pub use enums::*;
pub use error_code::ErrorCode;
pub use ids::{AgentId, ConnId, ConnIdGenerator, DnName};
pub use kvlist::{KvList, KvValue};
