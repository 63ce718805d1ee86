//! Why a report could not be sent (a report that is built always is: a
//! failed query is a failed block inside it, not an error).

use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("there is no report {0:?} (the reports are daily, weekly and monthly)")]
    UnknownReport(String),
    #[error("report {0:?} has no receiver: set reports.{0}.receiver, or name one to send to")]
    NoReceiver(String),
    #[error("report {report:?}: {receiver:?} is not a receiver of alerting.receivers")]
    UnknownReceiver { report: String, receiver: String },
    #[error("receiver {0:?} has no e-mail integration (email_configs); reports are sent by e-mail")]
    NoEmail(String),
    #[error("report {report:?} could not be delivered to receiver {receiver:?}: {errors}")]
    Delivery {
        report: String,
        receiver: String,
        errors: String,
    },
    #[error("the reports' send times: {0}")]
    State(#[from] StateError),
    #[error("table report_runs, key {key:?}: cannot read the record: {message}")]
    Corrupt { key: String, message: String },
    #[error("building the report stopped: {0}")]
    Task(String),
}
