# syntax=docker/dockerfile:1
#
# One image holds all four binaries: `ingest`, `normalize`, `deliver` and the `sim` test helper.
# There is no ENTRYPOINT: the command names the binary (docker-compose.yml sets it per service),
# e.g. `docker run --rm webhook-pipeline:latest deliver --help`.
#
#   docker build -t webhook-pipeline:latest .      (needs BuildKit, the default since Docker 23)

ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-bookworm AS builder

# rdkafka-sys compiles the bundled librdkafka with its own `./configure` (bash) and GNU make, and
# links zlib (rdkafka's default `libz` feature); ring needs a C compiler. The rust image already
# carries most of this; naming it here keeps the build working if the base image slims down.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The registry and target directories are cache mounts, so a source change recompiles only the
# workspace crates. A cache mount is gone once the RUN ends, hence the copy to /out.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p ingest -p normalize -p deliver -p sim \
 && mkdir -p /out \
 && cp target/release/ingest target/release/normalize target/release/deliver target/release/sim /out/

FROM debian:bookworm-slim

# CA roots for outbound HTTPS (Dropbox's API, customers' callback URLs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 pipeline \
 && useradd --system --uid 10001 --gid pipeline --no-create-home --shell /usr/sbin/nologin pipeline

COPY --from=builder /out/ /usr/local/bin/

USER 10001:10001

# ingest's webhooks and /instances API; each stage's /metrics, /healthz and /readyz.
EXPOSE 8080 9101 9102 9103

# The stages drain on SIGTERM (see DESIGN.md) and run as PID 1 with their own signal handler.
STOPSIGNAL SIGTERM
CMD ["ingest"]
