//! Checks that the deployment files (compose, Prometheus, Dockerfile) agree with the code.
//!
//! Read as text, no Docker needed: `docker-compose.yml` names only settings the binaries declare
//! (`env = "NAME"` in their `settings.rs`) and every one a stage needs, Kafka is a KRaft node the
//! stages can reach, Prometheus scrapes each stage's `METRICS_LISTEN`, and the Dockerfile builds
//! all four binaries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

const STAGES: [&str; 3] = ["ingest", "normalize", "deliver"];

/// What compose must give each stage (the built-in defaults suit only a run outside containers).
fn required(stage: &str) -> Vec<&'static str> {
    let extra: &[&str] = match stage {
        "ingest" => &["ADMIN_TOKEN", "INGEST_LISTEN", "DROPBOX_API_URL"],
        "normalize" => &["DROPBOX_API_URL"],
        "deliver" => &["ALLOW_PRIVATE_CALLBACKS", "RETRY_SCHEDULE"],
        other => panic!("unknown stage {other}"),
    };
    let common = ["KAFKA_BROKERS", "SECRETS_KEY", "METRICS_LISTEN"];
    common.iter().chain(extra).copied().collect()
}

/// A file of the repository, whose root is the e2e crate's parent.
fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A YAML file with its `<<` merge keys applied, as Compose applies them.
fn yaml(relative: &str) -> Value {
    let text = read(relative);
    let mut value: Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {relative}: {e}"));
    value.apply_merge().expect("merge keys resolve");
    value
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    let found = compose["services"].get(name);
    found.unwrap_or_else(|| panic!("docker-compose.yml has no `{name}` service"))
}

