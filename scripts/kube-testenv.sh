#!/usr/bin/env bash
# kube-testenv.sh — a real Kubernetes control plane on loopback for the deploy tests.
#
#   scripts/kube-testenv.sh build            build the binaries into the cache once (cold: minutes; then instant)
#   scripts/kube-testenv.sh bindir           print the cache's bin directory (exit 1 when not built)
#   scripts/kube-testenv.sh start [DIR]      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler
#                                            and kwok (one fake node) on free loopback ports; print DIR/kubeconfig
#   scripts/kube-testenv.sh stop [DIR]       stop what start started in DIR and remove it
#
# Binaries come from the Go module proxy through wrapper modules (k8s.io/kubernetes and etcd carry replace
# directives, so `go install` refuses them; OpenTofu too): see shared/reference/eks-deploy.md §1 and §4.
# The cache is keyed on the versions: $PORTAL_KUBE_CACHE (default ~/.cache/portal-kube)/<key>/bin.
#
# start reads:
#   KUBE_TESTENV_APISERVER_EXTRA   more kube-apiserver flags (e.g. a token webhook config)
#   KUBE_TESTENV_NODES             how many kwok nodes (default 1)
# and writes DIR/kubeconfig (cluster-admin through a static token), DIR/env (ports, token, CA path) and
# DIR/logs/*.log. Nothing listens off loopback.
set -Eeuo pipefail

K8S_VERSION=1.34.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
TOFU_VERSION=1.12.6
KEY="k8s${K8S_VERSION}-etcd${ETCD_VERSION}-kwok${KWOK_VERSION}-tofu${TOFU_VERSION}"
CACHE=${PORTAL_KUBE_CACHE:-$HOME/.cache/portal-kube}/$KEY
BIN=$CACHE/bin

log() { echo "kube-testenv: $*" >&2; }

built() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok tofu; do
    [ -x "$BIN/$b" ] || return 1
  done
  [ -f "$CACHE/kwok-stages.yaml" ]
}

