#!/usr/bin/env bash
# Runs the shared kube-probe conformance check against the API server of KUBECONFIG and
# fails unless every check passes. Builds the probe outside the read-only shared folder.
#
#   scripts/probe.sh /path/to/kubeconfig
set -euo pipefail

kubeconfig=${1:?usage: scripts/probe.sh KUBECONFIG}
root=$(cd "$(dirname "$0")/.." && pwd)
probe_src="$root/../shared/kube-probe"
probe_target="${KUBE_PROBE_TARGET_DIR:-$root/target/kube-probe}"

[ -f "$probe_src/Cargo.toml" ] || { echo "kube-probe not found at $probe_src" >&2; exit 2; }
CARGO_TARGET_DIR="$probe_target" cargo build --release --quiet --manifest-path "$probe_src/Cargo.toml"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
KUBECONFIG="$kubeconfig" timeout 300 "$probe_target/release/kube5-probe" | tee "$out"
tail -n 1 "$out" | grep -Eq '^SUMMARY [0-9]+ passed, 0 failed$'
