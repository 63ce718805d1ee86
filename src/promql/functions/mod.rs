//! PromQL functions: one table (`table.rs`) maps each name to its argument
//! shape and implementation; `args.rs` reads arguments; each other file
//! holds one family's functions.

mod args;
mod counters;
mod date;
mod histogram;
mod labels;
mod math;
mod misc;
mod over_time;
mod rate;
mod table;

pub(crate) use args::unwrap_parens;
pub(crate) use counters::window_value as counter_window_value;
pub(crate) use over_time::{better as better_extreme, keeps_name as over_time_keeps_name, value_over};
pub(crate) use rate::{extrapolated_rate_with_resets, instant_value, non_counter_info};
pub(crate) use table::call;
