//! A login event as the logs store finds it in a stored record, and the
//! trait it hands such events to. The store knows what a login event looks
//! like (field names are the schema's business); what is unusual about a
//! login is the detector's, which the store never names.

use std::net::IpAddr;
use std::time::SystemTime;

/// One login attempt, after privacy: `user` is the keyed token, never the
/// raw id the application logged.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginEvent {
    /// When the record says the attempt happened.
    pub at: SystemTime,
    pub success: bool,
    /// The user's token (`u_…`), when the record named a user.
    pub user: Option<String>,
    /// The client's address, when the record holds one that parses.
    pub source: Option<IpAddr>,
}

/// Where the logs store hands the login events of each stored batch. Called
/// on the ingesting thread (a blocking one) once the batch is durable, with
/// the events in the batch's order; it must not block for long.
pub trait LoginEventSink: Send + Sync {
    fn logins(&self, events: Vec<LoginEvent>);
}
