//! `GET /loki/api/v1/tail`: a WebSocket that sends the lines of a log
//! query as they are stored, in Loki's tail message shape
//! `{"streams":[…],"dropped_entries":null}`. On connect it sends the
//! newest `limit` lines since `start` (default an hour ago), then polls
//! the store once a second from the sequence number it had reached.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::json;

use crate::logql::{
    Budget, Direction, FoundLine, LogSelector, LogqlEngine, Query, find_lines, group_streams, parse_query,
    tail_lines,
};
use crate::web::error::{ApiError, LokiApiError};
use crate::web::loki_params::{DEFAULT_SINCE_NS, duration_param, limit, now_ns, time_param};
use crate::web::params::Params;
use crate::web::state::AppState;

use super::loki_json::streams_json;
use super::loki_query::engine;

const POLL: Duration = Duration::from_secs(1);
/// Loki refuses longer delays.
const MAX_DELAY_NS: i64 = 5_000_000_000;

pub async fn tail(
    State(state): State<Arc<AppState>>,
    ws: WebSocketUpgrade,
    params: Params,
) -> Result<Response, LokiApiError> {
    let engine = engine(&state)?;
    let q = params.get("query").unwrap_or_default();
    let sel = match parse_query(q)? {
        Query::Log(sel) => sel,
        Query::Metric(_) => {
            return Err(ApiError::BadData("tail takes a log query, not a metric query".into()).into());
        }
    };
    let limit = limit(&params)?.min(engine.limits().max_entries);
    if duration_param(&params, "delay_for")?.unwrap_or(0) > MAX_DELAY_NS {
        return Err(ApiError::BadData("delay_for can't be greater than 5".into()).into());
    }
    let start = time_param(&params, "start")?.unwrap_or_else(|| now_ns() - DEFAULT_SINCE_NS);
    Ok(ws.on_upgrade(move |socket| follow(socket, engine, sel, start, limit)))
}

fn message(lines: Vec<FoundLine>) -> Message {
    let body = json!({"streams": streams_json(&group_streams(lines)), "dropped_entries": null});
    Message::Text(body.to_string().into())
}

async fn follow(mut socket: WebSocket, engine: Arc<LogqlEngine>, sel: LogSelector, start: i64, limit: usize) {
    let sel = Arc::new(sel);
    // The cursor is taken before the first read, so nothing stored while
    // it runs is missed; what both see is sent once.
    let first = {
        let (engine, sel) = (engine.clone(), sel.clone());
        tokio::task::spawn_blocking(move || {
            let cursor = engine.days().committed_next_seq();
            let budget = Budget::new(engine.limits().clone());
            let mut lines = find_lines(
                engine.days(),
                &sel,
                start,
                i64::MAX,
                limit,
                Direction::Backward,
                None,
                &budget,
            )?;
            lines.reverse();
            Ok::<_, crate::logql::LogqlError>((cursor, lines))
        })
        .await
    };
    let (mut cursor, lines) = match first {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot start a logs tail");
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        Err(_) => return,
    };
    let mut sent: HashSet<u64> = lines.iter().filter(|l| l.seq >= cursor).map(|l| l.seq).collect();
    if !lines.is_empty() && socket.send(message(lines)).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            },
            _ = tick.tick() => {}
        }
        // Drain what arrived, `limit` lines a message.
        loop {
            let (engine, sel) = (engine.clone(), sel.clone());
            let from = cursor;
            let batch = tokio::task::spawn_blocking(move || {
                let budget = Budget::new(engine.limits().clone());
                tail_lines(engine.days(), &sel, start, from, limit, &budget)
            })
            .await;
            let (mut lines, next) = match batch {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "logs tail poll failed");
                    break;
                }
                Err(_) => return,
            };
            let more = lines.len() >= limit && next > cursor;
            cursor = next;
            lines.retain(|l| !sent.remove(&l.seq));
            if !lines.is_empty() && socket.send(message(lines)).await.is_err() {
                return;
            }
            if !more {
                break;
            }
        }
    }
}
