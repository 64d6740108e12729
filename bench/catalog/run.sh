#!/usr/bin/env bash
# Catalog benchmark: generate the N-entity catalog with the shared generator, start the portal on a
# fresh SQLite database, and print ingest time to fully queryable, resident memory (after the ingest, right
# after the load and once quiet), and wrk figures for
# by-name and the filtered by-query at 16 connections (the same requests as the Backstage harness in
# ../shared/bench/backstage, so the two can be run side by side).
# Usage: bench/catalog/run.sh [N=10000] [wrk_seconds=20] [connections=16]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000}; DUR=${2:-20}; CONN=${3:-16}
SHARED=${SHARED:-../shared}
OUT=bench/catalog/out/$N; mkdir -p "$OUT"
TOKEN=bench-static-token-0123456789; BASE=http://127.0.0.1:7007
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
[ -f "$OUT/catalog/meta.json" ] || node "$SHARED/bench/gen-catalog.mjs" "$N" "$OUT/catalog" > /dev/null
EXPECTED=$(node -p "require('./$OUT/catalog/meta.json').N + 2")   # + all.yaml's Location + the generated one
NCOMP=$(node -p "require('./$OUT/catalog/meta.json').counts.Component")
# Built as the release is (Makefile, build/image): static, without cgo.
CGO_ENABLED=0 go build -trimpath -o "$OUT/portal" ./cmd/portal
rm -rf "$OUT/data"
cat > "$OUT/portal.yaml" <<YAML
listen: 127.0.0.1:7007
dataDir: $PWD/$OUT/data
log: {level: warn}
server: {debugListen: "127.0.0.1:6060"}
auth:
  tokens: [{token: $TOKEN, subject: bench}]
catalog:
  processingInterval: 30m
  processingBatchSize: ${BATCH:-500}
  locations:
    - type: file
      target: $PWD/$OUT/catalog/all.yaml
      rules: [{allow: [Component, System, API, Resource, Location, Group, User, Domain]}]
YAML
if curl -s -o /dev/null "$BASE/healthz"; then echo "something already listens on $BASE; stop it first" >&2; exit 1; fi
t0=$(date +%s%3N)
"$OUT/portal" serve --config "$OUT/portal.yaml" > "$OUT/portal.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf "$BASE/readyz" >/dev/null; do sleep 0.01; done
tReady=$(date +%s%3N)
# The poll is curl and sed, every 20 ms: a Node.js process per poll took a sizeable share of the two cores
# from the ingest it was timing.
while :; do
  n=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/api/catalog/entities/by-query?limit=0" | sed -n 's/.*"totalItems":\([0-9]*\).*/\1/p')
  [ "${n:-0}" -ge "$EXPECTED" ] && break
  sleep 0.02
done
tAll=$(date +%s%3N)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$PID/stat")
echo "ingest: start→ready $((tReady - t0)) ms, start→all $EXPECTED entities queryable $((tAll - t0)) ms" \
  "(portal CPU $(( (utime + stime) * 1000 / $(getconf CLK_TCK) )) ms, peak resident $(awk '/VmHWM/{print int($2/1024)}' "/proc/$PID/status") MiB)"
rss() { echo "$(( $(ps -o rss= -p $PID) / 1024 )) MiB (anonymous $(awk '/^Anonymous/{print int($2/1024)}' "/proc/$PID/smaps_rollup") MiB, file-backed $(awk '/^Pss_File/{print int($2/1024)}' "/proc/$PID/smaps_rollup") MiB)"; }
# Not "settled" as the Backstage harness defines it (under 5 % of a core for 3 s): here the TechDocs
# checks of the 5,480 components that document `dir:.` keep the portal above that for minutes.
sleep 3
echo "rss 3 s after ingest: $(rss)"
echo "== wrk by-name (random of $NCOMP components), ${DUR}s, $CONN connections"
NCOMP=$NCOMP wrk -t1 -c"$CONN" -d"${DUR}s" --latency -s "$SHARED/bench/backstage/wrk-byname.lua" \
  -H "Authorization: Bearer $TOKEN" "$BASE" | tee "$OUT/wrk-byname.txt" | grep -E "Requests/sec|Latency|Non-2xx"
echo "== wrk by-query kind=component,spec.lifecycle=production limit=100, ${DUR}s, $CONN connections"
wrk -t1 -c"$CONN" -d"${DUR}s" --latency -s "$SHARED/bench/backstage/wrk-summary.lua" -H "Authorization: Bearer $TOKEN" \
  "$BASE/api/catalog/entities/by-query?filter=kind=component,spec.lifecycle=production&limit=100" \
  | tee "$OUT/wrk-byquery.txt" | grep -E "Requests/sec|Latency|Non-2xx"
echo "rss after load: $(rss)"
sleep 10
echo "rss 10 s after load: $(rss)"
