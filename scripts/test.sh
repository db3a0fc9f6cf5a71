#!/usr/bin/env bash
# Runs every test of the workspace against a real Kafka broker on 127.0.0.1:9092, which this
# script installs (through Maven) and starts if it is not running yet, and leaves running for the
# next run (`scripts/kafka.sh stop` stops it). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/kafka.sh start
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
# The crash tests run the stages' binaries as processes of their own.
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
