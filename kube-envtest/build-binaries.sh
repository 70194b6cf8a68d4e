#!/usr/bin/env bash
# Builds the two binaries kube-envtest runs, or finds them already built, and prints the
# directory that holds them as the only line on stdout:
#
#   export KUBE_ENVTEST_BIN_DIR="$(kube-envtest/build-binaries.sh)"
#
#   kube-apiserver  built with the go command from the module k8s.io/kubernetes, inside the
#                   small Go module kube-envtest/apiserver/ (go.mod and go.sum are in git)
#   etcd            copied out of the Rust crate etcd-bin-vendored-linux-amd64 (a dependency of kube-envtest)
#
# Both land in ${CDE_ENVTEST_CACHE:-$HOME/.cache/cde-operator/envtest}/<kubernetes version>/,
# outside git. When both are there the script only prints the directory: it runs neither go
# nor cargo. A binary is written under a temporary name and renamed into place, so an
# interrupted build leaves nothing that looks finished.
#
# Environment:
#   CDE_ENVTEST_CACHE        cache root (default $HOME/.cache/cde-operator/envtest)
#   CDE_ENVTEST_K8S_VERSION  Kubernetes release to build (default: the k8s.io/kubernetes version
#                            that apiserver/go.mod requires). Another release rewrites
#                            apiserver/go.mod and go.sum; commit them, and update
#                            KUBERNETES_VERSION in src/binaries.rs to match.
#   GOTOOLCHAIN              passed to go unchanged; a release whose go.mod needs a newer Go than
#                            the machine's is built with `export GOTOOLCHAIN=go1.27.3`.
#
# Why the replace directives: k8s.io/kubernetes requires its staging modules (k8s.io/api,
# k8s.io/apimachinery, ...) at v0.0.0 and replaces them with directories of its own source
# tree. Replacements in a dependency's go.mod do not apply to the module that depends on it,
# and v0.0.0 is not published, so our module replaces each staging module with its published
# tag (Kubernetes v1.N.P ships staging tags v0.N.P). The list of staging modules is read from
# the go.mod of the release being built, never written by hand.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
module="$here/apiserver"
tool=k8s.io/kubernetes/cmd/kube-apiserver

log() { printf 'build-binaries: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The version our go.mod requires, from either `require k8s.io/kubernetes vX` or a require block.
required=$(awk '{ sub(/^[[:space:]]*require[[:space:]]+/, "") }
                $1 == "k8s.io/kubernetes" { print $2; exit }' "$module/go.mod")
version="${CDE_ENVTEST_K8S_VERSION:-$required}"
[[ "$version" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "not a Kubernetes release version: '$version'"
minor="${BASH_REMATCH[1]}"
staging_version="v0.${minor}.${BASH_REMATCH[2]}"

cache_root="${CDE_ENVTEST_CACHE:-${HOME:?set HOME or CDE_ENVTEST_CACHE}/.cache/cde-operator/envtest}"
dest="$cache_root/$version"
mkdir -p "$dest"

if [ ! -x "$dest/etcd" ]; then
  log "installing etcd from the etcd-bin-vendored-linux-amd64 crate into $dest"
  cargo run --quiet --manifest-path "$here/Cargo.toml" --bin kube-envtest -- install-etcd "$dest" >/dev/null
fi

if [ ! -x "$dest/kube-apiserver" ]; then
  command -v go >/dev/null || die "go is not installed; it is needed to build kube-apiserver"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT

  # Outside any module, so the download does not depend on the state of our go.mod.
  log "fetching k8s.io/kubernetes@$version (the go command's configured module proxy)"
  (cd "$work" && go mod download -json "k8s.io/kubernetes@$version") >"$work/download.json"
  upstream_go_mod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p' "$work/download.json")
  upstream_info=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",*$/\1/p' "$work/download.json")
  [ -f "$upstream_go_mod" ] || die "go mod download did not report the go.mod of k8s.io/kubernetes@$version"

  # Every module the release replaces with a directory under ./staging/src/.
  mapfile -t staging < <(awk '{ sub(/^[[:space:]]*replace[[:space:]]+/, "") }
                              $2 == "=>" && $3 ~ /^\.\/staging\/src\// { print $1 }' "$upstream_go_mod")
  [ "${#staging[@]}" -gt 0 ] || die "found no staging modules in $upstream_go_mod"
  log "${#staging[@]} staging modules, replaced with their $staging_version tags"

  # Drop the replacements of modules that are no longer staged (a release may remove one) and
  # set the others in place. Unchanged input leaves go.mod byte for byte as it was.
  edits=()
  wanted=" ${staging[*]} "
  while read -r old; do
    [[ "$wanted" == *" $old "* ]] || edits+=("-dropreplace=$old")
  done < <(awk '{ sub(/^[[:space:]]*replace[[:space:]]+/, "") } $2 == "=>" { print $1 }' "$module/go.mod")
  edits+=("-require=k8s.io/kubernetes@$version" "-tool=$tool")
  for path in "${staging[@]}"; do edits+=("-replace=$path=$path@$staging_version"); done

  cd "$module"
  before=$(cksum <go.mod)
  go mod edit "${edits[@]}"
  if [ ! -f go.sum ] || [ "$before" != "$(cksum <go.mod)" ]; then
    log "go.mod changed: go mod tidy (commit apiserver/go.mod and apiserver/go.sum)"
    go mod tidy
  fi

  # The version fields a release build stamps in (what /version and --version report); the
  # date is the release's own commit time, so the same release builds the same binary.
  build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$upstream_info")
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
  done

  log "building kube-apiserver $version (several minutes on two cores when nothing is cached)"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dest/.kube-apiserver.partial" "$tool"
  mv "$dest/.kube-apiserver.partial" "$dest/kube-apiserver"
  log "$("$dest/kube-apiserver" --version)"
fi

log "kube-apiserver and etcd are in $dest"
printf '%s\n' "$dest"
