#!/usr/bin/env bash
# The real kube-apiserver tier: builds (or reuses) kube-apiserver and etcd, starts them on
# 127.0.0.1 with RBAC and token authentication, and runs against them
#   1. the shared kube-probe,
#   2. the controller integration tests, unchanged (CDE_TEST_KUBECONFIG points them here),
#   3. `kubectl kustomize deploy/ | kubectl apply --dry-run=server -f -`.
# The admission, printer-column and RBAC tests (tests/real_server_*.rs) start servers of their
# own and run inside `cargo test` whenever KUBE_ENVTEST_BIN_DIR is set.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
KUBE_ENVTEST_BIN_DIR="$(kube-envtest/build-binaries.sh)"
export KUBE_ENVTEST_BIN_DIR

work=$(mktemp -d)
envtest_pid=""
cleanup() {
  if [ -n "$envtest_pid" ]; then kill -TERM "$envtest_pid" 2>/dev/null || true; wait "$envtest_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet -p kube-envtest
target/debug/kube-envtest up --kubeconfig "$work/kubeconfig" >"$work/envtest.log" 2>&1 &
envtest_pid=$!
for _ in $(seq 1 180); do grep -q '^Ctrl-C stops both' "$work/envtest.log" 2>/dev/null && break; sleep 0.5; done
grep -q '^Ctrl-C stops both' "$work/envtest.log" || { echo "kube-envtest did not start:" >&2; cat "$work/envtest.log" >&2; exit 2; }
cat "$work/envtest.log"

echo "== kube-probe against kube-apiserver"
scripts/probe.sh "$work/kubeconfig"

echo "== controller integration tests against kube-apiserver"
CDE_TEST_KUBECONFIG="$work/kubeconfig" cargo test --test controller_converges --test controller_behaviour

echo "== kustomize build of deploy/, server-side dry run"
command -v kubectl >/dev/null || { echo "kubectl is needed for the dry run" >&2; exit 2; }
# A server-side dry run does not create the namespace its namespaced objects go into.
KUBECONFIG="$work/kubeconfig" kubectl create namespace cde-operator
kubectl kustomize deploy/ | KUBECONFIG="$work/kubeconfig" kubectl apply --dry-run=server -f -
