#!/usr/bin/env bash
# Runs the shared kube-probe conformance check against kube-sandbox and fails unless every
# check passes. Builds the probe outside the read-only shared folder.
#
#   scripts/probe-sandbox.sh            # prints the probe's output; exit 0 only on full marks
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
probe_src="$root/../shared/kube-probe"
probe_target="${KUBE_PROBE_TARGET_DIR:-$root/target/kube-probe}"
work=$(mktemp -d)
sandbox_pid=""
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

[ -f "$probe_src/Cargo.toml" ] || { echo "kube-probe not found at $probe_src" >&2; exit 2; }
CARGO_TARGET_DIR="$probe_target" cargo build --release --quiet --manifest-path "$probe_src/Cargo.toml"
cargo build --quiet -p kube-sandbox --manifest-path "$root/Cargo.toml"

"$root/target/debug/kube-sandbox" --port 0 --kubeconfig "$work/kubeconfig" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
[ -s "$work/kubeconfig" ] || { echo "kube-sandbox did not start:" >&2; cat "$work/sandbox.log" >&2; exit 2; }

KUBECONFIG="$work/kubeconfig" timeout 300 "$probe_target/release/kube5-probe" | tee "$work/probe.out"
tail -n 1 "$work/probe.out" | grep -Eq '^SUMMARY [0-9]+ passed, 0 failed$'
