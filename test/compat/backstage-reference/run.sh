#!/usr/bin/env bash
# Runs the catalog compat suite against a real Backstage catalog backend
# (@backstage/plugin-catalog-backend, pinned in package.json) to check the suite itself:
# every test must pass here. Not part of CI; see ../README.md.
#
# Needs: node >= 20, npm, a PostgreSQL reachable with trust auth (PGHOST/PGPORT/PGUSER,
# default 127.0.0.1:5432 postgres) and psql. Uses the database "<prefix>catalog" and drops
# it first.
set -euo pipefail

# The suite's expectations follow Backstage, not Portal's deliberate deviations
# (PORTAL_DEVIATIONS in catalog/lib/fixture-model.mjs): both the count below and the tests.
export PORTAL_COMPAT_TARGET=backstage

here="$(cd "$(dirname "$0")" && pwd)"
compat="$(dirname "$here")"
fixtures="$compat/catalog/fixtures"
run="$here/.run"

backend_port="${BACKEND_PORT:-7077}"
http_port="${HTTP_PORT:-8089}"
pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"
pg_user="${PGUSER:-postgres}"
prefix="${DB_PREFIX:-portal_compat_ref_}"
token="compat-reference-token"

[ -d "$compat/node_modules" ] || (cd "$compat" && npm ci --no-audit --no-fund)
# --ignore-scripts: better-sqlite3 (unused here, the database is PostgreSQL) would try to
# download a prebuilt binary.
[ -d "$here/node_modules" ] || (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)

psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -qc "drop database if exists ${prefix}catalog" >/dev/null

mkdir -p "$run"
cat > "$run/app-config.yaml" <<YAML
backend:
  baseUrl: http://127.0.0.1:${backend_port}
  listen:
    host: 127.0.0.1
    port: ${backend_port}
  database:
    client: pg
    connection:
      host: ${pg_host}
      port: ${pg_port}
      user: ${pg_user}
    prefix: ${prefix}
  auth:
    externalAccess:
      - type: static
        options:
          token: ${token}
          subject: compat-suite
  reading:
    allow:
      - host: 127.0.0.1:${http_port}
catalog:
  rules:
    - allow: [Component, API, Location]
  locations:
    - type: file
      target: ${fixtures}/all.yaml
      rules:
        - allow: [Component, API, Resource, System, Domain, Group, User, Location]
YAML

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

node "$here/serve-fixtures.cjs" "$fixtures/http" "$http_port" &
pids+=($!)
(cd "$here" && exec node backend.cjs --config "$run/app-config.yaml") >"$run/backend.log" 2>&1 &
pids+=($!)

base="http://127.0.0.1:${backend_port}"
expected="$(cd "$compat" && node -e "import('./catalog/lib/fixture-model.mjs').then(m => console.log(m.STATIC_VISIBLE.length))")"
query="$base/api/catalog/entities/by-query?limit=0&filter=metadata.labels.portal.test%2Ffixture-set%3Dstatic"
echo "waiting for the fixture catalog (log: $run/backend.log)"
for _ in $(seq 1 240); do
  total="$(curl -fsS -H "Authorization: Bearer $token" "$query" 2>/dev/null | sed -n 's/.*"totalItems":\([0-9]*\).*/\1/p' || true)"
  [ "$total" = "$expected" ] && break
  sleep 0.5
done
[ "$total" = "$expected" ] || { echo "fixtures not ingested (totalItems=$total, expected $expected)"; tail -50 "$run/backend.log"; exit 1; }

cd "$compat"
PORTAL_BASE_URL="$base" PORTAL_TOKEN="$token" PORTAL_FIXTURE_HTTP="http://127.0.0.1:${http_port}" \
  node --test catalog/
