//! Requests to the provider: JSON answers read up to a bound (a provider
//! or something pretending to be one cannot make Belfry buffer without
//! limit), errors as text without the request's secrets.

use reqwest::RequestBuilder;
use serde_json::Value;

use crate::http_client::error_chain;

/// Discovery documents, key sets and token answers are a few KiB.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The answer's status and JSON body; `what` names the request in errors.
pub async fn json(request: RequestBuilder, what: &str) -> Result<(u16, Value), String> {
    let mut response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("{what}: {}", error_chain(&e)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{what}: {}", error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "{what}: the answer is larger than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let value = serde_json::from_slice(&body)
        .map_err(|_| format!("{what}: the answer (HTTP {status}) is not JSON"))?;
    Ok((status, value))
}

/// An OAuth error answer's `error` and `error_description`, shortened.
pub fn oauth_error(value: &Value) -> Option<String> {
    let error = value.get("error")?.as_str()?;
    let description = value
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("");
    Some(short(&format!("{error} {description}")))
}

/// Text from the provider as it goes into a message: one line, bounded.
pub fn short(text: &str) -> String {
    let line: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    line
}
