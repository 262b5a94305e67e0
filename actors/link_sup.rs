//! LinkSup: one ConnectorLink per `link-n-name` section, and the owner of the DN-to-link
//! assignment (pure core in `src/links.rs`). Links report up, suspend and loss here; LinkSup moves
//! DNs between the links of their pool (unregister on the old, register on the new), keeps the
//! directory's "serving link" table, and tells a Dn when it goes out of service (no usable link
//! left in its pool) or comes back. Links are independent children: one failing never touches
//! another, and the order among them does not matter (they are started in `n` order).

use crate::actors::connector_link::{link_ref, ConnectorLink, LinkArgs, LinkMsg};
use crate::actors::context::ServerContext;
use crate::actors::dn::DnMsg;
use crate::actors::supervision::{child, ChildSpec, Children, RestartPolicy, SupervisorCmd};
use crate::links::{Assignment, LinkId, Move};
use crate::model::DnName;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "link-sup";

pub struct LinkSup;

pub struct LinkSupState {
    ctx: Arc<ServerContext>,
    children: Children,
    assignment: Assignment,
    /// DNs whose registration on their assigned link is acknowledged.
    registered: BTreeSet<DnName>,
    /// The link whose LinkUp is being handled (it registers all its DNs itself).
    registering: Option<LinkId>,
}

/// The pause before asking again for a DN whose REGISTER_DN was not answered in time.
const REGISTER_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

pub enum LinkSupMsg {
    /// The link's handshake succeeded and the connector is active.
    LinkUp(LinkId),
    /// The link was lost, or its connector started a graceful shutdown (suspending).
    LinkDown {
        link: LinkId,
        cause: String,
    },
    /// The connector acknowledged REGISTER_DN.
    Registered {
        link: LinkId,
        dn: DnName,
    },
    /// The connector refused REGISTER_DN (the DN stays out of service until the next move), or
    /// did not answer in time (`retry`: registered again after a pause).
    RegisterFailed {
        link: LinkId,
        dn: DnName,
        reason: String,
        retry: bool,
    },
    /// The pause after an unanswered REGISTER_DN is over.
    RetryRegister {
        link: LinkId,
        dn: DnName,
    },
    Cmd(SupervisorCmd),
}

impl From<SupervisorCmd> for LinkSupMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        LinkSupMsg::Cmd(cmd)
    }
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "LinkSup", RestartPolicy::permanent(), move || (LinkSup, ctx.clone()))
}

pub fn link_name(n: LinkId) -> String {
    format!("link-{n}")
}

impl Actor for LinkSup {
    type Msg = LinkSupMsg;
    type State = LinkSupState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        me: ActorRef<LinkSupMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<LinkSupState, ActorProcessingErr> {
        let cfg = &ctx.config;
        let dns = cfg.dns.values().filter(|d| d.register).map(|d| (d.number.clone(), d.pool.clone()));
        let links = cfg.links.iter().map(|l| (l.n, l.pool_name.clone()));
        let assignment = Assignment::new(dns, links);
        let children = Children::new(NAME, &me, ctx.board.clone());
        Ok(LinkSupState { ctx, children, assignment, registered: BTreeSet::new(), registering: None })
    }

