//! `proxy_url` / `no_proxy` end to end: a scrape job's and a webhook's
//! configuration go through the shared outbound client to a forward proxy
//! on loopback, which answers for a host that does not exist; `no_proxy`
//! hosts are reached directly.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use belfry::config::{Config, ProxySettings, TlsConfig};
use belfry::http_client::{ClientSettings, HttpClient};
use parking_lot::Mutex;
use reqwest::Method;

/// A forward proxy that answers every request itself with `body` and
/// records the request lines it was sent (absolute-form URIs).
struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start(body: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(false).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            // Serves until the test process ends; each test makes few requests.
            for stream in listener.incoming().take(8) {
                let Ok(mut stream) = stream else { return };
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                log.lock().push(request_line.trim_end().to_string());
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Proxy { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn client(proxy: ProxySettings<'_>) -> HttpClient {
    HttpClient::new(&ClientSettings {
        tls: &TlsConfig::default(),
        follow_redirects: true,
        gzip: false,
        timeout: Some(Duration::from_secs(5)),
        proxy,
    })
    .unwrap()
}

#[tokio::test]
async fn requests_go_through_proxy_url_and_no_proxy_hosts_do_not() {
    let proxy = Proxy::start("up 1\n");
    let url = proxy.url();
    let via_proxy = client(ProxySettings {
        url: Some(&url),
        no_proxy: Some("direct.invalid"),
        from_environment: false,
    });
    let body = via_proxy
        .request(Method::GET, "http://lms-api.invalid:8000/metrics")
        .await
        .unwrap()
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "up 1\n");
    assert_eq!(
        proxy.seen.lock().as_slice(),
        ["GET http://lms-api.invalid:8000/metrics HTTP/1.1"]
    );

    // A `no_proxy` host is dialled directly, so a name that does not
    // resolve fails instead of reaching the proxy.
    let direct = via_proxy
        .request(Method::GET, "http://direct.invalid:8000/metrics")
        .await
        .unwrap()
        .send()
        .await;
    assert!(direct.is_err(), "no_proxy host went through the proxy");
    assert_eq!(proxy.seen.lock().len(), 1);

    // Without proxy settings the environment is not consulted either.
    let plain = client(ProxySettings::default());
    assert!(
        plain
            .request(Method::GET, "http://lms-api.invalid:8000/metrics")
            .await
            .unwrap()
            .send()
            .await
            .is_err()
    );
    assert_eq!(proxy.seen.lock().len(), 1);
}

#[test]
fn proxy_settings_are_read_and_checked_where_prometheus_takes_them() {
    let yaml = "scrape_configs:\n  - job_name: lms\n    proxy_url: http://proxy.internal:3128\n    no_proxy: localhost\n    static_configs: [{targets: ['api:8000']}]\nalerting:\n  route: {receiver: hook}\n  receivers:\n    - name: hook\n      webhook_configs:\n        - url: http://hooks.internal/alert\n          http_config: {proxy_url: 'https://proxy.internal:3129'}\n";
    let cfg = Config::from_yaml(yaml, "belfry.yml").unwrap();
    let job = &cfg.scrape_configs[0];
    assert_eq!(job.proxy().url, Some("http://proxy.internal:3128"));
    assert_eq!(job.proxy().no_proxy, Some("localhost"));
    let hook = &cfg.alerting.as_ref().unwrap().receivers[0].webhook_configs[0];
    assert_eq!(hook.http_config.proxy().url, Some("https://proxy.internal:3129"));

    let both = "scrape_configs:\n  - job_name: lms\n    proxy_url: http://proxy:3128\n    proxy_from_environment: true\n";
    let err = Config::from_yaml(both, "belfry.yml").unwrap_err().to_string();
    assert!(err.contains("proxy_from_environment"), "{err}");
    let socks = "scrape_configs:\n  - job_name: lms\n    proxy_url: socks5://proxy:1080\n";
    let err = Config::from_yaml(socks, "belfry.yml").unwrap_err().to_string();
    assert!(err.contains("SOCKS"), "{err}");
}