/// The items of a sequence; nothing for a missing key.
fn items(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_sequence().into_iter().flatten()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => String::new(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// A service's environment, from either the map form or the `NAME=value` list form.
fn environment(service: &Value) -> BTreeMap<String, String> {
    if let Some(map) = service["environment"].as_mapping() {
        return map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect();
    }
    let pair = |item: String| match item.split_once('=') {
        Some((name, value)) => (name.to_owned(), value.to_owned()),
        None => (item, String::new()),
    };
    items(&service["environment"])
        .map(|item| pair(scalar(item)))
        .collect()
}

/// Every environment name a stage reads: `env = "NAME"` in its settings and the shared ones.
fn settings_of(stage: &str) -> BTreeSet<String> {
    let files = [
        format!("{stage}/src/settings.rs"),
        "pipeline/src/settings.rs".into(),
    ];
    let mut names = BTreeSet::new();
    for text in files.iter().map(|file| read(file)) {
        for (at, marker) in text.match_indices("env = \"") {
            let rest = &text[at + marker.len()..];
            names.insert(rest[..rest.find('"').expect("closing quote")].to_owned());
        }
    }
    assert!(
        names.contains("KAFKA_BROKERS"),
        "{stage}: no settings found"
    );
    names
}

#[test]
fn compose_runs_kafka_the_three_stages_and_prometheus() {
    let compose = yaml("docker-compose.yml");
    for name in ["kafka", "ingest", "normalize", "deliver", "prometheus"] {
        service(&compose, name);
    }
    for stage in STAGES {
        let stage_service = service(&compose, stage);
        assert!(
            !stage_service["build"].is_null(),
            "{stage} is not built here"
        );
        let binary = stage_service["command"][0].as_str();
        assert_eq!(binary, Some(stage), "{stage} runs another binary");
    }
}

#[test]
fn compose_sets_every_required_setting_and_only_real_ones() {
    let compose = yaml("docker-compose.yml");
    for stage in STAGES {
        let env = environment(service(&compose, stage));
        let known = settings_of(stage);
        let missing: Vec<_> = required(stage)
            .into_iter()
            .filter(|n| !env.contains_key(*n))
            .collect();
        assert!(
            missing.is_empty(),
            "compose does not give {stage} {missing:?}"
        );
        let unknown: Vec<_> = env.keys().filter(|name| !known.contains(*name)).collect();
        assert!(
            unknown.is_empty(),
            "{stage} has no settings {unknown:?}; it has {known:?}"
        );
        // Secrets come from the operator's environment, never from the file.
        for secret in ["SECRETS_KEY", "ADMIN_TOKEN"] {
            let Some(value) = env.get(secret) else {
                continue;
            };
            let interpolated = value.starts_with("${") && value.contains(":?");
            assert!(interpolated, "{stage}: {secret} must be `${{{secret}:?…}}`");
        }
    }
}

#[test]
fn compose_kafka_is_one_kraft_node_that_the_stages_reach() {
    let compose = yaml("docker-compose.yml");
    let kafka = service(&compose, "kafka");
    let image = kafka["image"].as_str().unwrap_or_default();
    assert!(
        image.starts_with("apache/kafka:4."),
        "Kafka image is {image}"
    );
    let env = environment(kafka);
    let roles: BTreeSet<&str> = env["KAFKA_PROCESS_ROLES"]
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(roles, BTreeSet::from(["broker", "controller"]));
    assert_eq!(
        env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"], "false",
        "the stages create topics"
    );

    // The listener advertised under the service's own name is the one other containers use.
    let advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(',');
    let internal: Vec<&str> = advertised
        .filter_map(|listener| {
            listener
                .trim()
                .split_once("://")
                .map(|(_, address)| address)
        })
        .filter(|address| address.starts_with("kafka:"))
        .collect();
    assert_eq!(
        internal.len(),
        1,
        "want one listener at kafka:PORT, got {internal:?}"
    );
    for stage in STAGES {
        let brokers = &environment(service(&compose, stage))["KAFKA_BROKERS"];
        assert_eq!(
            brokers, internal[0],
            "{stage} misses Kafka's internal listener"
        );
    }
}

#[test]
fn compose_prometheus_scrapes_every_stage_metrics_port() {
    let compose = yaml("docker-compose.yml");
    let config_mount = "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml";
    let mut mounts = items(&service(&compose, "prometheus")["volumes"]).map(scalar);
    assert!(
        mounts.any(|m| m.starts_with(config_mount)),
        "deploy/prometheus.yml is not mounted"
    );

    let prometheus = yaml("deploy/prometheus.yml");
    let mut targets = BTreeSet::new();
    for job in items(&prometheus["scrape_configs"]) {
        let path = job.get("metrics_path").map_or("/metrics".into(), scalar);
        assert_eq!(
            path, "/metrics",
            "job {:?} scrapes another path",
            job["job_name"]
        );
        for static_config in items(&job["static_configs"]) {
            targets.extend(items(&static_config["targets"]).map(scalar));
        }
    }
    for stage in STAGES {
        let listen = &environment(service(&compose, stage))["METRICS_LISTEN"];
        let port = listen
            .rsplit_once(':')
            .expect("METRICS_LISTEN has a port")
            .1;
        let target = format!("{stage}:{port}");
        assert!(
            targets.contains(&target),
            "{target} is not scraped; targets: {targets:?}"
        );
    }
}

#[test]
fn compose_dockerfile_builds_all_four_binaries() {
    let dockerfile = read("Dockerfile");
    let build = dockerfile.lines().find(|line| line.contains("cargo build"));
    let build = build.expect("the Dockerfile runs cargo build");
    let words: Vec<&str> = build.split_whitespace().collect();
    for flag in ["--release", "--locked"] {
        assert!(words.contains(&flag), "cargo build without {flag}: {build}");
    }
    for binary in ["ingest", "normalize", "deliver", "sim"] {
        let built = words.windows(2).any(|pair| pair == ["-p", binary]);
        assert!(built, "{binary} is not built: {build}");
        let copied = dockerfile.contains(&format!("target/release/{binary}"));
        assert!(copied, "{binary} is not copied out of the build");
    }
    assert!(
        dockerfile.contains("/usr/local/bin/"),
        "binaries do not land in /usr/local/bin"
    );
}
