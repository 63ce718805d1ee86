use super::*;
use crate::model::Labels;

fn expand_with(src: &str, value: f64, query: Option<&QueryFn<'_>>) -> Result<String, TemplateError> {
    let labels = Labels::from_pairs(&[
        ("instance", "web-1:8000"),
        ("job", "lms"),
        ("queue_name", "celery"),
    ]);
    let ext = Labels::from_pairs(&[("cluster", "campus")]);
    let data = TemplateData {
        labels: &labels,
        external_labels: &ext,
        external_url: "http://belfry:9900",
        value,
    };
    let ctx = Context {
        query,
        external_url: "http://belfry:9900",
        path_prefix: "",
        now_secs: 0.0,
    };
    Template::parse(src)?.expand(&data, &ctx)
}

fn expand(src: &str, value: f64) -> String {
    expand_with(src, value, None).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn variables_and_labels() {
    assert_eq!(
        expand("Instance {{ $labels.instance }} down", 0.0),
        "Instance web-1:8000 down"
    );
    assert_eq!(expand("{{ $value }}", 0.0512), "0.0512");
    assert_eq!(expand("{{ .Labels.job }}/{{ .Value }}", 3.0), "lms/3");
    assert_eq!(expand("{{ $externalLabels.cluster }}", 0.0), "campus");
    assert_eq!(expand("[{{ $labels.missing }}]", 0.0), "[]");
    assert_eq!(expand("{{ $externalURL }}", 0.0), "http://belfry:9900");
}

#[test]
fn functions_and_pipelines() {
    assert_eq!(expand("{{ $value | humanizePercentage }}", 0.0512), "5.12%");
    assert_eq!(expand("{{ humanize $value }}", 1234567.0), "1.235M");
    assert_eq!(expand("{{ $value | humanize1024 }}B", 2048.0), "2kiB");
    assert_eq!(expand("{{ humanizeDuration $value }}", 2.5), "2.5s");
    assert_eq!(expand(r#"{{ printf "%.1f" $value }}"#, 2.25), "2.2");
    assert_eq!(
        expand(r#"{{ $labels.job | toUpper }} {{ title "hello world" }}"#, 0.0),
        "LMS Hello World"
    );
    assert_eq!(
        expand(
            r#"{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}"#,
            0.2
        ),
        "mid"
    );
    assert_eq!(
        expand(r#"{{ with $labels.queue_name }}queue {{ . }}{{ end }}"#, 0.0),
        "queue celery"
    );
    assert_eq!(
        expand(r#"{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"#, 0.0),
        "instance=web-1:8000;job=lms;queue_name=celery;"
    );
    assert_eq!(expand(r#"{{- "a" -}}   {{- "b" }}"#, 0.0), "ab");
    assert_eq!(expand(r#"{{/* note */}}x"#, 0.0), "x");
    assert_eq!(expand(r#"{{ $x := 1 }}{{ $x = 2 }}{{ $x }}"#, 0.0), "2");
    assert_eq!(
        expand(r#"{{ reReplaceAll ":.*" "" $labels.instance }}"#, 0.0),
        "web-1"
    );
    assert_eq!(expand(r#"{{ stripPort $labels.instance }}"#, 0.0), "web-1");
    // Go's syntax: a `{` that opens no repetition is a literal.
    assert_eq!(
        expand(r#"{{ reReplaceAll "/{id}$" "/:id" "/courses/{id}" }}"#, 0.0),
        "/courses/:id"
    );
    assert_eq!(expand(r#"{{ match "^{x}$" "{x}" }}"#, 0.0), "true");
    let err = expand_with(r#"{{ match "a{2}{3}" "aa" }}"#, 0.0, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"a{2}{3}\"") && err.contains("nested repetition"),
        "{err}"
    );
    assert_eq!(
        expand(r#"{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" "y" }}"#, 0.0),
        "[y]"
    );
    assert_eq!(
        expand(
            r#"{{ and 1 0 }} {{ or 0 "z" }} {{ not true }} {{ len "abc" }}"#,
            0.0
        ),
        "0 z false 3"
    );
    assert_eq!(expand(r#"{{ index $labels "job" }}"#, 0.0), "lms");
    assert_eq!(expand(r#"{{ (printf "%s-%s" "a" "b") }}"#, 0.0), "a-b");
    assert_eq!(expand(r#"{{ eq $labels.job "x" "lms" }}"#, 0.0), "true");
}

#[test]
fn query_first_value_label() {
    let q = |expr: &str| -> Result<Vec<QuerySample>, QueryError> {
        assert_eq!(expr, "up");
        Ok(vec![QuerySample {
            labels: [("instance".to_string(), "a".to_string())].into_iter().collect(),
            value: 0.25,
        }])
    };
    let out = expand_with(r#"{{ query "up" | first | value | humanizePercentage }} on {{ with query "up" }}{{ . | first | label "instance" }}{{ end }}"#, 0.0, Some(&q)).unwrap();
    assert_eq!(out, "25% on a");
    let out = expand_with(
        r#"{{ range query "up" }}{{ .Labels.instance }}={{ .Value }}{{ end }}"#,
        0.0,
        Some(&q),
    )
    .unwrap();
    assert_eq!(out, "a=0.25");
    let none = |_: &str| -> Result<Vec<QuerySample>, QueryError> { Ok(vec![]) };
    let err = expand_with(r#"{{ query "up" | first | value }}"#, 0.0, Some(&none)).unwrap_err();
    assert!(
        err.to_string()
            .contains("first() called on vector with no elements"),
        "{err}"
    );
}

#[test]
fn bad_templates_are_refused_with_a_reason() {
    for (src, want) in [
        ("{{ $labels.x ", "unclosed action"),
        ("{{ if true }}x", "has no {{end}}"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ nosuchfn 1 }}", "function \"nosuchfn\" not defined"),
        ("{{ \"abc }}", "unterminated quoted string"),
        ("a\n{{ ( }}", "line 2"),
    ] {
        let err = Template::parse(src).unwrap_err().to_string();
        assert!(err.contains(want), "{src:?}: {err}");
    }
    let err = expand_with("{{ $nope }}", 0.0, None).unwrap_err().to_string();
    assert!(err.contains("undefined variable: $nope"), "{err}");
    let err = expand_with("{{ range 100000000 }}xxxxxxxxxxxxxxxxxxxx{{ end }}", 0.0, None).unwrap_err();
    assert!(matches!(err, TemplateError::TooLarge(_)), "{err}");
}
