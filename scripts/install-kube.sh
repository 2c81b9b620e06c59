#!/usr/bin/env bash
# install-kube.sh — make `etcd` and the Kubernetes control plane binaries available for the local dev stack.
#
# Contract:
#   * etcd comes from Debian's `etcd-server` package (on PATH afterwards).
#   * kube-apiserver, kube-controller-manager and kube-scheduler v1.20.2 are compiled from Debian bookworm's
#     `kubernetes` source package and cached in
#       ${CHARTHOUSE_CACHE:-$HOME/.cache/charthouse}/kube/bin/
#     (devstack/kube.py looks there). Nothing is downloaded from outside the Debian archive. Only the missing
#     binaries are built, from one fetch of the source; the controllers are built without the in-tree cloud
#     providers (`providerless`), which nothing on loopback uses and which would double their build time.
#   * Idempotent and non-interactive. When every binary exists it exits 0 at once, without touching apt.
#   * apt-get runs `update` at most once and installs with --no-upgrade (never upgrades unrelated tools).
#   * Progress goes to stderr; full build logs go to .../kube/logs/.
#
# Knobs: CHARTHOUSE_CACHE (cache root), KUBE_KEEP_BUILD=1 (keep the extracted source tree after a build).
set -euo pipefail

CACHE_ROOT=${CHARTHOUSE_CACHE:-$HOME/.cache/charthouse}
KUBE_DIR=$CACHE_ROOT/kube
BIN_DIR=$KUBE_DIR/bin
APISERVER=$BIN_DIR/kube-apiserver
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler)
KUBE_VERSION=v1.20.2
# Debian bookworm ships 1.20.2 under this (odd) version string. A later Debian revision of the same upstream
# code (a new +debNuM security upload) is accepted with a notice; anything else fails loudly.
DEB_SRC_VERSION=${KUBE_DEB_SRC_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}
DEB_SRC_UPSTREAM='+really1.20.2-'

# etcd-server: the datastore. golang-go/make/rsync: the upstream build (hack/ scripts rsync generated code).
# dpkg-dev: apt-get source / dpkg-source. The two golang-github-* packages: see swap_vendored_reflect2.
RUNTIME_PKGS=(etcd-server)
BUILD_PKGS=(golang-go make rsync dpkg-dev golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)

T0=$SECONDS
say() { printf '[install-kube %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# --- fast path ------------------------------------------------------------------------------------
# The common case (binaries already there) must cost no apt call: `make test` runs this every time.
missing_components() { # prints the components from COMPONENTS that are not cached yet
  local c
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN_DIR/$c" ] || echo "$c"; done
}
if [ -z "$(missing_components)" ] && command -v etcd >/dev/null 2>&1; then
  exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root for apt-get (run with sudo)"
export DEBIAN_FRONTEND=noninteractive

# --- apt ------------------------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
  [ "$APT_UPDATED" = 1 ] && return
  say "apt-get update"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  APT_UPDATED=1
}

