#!/usr/bin/env bash
# Flag benchmark: in-process evaluation (Portal's compiled evaluator beside flagd core v0.16.1's, same flags and
# contexts, one `go test -bench` run), then OFREP single-flag evaluation under wrk against a portal built from this
# tree: temporary SQLite data dir, free loopback port, BillPay's seed flags, rate limit off, 16 connections, a
# static and a targeting flag (and a percentage rollout).
# Usage: bench/flags/run.sh [wrk_seconds=20] [connections=16] [go_bench_count=5]
# Run it on an otherwise quiet machine: wrk and the portal share its cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-20}; CONN=${2:-16}; COUNT=${3:-5}
KEY=bench-production-server-key-0123456789

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== in-process evaluation (go test -bench, count=$COUNT)"
go test -run '^$' -bench . -benchmem -count "$COUNT" ./bench/flags | tee /tmp/flags-bench.$$.txt | grep -E '^Benchmark' >/dev/null
# Median ns/op per benchmark across the runs, Portal and flagd side by side.
awk '/^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); v[name]=v[name] " " $3; a[name]=$5; al[name]=$7 }
  END {
    for (k in v) { n=split(v[k], xs, " "); asort(xs); med[k]=xs[int((n+1)/2)] }
    printf "%-48s %12s %10s %10s\n", "benchmark", "median ns/op", "B/op", "allocs/op"
    m=asorti(med, keys); for (i=1; i<=m; i++) printf "%-48s %12s %10s %10s\n", keys[i], med[keys[i]], a[keys[i]], al[keys[i]]
  }' /tmp/flags-bench.$$.txt
rm -f /tmp/flags-bench.$$.txt

if ! command -v wrk >/dev/null; then
  echo "== installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
go build -o "$TMP/portal" ./cmd/portal
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
cat > "$TMP/portal.yaml" <<YAML
listen: 127.0.0.1:$PORT
dataDir: $TMP/data
log: {level: warn}
flags:
  seedDir: $PWD/flags
  environments:
    - {name: dev}
    - {name: staging}
    - {name: production, protected: true, serverKeys: [$KEY]}
YAML
# The per-key limit (1,000/s by default) would turn the load test into a rate-limit test.
PORTAL_FLAGS_RATE_LIMIT_PER_SECOND=0 "$TMP/portal" serve --config "$TMP/portal.yaml" > "$TMP/portal.log" 2>&1 &
PID=$!
for _ in $(seq 500); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.01; done
curl -sf "$BASE/readyz" >/dev/null || { echo "portal did not become ready:"; cat "$TMP/portal.log"; exit 1; }

for flag in refunds-enabled bulk-refunds new-checkout-flow; do
  echo "== $flag: $(curl -sf -X POST -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
    -d '{"context":{"targetingKey":"user-1008","email":"staff8@billpay.example","roles":["admin"],"country":"US"}}' \
    "$BASE/ofrep/v1/evaluate/flags/$flag")"
done
# Warm up (connections, JIT-free but GC pacing and caches), then measure.
wrk -t1 -c"$CONN" -d3s -s bench/flags/ofrep.lua -H "X-API-Key: $KEY" "$BASE/ofrep/v1/evaluate/flags/refunds-enabled" >/dev/null
for flag in refunds-enabled bulk-refunds new-checkout-flow; do
  echo "== wrk POST /ofrep/v1/evaluate/flags/$flag, ${DUR}s, $CONN connections, 1 thread"
  wrk -t1 -c"$CONN" -d"${DUR}s" --latency -s bench/flags/ofrep.lua -H "X-API-Key: $KEY" "$BASE/ofrep/v1/evaluate/flags/$flag" \
    | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors'
done
echo "== portal rss after load: $(( $(ps -o rss= -p "$PID") / 1024 )) MiB"
