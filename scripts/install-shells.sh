#!/usr/bin/env bash
# install-shells.sh — the shells whose tab completion tests/e2e/test_cli_completion.py drives (bash, zsh, fish).
#
# Contract:
#   * Debian's bash, zsh and fish packages; the CLI's completion itself comes from argcomplete (pip).
#   * Idempotent and non-interactive. When all three exist it exits 0 at once, without touching apt.
#   * apt-get runs `update` only when an install fails for want of package lists, and installs with
#     --no-upgrade --no-install-recommends (never upgrades unrelated tools).
set -euo pipefail

if command -v bash >/dev/null 2>&1 && command -v zsh >/dev/null 2>&1 && command -v fish >/dev/null 2>&1; then
  exit 0
fi

say() { printf '[install-shells] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root for apt-get (run with sudo), or install bash, zsh and fish yourself"
export DEBIAN_FRONTEND=noninteractive

todo=()
for p in bash zsh fish; do
  command -v "$p" >/dev/null 2>&1 || todo+=("$p")
done

install() { apt-get install -y -qq --no-upgrade --no-install-recommends "${todo[@]}" >/dev/null 2>&1; }

say "apt-get install ${todo[*]}"
if ! install; then
  say "apt-get update (install failed; package lists may be missing)"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  install || die "apt-get install ${todo[*]} failed"
fi
for p in bash zsh fish; do
  command -v "$p" >/dev/null || die "$p missing after apt-get install"
done
say "ready: $(zsh --version 2>&1 | head -n1); $(fish --version 2>&1 | head -n1)"