missing_pkgs() { # prints the packages from "$@" that are not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

apt_install() { # installs the missing ones among "$@"
  local -a todo
  mapfile -t todo < <(missing_pkgs "$@")
  [ "${#todo[@]}" = 0 ] && return
  # A fresh image may have empty package lists: update first rather than fail on "no installation candidate".
  apt_update_once
  say "apt-get install ${todo[*]}"
  apt-get install -y -qq --no-upgrade --no-install-recommends "${todo[@]}" >/dev/null \
    || die "apt-get install ${todo[*]} failed"
}

# `apt-get source` needs deb-src entries. Derive them from the configured binary sources so the mirror
# stays whatever the machine already uses.
ensure_deb_src() {
  if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Entry present but its index may never have been fetched.
    [ -n "$(apt-cache showsrc kubernetes 2>/dev/null)" ] || apt_update_once
    return
  fi
  local out=/etc/apt/sources.list.d/charthouse-deb-src
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -E 's/^Types:.*$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$out.sources"
  elif grep -qsE '^deb ' /etc/apt/sources.list; then
    sed -nE 's/^deb /deb-src /p' /etc/apt/sources.list >"$out.list"
  else
    die "no Debian apt source found to derive a deb-src entry from"
  fi
  say "added deb-src entry ($out.*)"
  APT_UPDATED=0 # new index (Sources) must be fetched even if we already updated
  apt_update_once
}

# --- control plane build -------------------------------------------------------------------------
# kubernetes 1.20 vendors modern-go/reflect2 v1.0.1, whose linkname'd map iteration faults on Go >= 1.18:
# the apiserver crashes when it JSON-encodes an unstructured object (any custom resource). Debian packages
# reflect2 1.0.2 and json-iterator 1.1.12 (the pair upstream moved to for Go 1.18); use their sources.
swap_vendored_reflect2() { # $1 = kubernetes source tree
  local gocode=/usr/share/gocode/src/github.com src=$1 pkg
  for pkg in modern-go/reflect2 json-iterator/go; do
    [ -d "$gocode/$pkg" ] || die "missing $gocode/$pkg (Debian golang-github-* package)"
    rm -rf "${src:?}/vendor/github.com/$pkg"
    mkdir -p "$src/vendor/github.com/$pkg"
    find "$gocode/$pkg" -maxdepth 1 -type f \( -name '*.go' ! -name '*_test.go' \) \
      -exec cp -t "$src/vendor/github.com/$pkg/" {} +
  done
}

version_ldflags() { # stamps the version so `<component> --version` and /version say v1.20.2
  local flags="-s -w" pkg
  for pkg in component-base/version client-go/pkg/version; do
    pkg=k8s.io/kubernetes/vendor/k8s.io/$pkg
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=20"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=2021-01-13T00:00:00Z"
  done
  printf '%s' "$flags"
}

run_logged() { # $1 = log file, rest = command; on failure show the log tail
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "'$*' failed (full log: $log)"
  fi
}

pick_source_version() { # prints the source version to fetch: the pinned one, else a same-upstream revision
  local -a offered
  mapfile -t offered < <(apt-cache showsrc kubernetes 2>/dev/null | sed -n 's/^Version: //p')
  local v
  for v in "${offered[@]}"; do [ "$v" = "$DEB_SRC_VERSION" ] && { echo "$v"; return; }; done
  for v in "${offered[@]}"; do
    if [[ $v == *"$DEB_SRC_UPSTREAM"* ]]; then
      say "notice: pinned kubernetes=$DEB_SRC_VERSION not offered; using $v (same upstream 1.20.2)"
      echo "$v"; return
    fi
  done
  die "Debian source package kubernetes 1.20.2 not offered (got: ${offered[*]:-nothing})"
}

build_components() { # $@ = the components to build (a subset of COMPONENTS)
  local work=$KUBE_DIR/build logs=$KUBE_DIR/logs
  local gopath=$work/gopath tree=$work/gopath/src/k8s.io/kubernetes
  mkdir -p "$logs" "$BIN_DIR"
  rm -rf "$work"; mkdir -p "$work/dl" "$gopath/src/k8s.io"

  local version
  version=$(pick_source_version)
  say "fetching Debian source package kubernetes=$version"
  # apt verifies the files against the signed Sources index, so no extra checksum is needed here.
  (cd "$work/dl" && run_logged "$logs/apt-source.log" apt-get source --download-only "kubernetes=$version")
  local dsc
  dsc=$(find "$work/dl" -maxdepth 1 -name 'kubernetes_*.dsc' | head -n1)
  [ -n "$dsc" ] || die "no kubernetes .dsc downloaded"
  # Unpack straight into a GOPATH layout: 1.20 builds in GOPATH mode (module mode + vendor fails on Go 1.19).
  run_logged "$logs/dpkg-source.log" dpkg-source -x "$dsc" "$tree"
  swap_vendored_reflect2 "$tree"

  export GOCACHE=$work/gocache GOPROXY=off GOFLAGS='' CGO_ENABLED=0 GO111MODULE=off
  local c
  for c in "$@"; do
    if [ "$c" = kube-apiserver ]; then
      # Only the API server needs the generated OpenAPI code (it is not in the source tarball).
      say "make gen_openapi"
      (cd "$tree" && run_logged "$logs/gen_openapi.log" make gen_openapi)
      build_one "$tree" "$gopath" kube-apiserver "" "3-4 min on 2 cores"
    else
      # The Go build cache is shared: the scheduler reuses most of the controller-manager's packages.
      local took="about 1 min after the controller-manager"
      [ "$c" = kube-controller-manager ] && took="3-4 min on 2 cores"
      build_one "$tree" "$gopath" "$c" providerless "$took"
    fi
  done

  # The source tree and Go build cache (~2 GB together) are only useful for a rebuild, which is rare.
  [ "${KUBE_KEEP_BUILD:-0}" = 1 ] || rm -rf "$work"
}

build_one() { # $1 = source tree, $2 = GOPATH, $3 = component, $4 = build tags, $5 = expected duration
  local tree=$1 gopath=$2 c=$3 tags=$4
  say "go build $c with $(go env GOVERSION)${tags:+ (tags: $tags)} ($5)"
  local tmp=$BIN_DIR/.$c.tmp
  (cd "$tree" && GOPATH=$gopath run_logged "$KUBE_DIR/logs/go-build-$c.log" \
    go build -trimpath -tags "$tags" -ldflags "$(version_ldflags)" -o "$tmp" "k8s.io/kubernetes/cmd/$c")
  "$tmp" --version | grep -qx "Kubernetes $KUBE_VERSION" || die "built $c reports: $("$tmp" --version)"
  mv -f "$tmp" "$BIN_DIR/$c" # atomic: a half-written binary never sits at the cached path
}

main() {
  mkdir -p "$KUBE_DIR"
  # Serialise concurrent runs (e.g. parallel make targets): the second one waits, then takes the fast path.
  exec 9>"$KUBE_DIR/.install.lock"
  flock 9

  apt_install "${RUNTIME_PKGS[@]}"
  command -v etcd >/dev/null || die "etcd not on PATH after installing etcd-server"

  local -a todo
  mapfile -t todo < <(missing_components)
  if [ "${#todo[@]}" = 0 ]; then
    say "${COMPONENTS[*]} already cached"
  else
    apt_install "${BUILD_PKGS[@]}"
    ensure_deb_src
    build_components "${todo[@]}"
  fi
  say "ready: $(etcd --version | head -n1); $("$APISERVER" --version): ${COMPONENTS[*]} in $BIN_DIR"
}

main "$@"
