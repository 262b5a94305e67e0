//! The one integration-test binary: real sockets, fake clients, a T-Server per test.

mod util;

mod admin;
mod agent_sessions;
mod agents;
mod architecture;
mod b2b;
mod binary;
mod call_property;
mod calls;
mod conference_pool;
mod connector_media;
mod connectors;
mod direct_calls;
mod durability;
mod im_features;
mod load;
mod monitoring;
mod presence;
mod protocol;
mod registration;
mod router;
mod routing;
mod sim_traffic;
mod supervision;
mod tls;
