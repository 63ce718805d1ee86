//! The chat and paging receivers' configuration: Alertmanager's defaults,
//! the globals they inherit, the checks, and the integrations refused by
//! name.

use crate::config::Config;

fn alerting(receivers: &str, global: &str) -> String {
    format!(
        "alerting:\n  global:\n    resolve_timeout: 5m\n{global}  route:\n    receiver: r\n  receivers:\n    - name: r\n{receivers}"
    )
}

fn load(receivers: &str, global: &str) -> crate::config::alerting::ReceiverConfig {
    let text = alerting(receivers, global);
    let cfg =
        Config::from_yaml_with_env(&text, "belfry.yml", |_| None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    cfg.alerting.unwrap().receivers.remove(0)
}

fn refused(receivers: &str, global: &str) -> String {
    let text = alerting(receivers, global);
    match Config::from_yaml_with_env(&text, "belfry.yml", |_| None) {
        Ok(_) => panic!("should be refused:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_and_globals_as_alertmanager() {
    let r = load(
        "      slack_configs: [{channel: '#ops'}]\n      \
         msteamsv2_configs: [{webhook_url: 'https://example.org/wf'}]\n      \
         discord_configs: [{webhook_url: 'https://discord.com/api/webhooks/1/t'}]\n      \
         telegram_configs: [{chat_id: -1001}]\n      \
         pagerduty_configs: [{routing_key: k, details: {firing: custom}}]\n",
        "    slack_api_url: 'https://hooks.slack.com/services/T/B/X'\n    \
         telegram_bot_token: '123:abc'\n    \
         http_config: {follow_redirects: false}\n",
    );
    let s = &r.slack_configs[0];
    assert!(!s.send_resolved);
    assert_eq!(s.api_url.expose(), "https://hooks.slack.com/services/T/B/X");
    assert_eq!(s.title, r#"{{ template "slack.default.title" . }}"#);
    assert_eq!(s.color, r#"{{ template "slack.default.color" . }}"#);
    assert!(!s.http_config.follow_redirects);
    let t = &r.msteamsv2_configs[0];
    assert!(t.send_resolved);
    assert_eq!(t.text, r#"{{ template "msteamsv2.default.text" . }}"#);
    assert!(r.discord_configs[0].send_resolved);
    let tg = &r.telegram_configs[0];
    assert!(tg.send_resolved);
    assert_eq!(tg.bot_token.expose(), "123:abc");
    assert_eq!(tg.api_url.as_deref(), Some("https://api.telegram.org"));
    assert_eq!(tg.parse_mode, "HTML");
    let p = &r.pagerduty_configs[0];
    assert!(p.send_resolved && !p.is_v1());
    assert_eq!(p.url.as_deref(), Some("https://events.pagerduty.com/v2/enqueue"));
    assert_eq!(p.severity, "error");
    assert_eq!(p.source, p.client);
    assert_eq!(p.details["firing"], "custom");
    assert_eq!(p.details["num_resolved"], "{{ .Alerts.Resolved | len }}");
}

#[test]
fn slack_app_token_becomes_bearer_to_app_url() {
    let r = load("      slack_configs: [{app_token: xoxb-1}]\n", "");
    let s = &r.slack_configs[0];
    assert_eq!(s.api_url.expose(), "https://slack.com/api/chat.postMessage");
    let a = s.http_config.authorization.as_ref().unwrap();
    assert_eq!((a.kind.as_str(), a.credentials.expose()), ("Bearer", "xoxb-1"));
}

#[test]
fn pagerduty_service_key_is_v1() {
    let r = load("      pagerduty_configs: [{service_key: s}]\n", "");
    let p = &r.pagerduty_configs[0];
    assert!(p.is_v1());
    assert_eq!(p.url.as_deref(), Some(super::PAGERDUTY_V1_URL));
}

#[test]
fn bad_chat_configs_name_the_problem() {
    let cases = [
        ("      slack_configs: [{channel: x}]\n", "no Slack API URL"),
        (
            "      slack_configs: [{api_url: 'https://a/b', api_url_file: /f}]\n",
            "at most one of api_url and api_url_file",
        ),
        (
            "      slack_configs: [{api_url: 'ftp://a/b'}]\n",
            "api_url must be an http or https URL",
        ),
        (
            "      slack_configs: [{api_url: 'https://a/b', fields: [{title: t}]}]\n",
            "missing value in Slack field",
        ),
        (
            "      slack_configs: [{api_url: 'https://a/b', actions: [{type: button, text: t}]}]\n",
            "missing name or url in Slack action",
        ),
        (
            "      msteamsv2_configs: [{}]\n",
            "one of webhook_url or webhook_url_file",
        ),
        (
            "      discord_configs: [{title: x}]\n",
            "one of webhook_url or webhook_url_file",
        ),
        ("      telegram_configs: [{chat_id: 1}]\n", "missing bot_token"),
        ("      telegram_configs: [{bot_token: t}]\n", "missing chat_id"),
        (
            "      telegram_configs: [{bot_token: t, chat_id: 1, parse_mode: Html}]\n",
            "unknown parse_mode \"Html\"",
        ),
        (
            "      pagerduty_configs: [{}]\n",
            "missing service or routing key",
        ),
        (
            "      slack_configs: [{api_url: 'https://a/b', colour: red}]\n",
            "unknown field `colour`",
        ),
    ];
    for (receivers, want) in cases {
        let e = refused(receivers, "");
        assert!(e.contains(want), "{receivers}: {e}");
        assert!(e.starts_with("belfry.yml:"), "{e}");
    }
}

#[test]
fn secret_urls_are_not_shown_in_errors() {
    let e = refused("      discord_configs: [{webhook_url: 'not a url/TOKEN'}]\n", "");
    assert!(e.contains("invalid webhook_url"), "{e}");
    assert!(!e.contains("TOKEN"), "{e}");
}

#[test]
fn other_alertmanager_integrations_are_refused_by_name() {
    for kind in [
        "opsgenie_configs",
        "victorops_configs",
        "pushover_configs",
        "sns_configs",
        "wechat_configs",
        "webex_configs",
        "jira_configs",
        "rocketchat_configs",
        "mattermost_configs",
        "incidentio_configs",
        "msteams_configs",
    ] {
        let e = refused(&format!("      {kind}: [{{api_key: x}}]\n"), "");
        assert!(
            e.contains(&format!("receiver \"r\": {kind} is not supported by Belfry")),
            "{e}"
        );
        assert!(e.contains(super::SUPPORTED_INTEGRATIONS), "{e}");
        assert!(e.starts_with("belfry.yml:"), "{e}");
    }
}