    async fn post_start(&self, me: ActorRef<LinkSupMsg>, st: &mut LinkSupState) -> Result<(), ActorProcessingErr> {
        // A restarted LinkSup starts from "nothing registered": its links reconnect and re-register.
        for dn in st.ctx.config.dns.keys() {
            st.ctx.directory.set_serving(dn, None);
        }
        for link in st.ctx.config.links.clone() {
            let (ctx, sup) = (st.ctx.clone(), me.clone());
            let spec = child(link_name(link.n), "ConnectorLink", RestartPolicy::permanent(), move || {
                (ConnectorLink, LinkArgs { ctx: ctx.clone(), link: link.clone(), sup: sup.clone() })
            });
            st.children.start(spec, &me.get_cell()).await?;
        }
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<LinkSupMsg>, st: &mut LinkSupState) -> Result<(), ActorProcessingErr> {
        st.children.stop_all(Duration::from_secs(5)).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<LinkSupMsg>,
        msg: LinkSupMsg,
        st: &mut LinkSupState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            LinkSupMsg::LinkUp(link) => {
                tracing::info!(link, "connector link up");
                let moves = st.assignment.link_up(link);
                st.registering = Some(link);
                st.apply(moves);
                st.registering = None;
                // A (re)connected link registers every DN assigned to it, not only those that just
                // moved: its connector may have lost them (restart, new incarnation of the link).
                for dn in st.assignment.dns_of(link) {
                    st.register(link, &dn);
                }
            }
            LinkSupMsg::LinkDown { link, cause } => {
                if st.assignment.is_usable(link) {
                    tracing::warn!(link, %cause, "connector link lost or suspending; re-homing its DNs");
                }
                let moves = st.assignment.link_down(link);
                st.apply(moves);
            }
            LinkSupMsg::Registered { link, dn } => {
                // Only an acknowledgement from the link currently assigned counts (moves race).
                if st.assignment.link_of(&dn) == Some(link) {
                    st.ctx.directory.set_serving(&dn, Some(link));
                    st.registered.insert(dn.clone());
                    // Always told (the Dn ignores a state it already has): a Dn restarted while
                    // the DN was between links read "not served" and must learn it is again.
                    st.switch_state(&dn, true, "");
                }
            }
            LinkSupMsg::RegisterFailed { link, dn, reason, retry } => {
                tracing::warn!(link, %dn, %reason, retry, "connector did not register the DN");
                if st.assignment.link_of(&dn) == Some(link) {
                    st.ctx.directory.set_serving(&dn, None);
                    if st.registered.remove(&dn) {
                        st.switch_state(&dn, false, &reason);
                    }
                    // An unanswered request (a busy connector at start-up) is asked again; a
                    // refusal stands until the DN moves.
                    if retry {
                        me.send_after(REGISTER_RETRY, move || LinkSupMsg::RetryRegister { link, dn });
                    }
                }
            }
            LinkSupMsg::RetryRegister { link, dn } => {
                if st.assignment.link_of(&dn) == Some(link) && !st.registered.contains(&dn) {
                    st.register(link, &dn);
                }
            }
            LinkSupMsg::Cmd(cmd) => st.children.on_cmd(cmd, &me.get_cell()).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<LinkSupMsg>,
        evt: SupervisionEvent,
        st: &mut LinkSupState,
    ) -> Result<(), ActorProcessingErr> {
        st.children.on_event(&me, evt)
    }
}

impl LinkSupState {
    fn apply(&mut self, moves: Vec<Move>) {
        for m in moves {
            // Between links the DN is served by neither: requests must not go to the old link,
            // and nobody may read the old link as serving it. No event: it stays in service for
            // clients unless no link is left (below).
            if m.from.is_some() {
                self.ctx.directory.set_serving(&m.dn, None);
            }
            if let Some(from) = m.from.and_then(|l| link_ref(&self.ctx, l)) {
                let _ = from.cast(LinkMsg::Unregister { dn: m.dn.clone(), cause: "moved to another connector".into() });
            }
            match m.to {
                // A DN moving to a link that is (re)registering everything is sent there by the
                // LinkUp handler.
                Some(to) if self.assignment.is_usable(to) && Some(to) != self.registering => self.register(to, &m.dn),
                Some(_) => {}
                None => {
                    // No usable link left in the pool: the DN is out of service.
                    self.ctx.directory.set_serving(&m.dn, None);
                    if self.registered.remove(&m.dn) {
                        self.switch_state(&m.dn, false, "no connector available for the DN's pool");
                    }
                }
            }
        }
    }

    fn register(&self, link: LinkId, dn: &DnName) {
        let Some(dn_type) = self.ctx.config.dns.get(dn).map(|d| d.dn_type) else { return };
        match link_ref(&self.ctx, link) {
            Some(l) => {
                let _ = l.cast(LinkMsg::Register { dn: dn.clone(), dn_type });
            }
            None => tracing::error!(link, %dn, "assigned link has no actor"),
        }
    }

    fn switch_state(&self, dn: &DnName, in_service: bool, cause: &str) {
        if let Some(actor) = self.ctx.directory.dn(dn) {
            let _ = actor.cast(DnMsg::SwitchState { in_service, cause: cause.to_string() });
        }
    }
}
