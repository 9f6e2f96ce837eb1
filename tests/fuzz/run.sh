#!/usr/bin/env bash
# Seeds every fuzzer from the tests' payloads and runs each for a bounded time.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_EACH]    (BUILD_DIR configured with -DDEBRIEF_FUZZ=ON)
# Exits non-zero, with the reproducer kept under BUILD_DIR/fuzz/, when a fuzzer finds a crash,
# a sanitizer report, a leak or a hang.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
seconds=${2:-60}
work="$build/fuzz"
rm -rf "$work/seeds"
fuzzers=(webhook normalize http_front config model credentials)
for f in "${fuzzers[@]}"; do mkdir -p "$work/seeds/$f"; done
mkdir -p "$work/artifacts"

# Webhook bodies: every recorded vendor payload.
n=0
for f in "$root"/tests/adapters/helpdesk/*/testdata/*.json "$root"/deploy/samples/*.json \
         "$root"/../shared/payloads/*.json; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  cp "$f" "$work/seeds/webhook/$n.json"
  cp "$f" "$work/seeds/normalize/$n.txt"
done
# Ticket sentences with personal data and the like.
head -n 200 "$root/tests/plugin/testdata/pii_corpus.tsv" | split -l 20 - "$work/seeds/normalize/pii-"

# HTTP requests: the samples as signed deliveries (the fuzzer's secret), and the other
# endpoints.
secret=fuzz-secret
ts=$(date +%s)
i=0
for f in "$root"/deploy/samples/*.json; do
  i=$((i + 1))
  [ $i -le 8 ] || break
  body=$(cat "$f")
  sig=$(printf '%s' "$ts.$body" | openssl dgst -sha256 -hmac "$secret" -hex | sed 's/^.* //')
  printf 'POST /webhooks/support HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Debrief-Timestamp: %s\r\nX-Debrief-Signature: %s\r\nX-Debrief-Delivery: seed-%s\r\nContent-Length: %s\r\n\r\n%s' \
    "$ts" "$sig" "$i" "${#body}" "$body" > "$work/seeds/http_front/delivery-$i"
done
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' > "$work/seeds/http_front/health"
printf 'POST /webhooks/support HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' > "$work/seeds/http_front/chunked"

# Configurations: the shipped example, the taxonomy, and every YAML the tests write.
cp "$root/deploy/debrief.example.yaml" "$work/seeds/config/example.yaml"
cp "$root/deploy/taxonomy/default.yaml" "$work/seeds/config/taxonomy.yaml"
printf 'http: {listen: 0.0.0.0:8443, tls: {cert_file: c.pem, key_file: k.pem}}\ngrpc: {tls: {cert_file: c, key_file: k, client_ca_file: ca, client_roles: {bot: admin}}}\n' \
  > "$work/seeds/config/tls.yaml"
# A model file: trained by this build's debriefctl on a few labelled lines.
{
  echo "text,category"
  for i in 1 2 3 4 5 6; do
    echo "I was charged twice $i,billing-charge"
    echo "the app crashes again $i,app-crash"
  done
} > "$work/train.csv"
if [ -x "$build/plugin/debriefctl" ]; then
  "$build/plugin/debriefctl" train --data "$work/train.csv" \
    --taxonomy "$root/deploy/taxonomy/default.yaml" --out "$work/seeds/model/model.bin" \
    >/dev/null 2>&1 || echo "fuzz: no model seed (debriefctl train failed); the model fuzzer starts empty"
fi
# Credentials: session tokens' and JWTs' shapes, an RT sidebar proof.
printf 'ds1.eyJuIjoiYW5uIiwiciI6ImFnZW50IiwiaCI6IiIsImkiOmZhbHNlLCJlIjoxOTk5OTk5OTk5fQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
  > "$work/seeds/credentials/session"
printf 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiI0MiIsImV4cCI6MTk5OTk5OTk5OSwiY29udGV4dCI6e319.c2ln' \
  > "$work/seeds/credentials/jwt"
printf 'ann@example.com\n1001\n1999999999\n00aa' > "$work/seeds/credentials/rt"

status=0
for f in "${fuzzers[@]}"; do
  corpus="$work/corpus/$f"
  mkdir -p "$corpus"
  echo "fuzz: $f for ${seconds}s"
  if ! "$build/tests/fuzz/debrief_${f}_fuzzer" "$corpus" "$work/seeds/$f" \
      -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/$f-" >"$work/$f.log" 2>&1; then
    tail -n 60 "$work/$f.log" >&2
    echo "fuzz: $f found a problem; reproducer in $work/artifacts/" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$work/$f.log" | sed "s/^/fuzz: $f /"
  fi
done
exit $status
