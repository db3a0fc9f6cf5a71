#!/usr/bin/env bash
# Runs the whole pipeline locally, end to end: Kafka (started for you), the Dropbox simulator,
# ingest, normalize, deliver and a callback receiver. It connects a demo instance, makes a file
# change in a simulated Dropbox account, has "Dropbox" send its signed webhook, and shows the
# signed notification the receiver got. Then it keeps running until Ctrl-C.
#
# Environment: INGEST_PORT (8080), SIM_PORT (7070), RECEIVER_PORT (7080), KAFKA_PORT (9092),
# TOPIC_PREFIX (demo.). Logs and generated secrets go to .run/.
set -euo pipefail
cd "$(dirname "$0")/.."

INGEST_PORT=${INGEST_PORT:-8080}
SIM_PORT=${SIM_PORT:-7070}
RECEIVER_PORT=${RECEIVER_PORT:-7080}
RUN_DIR=.run
mkdir -p "$RUN_DIR"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Starting Kafka"
scripts/kafka.sh start

say "Building the binaries"
cargo build --locked --quiet -p ingest -p normalize -p deliver -p sim
BIN=target/debug

# Secrets survive restarts, so instances stored by an earlier run still open.
if [[ ! -f $RUN_DIR/secrets.env ]]; then
  {
    echo "SECRETS_KEY=$(head -c 32 /dev/urandom | base64)"
    echo "ADMIN_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "SIGNATURE_KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } >"$RUN_DIR/secrets.env"
fi
set -a
# shellcheck source=/dev/null
source "$RUN_DIR/secrets.env"
KAFKA_BROKERS=127.0.0.1:${KAFKA_PORT:-9092}
TOPIC_PREFIX=${TOPIC_PREFIX:-demo.}
DROPBOX_API_URL=http://127.0.0.1:$SIM_PORT
ALLOW_PRIVATE_CALLBACKS=true
RETRY_SCHEDULE=1s,5s,30s
set +a

pids=()
cleanup() {
  trap - EXIT INT TERM
  say "Stopping the pipeline"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "Stopped. Kafka keeps running (scripts/kafka.sh stop stops it)."
}
trap cleanup EXIT INT TERM

start() { # name, then the command
  local name=$1
  shift
  "$@" >"$RUN_DIR/$name.log" 2>&1 &
  pids+=($!)
}

say "Starting the Dropbox simulator, the callback receiver and the three stages"
start dropbox-sim "$BIN/sim" dropbox --listen "127.0.0.1:$SIM_PORT"
RUST_LOG=warn start receiver "$BIN/sim" receiver --listen "127.0.0.1:$RECEIVER_PORT" --signature-key "$SIGNATURE_KEY"
INGEST_LISTEN=127.0.0.1:$INGEST_PORT METRICS_LISTEN=127.0.0.1:9101 start ingest "$BIN/ingest"
METRICS_LISTEN=127.0.0.1:9102 start normalize "$BIN/normalize"
METRICS_LISTEN=127.0.0.1:9103 start deliver "$BIN/deliver"

wait_ready() { # url, name
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not become ready; its log ($RUN_DIR/$2.log) ends with:" >&2
  tail -n 20 "$RUN_DIR/$2.log" >&2
  exit 1
}
wait_ready "http://127.0.0.1:9101/readyz" ingest
wait_ready "http://127.0.0.1:9102/readyz" normalize
wait_ready "http://127.0.0.1:9103/readyz" deliver
wait_ready "http://127.0.0.1:$SIM_PORT/sim/calls" dropbox-sim

post() { # url, JSON body, extra curl args...
  local url=$1 body=$2
  shift 2
  curl -fsS -X POST -H 'Content-Type: application/json' -d "$body" "$@" "$url"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

SIM=http://127.0.0.1:$SIM_PORT/sim
WEBHOOK_URL=http://127.0.0.1:$INGEST_PORT/events/dropbox
say "Registering a Dropbox app whose webhook URI is $WEBHOOK_URL"
app=$(post "$SIM/apps" "{\"kind\": \"user\", \"webhook_url\": \"$WEBHOOK_URL\"}")
client_id=$(field client_id <<<"$app")
client_secret=$(field client_secret <<<"$app")
account_id=$(post "$SIM/accounts" '{}' | field account_id)
code=$(post "$SIM/codes" "{\"client_id\": \"$client_id\", \"subject\": \"$account_id\", \"redirect_uri\": \"https://www.mycoolapp.com/auth\"}" | field code)

say "Creating an instance with events on (POST /instances, SAP Open Connectors' body)"
instance=$(post "http://127.0.0.1:$INGEST_PORT/instances" "{
  \"element\": {\"key\": \"dropbox\"}, \"providerData\": {\"code\": \"$code\"},
  \"configuration\": {\"oauth.api.key\": \"$client_id\", \"oauth.api.secret\": \"$client_secret\",
    \"oauth.callback.url\": \"https://www.mycoolapp.com/auth\", \"authentication.type\": \"oauth2\",
    \"event.notification.enabled\": true,
    \"event.notification.callback.url\": \"http://127.0.0.1:$RECEIVER_PORT/callbacks/demo\",
    \"event.notification.signature.key\": \"$SIGNATURE_KEY\"},
  \"tags\": [\"demo\"], \"name\": \"Demo Dropbox\"}" -H "Authorization: Bearer $ADMIN_TOKEN")
python3 -m json.tool <<<"$instance"

say "Changing files in Dropbox account $account_id, then Dropbox notifies ingest"
post "$SIM/files" "{\"account_id\": \"$account_id\", \"path\": \"/Demo/hello.txt\", \"op\": \"upload\"}" >/dev/null
post "$SIM/files" "{\"account_id\": \"$account_id\", \"path\": \"/Demo/Photos\", \"op\": \"folder\"}" >/dev/null
status=$(post "$SIM/notify" "{\"client_id\": \"$client_id\", \"accounts\": [\"$account_id\"]}" | field status)
echo "ingest answered the signed webhook with $status"

say "Waiting for the callback receiver"
for _ in $(seq 1 300); do
  grep -q '^POST ' "$RUN_DIR/receiver.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '^POST ' "$RUN_DIR/receiver.log" || { echo "nothing delivered; see $RUN_DIR/*.log" >&2; exit 1; }

cat <<TXT

The pipeline is running.
  Dropbox webhooks:  POST $WEBHOOK_URL  (X-Dropbox-Signature: hex HMAC-SHA256 with the app secret)
                     GET  $WEBHOOK_URL?challenge=…  echoes the challenge
  Instances API:     http://127.0.0.1:$INGEST_PORT/instances  (Authorization: Bearer \$ADMIN_TOKEN from $RUN_DIR/secrets.env)
  Metrics:           http://127.0.0.1:9101/metrics  :9102  :9103
  Make another change and notify:
    curl -X POST $SIM/files -H 'Content-Type: application/json' -d '{"account_id": "$account_id", "path": "/Demo/more.txt", "op": "upload"}'
    curl -X POST $SIM/notify -H 'Content-Type: application/json' -d '{"client_id": "$client_id", "accounts": ["$account_id"]}'
  Logs: $RUN_DIR/*.log. Press Ctrl-C to stop.

Delivered so far (and as they come):
TXT
tail -n +1 -f "$RUN_DIR/receiver.log" &
pids+=($!)
wait "${pids[0]}"
