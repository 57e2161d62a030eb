#!/usr/bin/env bash
# Find or build the Pulumi CLI this project runs on, and print the directory that holds it.
#
#   pulumi-cli/install.sh            -> prints e.g. /root/.cache/aovpn-iac/pulumi/v3.276.0-1a2b3c4d/bin
#
# 1. A `pulumi` on PATH is used when it is at least the version of the `pulumi` Python SDK pinned in
#    requirements.txt and a Python language host (pulumi-language-python) sits beside it or on PATH.
# 2. Otherwise the CLI of the release pinned in pulumi-cli/go.mod is built from its Go modules, with the
#    project's Python language host (pulumi-cli/language-python), into a cache outside the work tree,
#    once per release and machine: ${AOVPN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aovpn-iac}.
#    The SDK's two helper scripts (the program executor and the dynamic-provider plugin) are copied from
#    the SDK module beside the binaries, with exec bits (the module cache has none).
# Progress goes to stderr; only the directory goes to stdout. Exit 1 with the reason when neither works.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

die() { echo "pulumi-cli: $*" >&2; exit 1; }

# version_ge A B: A >= B for dotted versions (a leading v is ignored).
version_ge() {
  [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n1)" = "${2#v}" ]
}

release=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2}' "$here/go.mod")
[ -n "$release" ] || die "no github.com/pulumi/pulumi/pkg/v3 requirement in $here/go.mod"
sdk=$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' "$root/requirements.txt")
[ -n "$sdk" ] || die "no pulumi==X pin in requirements.txt"
version_ge "$release" "$sdk" || die "pulumi-cli/go.mod pins $release, older than the pulumi SDK $sdk in requirements.txt"

# 1. A suitable CLI already on PATH (not the one this script built: that is handled below).
if [ -z "${AOVPN_BUILD_PULUMI:-}" ] && ambient=$(command -v pulumi 2>/dev/null); then
  ambient_dir=$(dirname "$(readlink -f "$ambient")")
  have=$("$ambient" version 2>/dev/null | tr -d '[:space:]' || true)
  if [ -n "$have" ] && version_ge "$have" "$sdk"; then
    if [ -x "$ambient_dir/pulumi-language-python" ] || command -v pulumi-language-python >/dev/null 2>&1; then
      echo "pulumi-cli: using $ambient ($have)" >&2
      echo "$ambient_dir"
      exit 0
    fi
    echo "pulumi-cli: $ambient ($have) has no pulumi-language-python beside it or on PATH; building $release" >&2
  elif [ -n "$have" ]; then
    echo "pulumi-cli: $ambient is $have, older than the SDK $sdk; building $release" >&2
  fi
fi

# 2. The pinned release, built once per machine. The key covers everything the build reads.
key=$(cat "$here/go.mod" "$here/go.sum" "$here/language-python/main.go" "$0" | sha256sum | cut -c1-12)
cache=${AOVPN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aovpn-iac}
dest="$cache/pulumi/$release-$key"
if [ -x "$dest/bin/pulumi" ] && [ "$("$dest/bin/pulumi" version 2>/dev/null)" = "$release" ]; then
  echo "$dest/bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "the Pulumi CLI $release must be built here, and that needs Go (go 1.26 or newer on PATH); none was found"
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
gomod_go=$(awk '$1 == "go" {print $2}' "$here/go.mod")
version_ge "$(go env GOVERSION | sed 's/^go//')" "$gomod_go" ||
  die "building the Pulumi CLI $release needs Go $gomod_go; this machine has $(go env GOVERSION)"

echo "pulumi-cli: building the Pulumi CLI $release and its Python language host into $dest (once per machine; several minutes)" >&2
mkdir -p "$cache/pulumi"
work=$(mktemp -d "$cache/pulumi/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
started=$(date +%s)
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$release"
(
  cd "$here"
  go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$work/bin/pulumi" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  go build -trimpath -ldflags "-s -w -X main.version=$release" -o "$work/bin/pulumi-language-python" \
    ./language-python
) >&2 || die "go build of the Pulumi CLI $release failed (output above)"

sdk_dir=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
[ -d "$sdk_dir/python" ] || die "the SDK module at $sdk_dir has no python/ folder"
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$work/bin/"
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$work/bin/"

built=$("$work/bin/pulumi" version 2>/dev/null || true)
[ "$built" = "$release" ] || die "the built CLI reports '$built', expected $release"
rm -rf "$dest"
mv "$work" "$dest"
trap - EXIT
echo "pulumi-cli: built $release in $(( $(date +%s) - started )) s" >&2
echo "$dest/bin"
