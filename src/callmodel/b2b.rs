//! How a request dials (guide: "Calling using Back-to-Back User Agent"): the origin's dial plan
//! (`calling-method-dialplan`, `dial-plan-rule-<n>`, `calling-method`, `cpn`) or the request's
//! `calling-method` / `CPNDigits` Extensions decide between dialing out and B2BUA, and may
//! translate the destination (`src/dialplan`). A call dialed by B2BUA remembers it: EventRinging
//! of its destination carries `calling-method = b2b`, and the destination is reported as the
//! requested URI until the answering party replaces it (the Connector reports that party).

use super::CallTable;
use crate::config::{CallingMethod, OptionEnum};
use crate::model::{DnName, KvList};

/// The destination to dial and the MLTP `calling-method` / `cpn` headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dial {
    pub to: String,
    pub calling_method: Option<String>,
    pub cpn: Option<String>,
}

impl Dial {
    pub fn b2b(&self) -> bool {
        self.calling_method.as_deref() == Some(CallingMethod::B2b.as_str())
    }
}

impl CallTable {
    pub(super) fn dial_method(&self, origin: &DnName, to: &str, extensions: Option<&KvList>) -> Dial {
        let plan = self.directory.dial_plan(origin).unwrap_or_default();
        let r = plan.resolve(to, extensions);
        let b2b = r.calling_method == CallingMethod::B2b;
        Dial { to: r.destination, calling_method: b2b.then(|| CallingMethod::B2b.as_str().to_string()), cpn: r.cpn }
    }
}