# build_kube builds the three control-plane binaries from k8s.io/kubernetes with its staging modules
# re-pointed at their published tags.
build_kube() {
  local w=$CACHE/src/kube staging=0.${K8S_VERSION#1.}
  mkdir -p "$w" && cd "$w"
  [ -f go.mod ] || go mod init k8sbins >/dev/null 2>&1
  local mod m
  mod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$mod"); do
    go mod edit "-replace=$m=$m@v$staging"
  done
  go mod edit "-require=k8s.io/kubernetes@v$K8S_VERSION"
  cat > tools.go <<'EOT'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOT
  go mod tidy >/dev/null
  local v="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  v="$v -X k8s.io/component-base/version.gitMinor=${staging#0.}"
  v="$v -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
  v="$v -X k8s.io/client-go/pkg/version.gitMinor=${staging#0.}"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$BIN/$c" ] && continue
    local t0=$SECONDS
    go build -trimpath -ldflags "-s -w $v" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$BIN/$c.tmp" "$BIN/$c"
    log "built $c in $((SECONDS - t0))s"
  done
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return 0
  local w=$CACHE/src/etcd t0=$SECONDS
  mkdir -p "$w" && cd "$w"
  cat > go.mod <<EOF
module etcdbuild

go 1.24

require (
	go.etcd.io/etcd/server/v3 v$ETCD_VERSION
	go.etcd.io/etcd/api/v3 v$ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 v$ETCD_VERSION
	go.etcd.io/etcd/client/v3 v$ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 v$ETCD_VERSION
)
EOF
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy >/dev/null
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
  log "built etcd in $((SECONDS - t0))s"
}

build_kwok() {
  if [ ! -x "$BIN/kwok" ]; then
    local t0=$SECONDS
    GOBIN=$CACHE/src/kwok-bin go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
    mv "$CACHE/src/kwok-bin/kwok" "$BIN/kwok"
    log "built kwok in $((SECONDS - t0))s"
  fi
  # kwok v0.8 exits with "no stages found" unless given stages; they ship in the module zip.
  local s f
  s=$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage
  [ -d "$s" ] || go mod download "sigs.k8s.io/kwok@v$KWOK_VERSION"
  for f in "$s"/node/fast/node-initialize.yaml "$s"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "$s"/pod/fast/pod-ready.yaml "$s"/pod/fast/pod-complete.yaml "$s"/pod/fast/pod-delete.yaml; do
    echo ---
    cat "$f"
  done > "$CACHE/kwok-stages.yaml"
}

build_tofu() {
  [ -x "$BIN/tofu" ] && return 0
  local w=$CACHE/src/tofu t0=$SECONDS
  mkdir -p "$w" && cd "$w"
  cat > go.mod <<EOF
module tofubuild

go 1.26.6

require github.com/opentofu/opentofu v$TOFU_VERSION

replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
EOF
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/opentofu/opentofu/cmd/tofu"\n' > tools.go
  go mod tidy >/dev/null
  go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$BIN/tofu.tmp" github.com/opentofu/opentofu/cmd/tofu
  mv "$BIN/tofu.tmp" "$BIN/tofu"
  log "built tofu in $((SECONDS - t0))s"
}

cmd_build() {
  if built; then
    echo "$BIN"
    return 0
  fi
  mkdir -p "$BIN"
  # One build at a time: CI and a developer may both ask.
  exec 9>"$CACHE/.build.lock"
  flock 9
  if built; then
    echo "$BIN"
    return 0
  fi
  local t0=$SECONDS
  export GOWORK=off GOFLAGS=-mod=mod
  (build_kube)
  (build_etcd)
  (build_kwok)
  (build_tofu)
  rm -rf "$CACHE/src"
  log "binaries ready in $BIN ($((SECONDS - t0))s)"
  echo "$BIN"
}

cmd_bindir() {
  if built; then
    echo "$BIN"
  else
    log "binaries not built: run scripts/kube-testenv.sh build"
    return 1
  fi
}

# free_port prints a loopback TCP port nobody listens on, below the ephemeral range (32768+), where outgoing
# connections would otherwise take it between the check and the bind.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "$what not ready after ${limit}s; logs in $D/logs"
      tail -n 20 "$D"/logs/*.log >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

cmd_start() {
  cmd_bindir >/dev/null
  D=${1:-$(mktemp -d /tmp/portal-kube.XXXXXX)}
  mkdir -p "$D"/{pki,etcd,certs,logs}
  D=$(cd "$D" && pwd)
  # Whatever fails from here on stops what was started, so no process outlives a failed start.
  trap 'cmd_stop_procs "$D"' ERR
  local etcd_port peer_port api_port kwok_port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  kwok_port=$(free_port)

  openssl genrsa -out "$D/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$D/pki/sa.key" -pubout -out "$D/pki/sa.pub" 2>/dev/null
  local token
  token=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,admin,admin,\"system:masters\"" > "$D/pki/tokens.csv"

  "$BIN/etcd" --name local --data-dir "$D/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "local=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level=warn \
    >"$D/logs/etcd.log" 2>&1 &
  echo $! > "$D/etcd.pid"

  # shellcheck disable=SC2086 # KUBE_TESTENV_APISERVER_EXTRA is a list of flags
  "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" --bind-address=127.0.0.1 \
    --secure-port="$api_port" --cert-dir="$D/certs" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$D/pki/sa.pub" --service-account-signing-key-file="$D/pki/sa.key" \
    --token-auth-file="$D/pki/tokens.csv" --authorization-mode=RBAC --service-cluster-ip-range=10.0.0.0/24 \
    --endpoint-reconciler-type=none ${KUBE_TESTENV_APISERVER_EXTRA:-} \
    >"$D/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$D/kube-apiserver.pid"
  wait_for 180 kube-apiserver curl -skf -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/readyz"

  local kc=$D/kubeconfig ca=$D/certs/apiserver.crt
  cat > "$kc" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(base64 -w0 < "$ca")
users:
- name: admin
  user:
    token: $token
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
EOF
  chmod 600 "$kc"

  local k="--kubeconfig=$kc --authentication-kubeconfig=$kc --authorization-kubeconfig=$kc --bind-address=127.0.0.1 --leader-elect=false"
  # shellcheck disable=SC2086
  "$BIN/kube-controller-manager" $k --secure-port=0 --service-account-private-key-file="$D/pki/sa.key" \
    --root-ca-file="$ca" \
    >"$D/logs/kube-controller-manager.log" 2>&1 &
  echo $! > "$D/kube-controller-manager.pid"
  # shellcheck disable=SC2086
  "$BIN/kube-scheduler" $k --secure-port=0 >"$D/logs/kube-scheduler.log" 2>&1 &
  echo $! > "$D/kube-scheduler.pid"
  "$BIN/kwok" --config="$CACHE/kwok-stages.yaml" --kubeconfig="$kc" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --cidr=10.0.0.1/24 --node-ip=10.0.0.1 \
    --node-lease-duration-seconds=40 --server-address="127.0.0.1:$kwok_port" \
    >"$D/logs/kwok.log" 2>&1 &
  echo $! > "$D/kwok.pid"

  local n
  for n in $(seq 1 "${KUBE_TESTENV_NODES:-1}"); do
    curl -skf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      "https://127.0.0.1:$api_port/api/v1/nodes" -d @- >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-$n","annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"kubernetes.io/hostname":"kwok-node-$n","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok",
 "topology.kubernetes.io/zone":"us-east-1a"}},
 "spec":{},"status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},"capacity":{"cpu":"32","memory":"256Gi","pods":"110"}}}
EOF
  done
  node_ready() {
    curl -skf -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/api/v1/nodes/kwok-node-1" |
      tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
  }
  sa_ready() { curl -skf -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/api/v1/namespaces/default/serviceaccounts/default"; }
  wait_for 180 "kwok node" node_ready
  wait_for 180 "kube-controller-manager (default service account)" sa_ready

  cat > "$D/env" <<EOF
KUBE_TESTENV_DIR=$D
KUBE_TESTENV_KUBECONFIG=$kc
KUBE_TESTENV_SERVER=https://127.0.0.1:$api_port
KUBE_TESTENV_TOKEN=$token
KUBE_TESTENV_CA=$ca
KUBE_TESTENV_ETCD=http://127.0.0.1:$etcd_port
EOF
  echo "$kc"
}

cmd_stop() {
  local d=${1:-}
  [ -n "$d" ] || { log "usage: stop DIR"; return 2; }
  [ -d "$d" ] || return 0
  cmd_stop_procs "$d"
  rm -rf "$d"
}

cmd_stop_procs() {
  local d=$1 p pid
  for p in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if [ -f "$d/$p.pid" ]; then
      pid=$(cat "$d/$p.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

case "${1:-}" in
build) cmd_build ;;
bindir) cmd_bindir ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
*)
  echo "usage: $0 build|bindir|start [DIR]|stop DIR" >&2
  exit 2
  ;;
esac
