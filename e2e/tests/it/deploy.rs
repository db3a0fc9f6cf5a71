//! The operator's files in `deploy/` are valid: alert rules and dashboard queries parse as PromQL
//! and name only metrics the stages export, and docker-compose provisions them.

use std::path::Path;

use serde_json::Value;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every `ingest_…`, `normalize_…` or `deliver_…` name in `expr` must be registered in that
/// stage's `metrics.rs` (histogram series suffixes stripped).
fn assert_known_metrics(expr: &str) {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for token in expr.split(|c: char| !is_name(c)) {
        let Some(stage) = ["ingest", "normalize", "deliver"]
            .into_iter()
            .find(|s| token.starts_with(&format!("{s}_")))
        else {
            continue;
        };
        let name = ["_bucket", "_count", "_sum"]
            .iter()
            .fold(token, |name, suffix| {
                name.strip_suffix(suffix).unwrap_or(name)
            });
        let source = read(&format!("{stage}/src/metrics.rs"));
        assert!(
            source.contains(&format!("\"{name}\"")),
            "{name} (in `{expr}`) is not a metric of {stage}"
        );
    }
}

fn assert_promql(expr: &str) {
    promql_parser::parser::parse(expr).unwrap_or_else(|e| panic!("`{expr}` is not PromQL: {e}"));
    assert_known_metrics(expr);
}

#[test]
fn alert_rules_are_valid_and_cover_what_operators_need() {
    let rules: serde_yaml::Value = serde_yaml::from_str(&read("deploy/alerts.yml")).unwrap();
    let mut names = Vec::new();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let name = rule["alert"]
                .as_str()
                .expect("every rule is an alert with a name");
            assert_promql(rule["expr"].as_str().unwrap());
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            assert!(
                ["warning", "critical"].contains(&severity),
                "{name}: severity {severity:?}"
            );
            assert!(
                rule["annotations"]["summary"].is_string(),
                "{name} has a summary"
            );
            names.push(name.to_owned());
        }
    }
    for needed in [
        "EventsDeadLetterGrowing",
        "ConsumerLagHigh",
        "CallbackFailureRatioHigh",
        "Ingest5xx",
    ] {
        assert!(names.iter().any(|n| n == needed), "no {needed} alert");
    }
    let prometheus: serde_yaml::Value =
        serde_yaml::from_str(&read("deploy/prometheus.yml")).unwrap();
    assert_eq!(
        prometheus["rule_files"][0].as_str(),
        Some("/etc/prometheus/alerts.yml")
    );
}

#[test]
fn the_dashboard_queries_are_valid_and_use_the_provisioned_data_source() {
    let dashboard: Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/pipeline.json")).unwrap();
    let datasource: serde_yaml::Value = serde_yaml::from_str(&read(
        "deploy/grafana/provisioning/datasources/prometheus.yml",
    ))
    .unwrap();
    let uid = datasource["datasources"][0]["uid"].as_str().unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8, "rates, latencies, lag and DLQ panels");
    let mut exprs = Vec::new();
    for panel in panels {
        assert_eq!(panel["datasource"]["uid"], uid, "{}", panel["title"]);
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            assert_promql(expr);
            exprs.push(expr.to_owned());
        }
    }
    for needed in [
        "deliver_end_to_end_seconds_bucket",
        "consumer_lag",
        "deliver_dlq_writes_total",
        "ingest_webhooks_total",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(needed)),
            "no panel shows {needed}"
        );
    }
}

#[test]
fn compose_provisions_the_alerts_and_the_dashboard() {
    let compose: serde_yaml::Value = serde_yaml::from_str(&read("docker-compose.yml")).unwrap();
    let mounts = |service: &str| -> Vec<String> {
        compose["services"][service]["volumes"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{service} has volumes"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        mounts("prometheus")
            .iter()
            .any(|m| m.starts_with("./deploy/alerts.yml:/etc/prometheus/alerts.yml"))
    );
    let grafana = mounts("grafana");
    assert!(
        grafana
            .iter()
            .any(|m| m.starts_with("./deploy/grafana/provisioning:/etc/grafana/provisioning"))
    );
    assert!(
        grafana
            .iter()
            .any(|m| m.starts_with("./deploy/grafana/dashboards:/var/lib/grafana/dashboards"))
    );
    let provider: serde_yaml::Value = serde_yaml::from_str(&read(
        "deploy/grafana/provisioning/dashboards/dashboards.yml",
    ))
    .unwrap();
    assert_eq!(
        provider["providers"][0]["options"]["path"].as_str(),
        Some("/var/lib/grafana/dashboards")
    );
}
