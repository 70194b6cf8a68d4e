#!/usr/bin/env bash
# Runs the shared kube-probe against kube-sandbox (started here on 127.0.0.1, stopped by PID
# on exit) and fails unless every check passes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
sandbox_pid=""
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet -p kube-sandbox --manifest-path "$root/Cargo.toml"
"$root/target/debug/kube-sandbox" --port 0 --kubeconfig "$work/kubeconfig" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
[ -s "$work/kubeconfig" ] || { echo "kube-sandbox did not start:" >&2; cat "$work/sandbox.log" >&2; exit 2; }

"$root/scripts/probe.sh" "$work/kubeconfig"
