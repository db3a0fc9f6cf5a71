//! The JSON Schemas in `schemas/` are themselves valid, and a helper to check records against them.

use serde_json::Value;

/// Panics with every violation when `record` does not match `schema`.
pub fn assert_valid(schema: &str, record: &Value) {
    let schema: Value = serde_json::from_str(schema).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(record)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "record does not match its schema: {errors:#?}\n{record:#}"
    );
}

#[test]
fn every_schema_compiles_and_rejects_garbage() {
    for schema in [
        schemas::RAW_ENVELOPE_SCHEMA,
        schemas::INSTANCE_SCHEMA,
        schemas::NOTIFICATION_SCHEMA,
    ] {
        let schema: Value = serde_json::from_str(schema).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(!validator.is_valid(&serde_json::json!({"unexpected": true})));
    }
}
