#!/usr/bin/env bash
# install-registry.sh — the tools behind the local chart servers (devstack/registry.py, tests/e2e/repos.py).
#
# Contract:
#   * /usr/bin/docker-registry from Debian's `docker-registry` package (CNCF distribution 2.8.x), the OCI
#     registry the local stack and the e2e tests run as their own process on loopback. The package's own
#     systemd service is irrelevant (we never start it: a policy-rc.d
#     keeps the maintainer scripts from starting it during the install).
#   * `htpasswd` (apache2-utils): bcrypt entries for the registry's htpasswd auth.
#   * `gpg` (gnupg): keys for signed charts (helm package --sign, helm verify).
#   * `git` (its /usr/lib/git-core/git-http-backend): the local Git server runtimes read (devstack/gitserver.py).
#   * Idempotent and non-interactive. When all three exist it exits 0 at once, without touching apt.
#   * apt-get runs `update` only when an install fails for want of package lists, and installs with
#     --no-upgrade --no-install-recommends (never upgrades unrelated tools).
set -euo pipefail

# --- fast path: `make test` and `make run` call this every time ----------------------------------
if [ -x /usr/bin/docker-registry ] && command -v htpasswd >/dev/null 2>&1 && command -v gpg >/dev/null 2>&1 \
  && [ -x /usr/lib/git-core/git-http-backend ]; then
  exit 0
fi

say() { printf '[install-registry] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root for apt-get (run with sudo)"
export DEBIAN_FRONTEND=noninteractive

PKGS=(docker-registry apache2-utils gnupg git)
todo=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || todo+=("$p")
done

install() {
  # policy-rc.d 101: no service is started by the package's maintainer scripts (we run our own process).
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && created=1
  fi
  local rc=0
  apt-get install -y -qq --no-upgrade --no-install-recommends "${todo[@]}" >/dev/null 2>&1 || rc=$?
  [ "$created" = 1 ] && rm -f "$policy"
  return "$rc"
}

if [ "${#todo[@]}" -gt 0 ]; then
  say "apt-get install ${todo[*]}"
  if ! install; then
    say "apt-get update (install failed; package lists may be missing)"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    install || die "apt-get install ${todo[*]} failed"
  fi
fi

[ -x /usr/bin/docker-registry ] || die "/usr/bin/docker-registry missing after installing docker-registry"
command -v htpasswd >/dev/null || die "htpasswd missing after installing apache2-utils"
command -v gpg >/dev/null || die "gpg missing after installing gnupg"
say "ready: $(/usr/bin/docker-registry --version 2>&1 | head -n1)"
