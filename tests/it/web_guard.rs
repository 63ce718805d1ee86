//! What a web page in the user's browser cannot make a running Belfry do:
//! requests with the headers a DNS-rebinding page, a cross-site `fetch` or
//! a plain HTML form would send, against a started server.

use std::io::{Read, Write};
use std::time::Duration;

use crate::support::{BelfryServer, http_client, http_get};

/// A blocking request with the given headers: (status, body).
fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = http_client()
            .request(method, url)
            .timeout(Duration::from_secs(10))
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn refused_count(server: &BelfryServer, reason: &str) -> f64 {
    let (_, text) = http_get(&server.url("/metrics")).unwrap();
    let prefix = format!("belfry_http_requests_refused_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

const SILENCE: &str = r#"{"matchers":[{"name":"alertname","value":"X","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2999-01-01T00:00:00Z","createdBy":"test","comment":"test"}"#;

#[test]
fn rebound_host_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(&config, "server:\n  allowed_hosts: [belfry.internal]\n").unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let url = server.url("/api/v1/status/buildinfo");
    let port = server.addr.port();

    let evil = format!("rebound.evil.example:{port}");
    let (status, body) = send("GET", &url, &[("host", &evil)], "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("server.allowed_hosts"), "{body}");
    assert!(body.contains("rebound.evil.example"), "{body}");

    for ok in [
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "belfry.internal".to_string(),
    ] {
        let (status, body) = send("GET", &url, &[("host", &ok)], "");
        assert_eq!(status, 200, "Host: {ok}: {body}");
    }
    assert_eq!(refused_count(&server, "host"), 1.0);

    // HTTP/1.0 without Host: no browser sends that, so it is served.
    let mut conn = std::net::TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    conn.write_all(b"GET /-/healthy HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
}

#[test]
fn cross_site_and_form_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(dir.path(), None);
    let silences = server.url("/api/v2/silences");
    let json = ("content-type", "application/json");

    // A script on another site: foreign Origin, or the browser's own word.
    let (status, body) = send(
        "POST",
        &silences,
        &[json, ("origin", "https://evil.example")],
        SILENCE,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Origin"), "{body}");
    let (status, _) = send(
        "POST",
        &silences,
        &[json, ("sec-fetch-site", "cross-site")],
        SILENCE,
    );
    assert_eq!(status, 403);
    let (status, _) = send("POST", &server.url("/-/reload"), &[("origin", "null")], "");
    assert_eq!(status, 403);
    let (status, _) = send(
        "DELETE",
        &server.url("/api/v2/silence/00000000-0000-0000-0000-000000000000"),
        &[("origin", "http://evil.example")],
        "",
    );
    assert_eq!(status, 403);
    assert_eq!(refused_count(&server, "origin"), 4.0);

    // A plain HTML form: its body types only, and no Origin (older
    // browsers) does not help it.
    for form in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "text/plain",
    ] {
        let (status, body) = send("POST", &silences, &[("content-type", form)], SILENCE);
        assert_eq!(status, 415, "{form}: {body}");
        assert!(body.contains("application/json"), "{body}");
        let (status, _) = send(
            "POST",
            &server.url("/api/v2/alerts"),
            &[("content-type", form)],
            "[]",
        );
        assert_eq!(status, 415, "{form}");
        let (status, _) = send(
            "POST",
            &server.url("/api/v1/write"),
            &[("content-type", form)],
            "",
        );
        assert_eq!(status, 415, "{form}");
        let (status, _) = send("POST", &server.url("/-/reload"), &[("content-type", form)], "a=b");
        assert_eq!(status, 415, "{form}");
    }
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/import/prometheus"),
        &[("content-type", "application/x-www-form-urlencoded")],
        "x 1\n",
    );
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("text/plain"), "{body}");
    assert!(refused_count(&server, "content_type") >= 13.0);

    // What real clients send still works: JSON from Belfry's own origin,
    // a bare reload, the text format, and queries as form posts from
    // anywhere (they change nothing).
    let own = format!("http://{}", server.addr);
    let (status, body) = send(
        "POST",
        &silences,
        &[json, ("origin", &own), ("sec-fetch-site", "same-origin")],
        SILENCE,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send("POST", &server.url("/-/reload"), &[], "");
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/import/prometheus"),
        &[("content-type", "text/plain; version=0.0.4")],
        "guard_pushed 1\n",
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/query"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "http://grafana.example:3000"),
        ],
        "query=1%2B1",
    );
    assert_eq!(status, 200, "{body}");
}
