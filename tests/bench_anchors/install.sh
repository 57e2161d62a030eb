#!/usr/bin/env bash
# Build the benchmark's anchors, OpenTofu and terraform-provider-bigip, from the Go module proxy, and print the
# directory that holds them:
#
#   tests/bench_anchors/install.sh   -> e.g. /root/.cache/aovpn-iac/anchors/1a2b3c4d5e6f
#                                       (bin/tofu; plugins/, a filesystem mirror holding the provider)
#
# The versions are pinned in tests/bench_anchors/{tofu,bigip}/go.mod (one module each, so that neither's
# dependency versions are raised by the other's). Built once per machine into
# ${AOVPN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aovpn-iac}/anchors/<key>, through GOPROXY as set on the
# machine; nothing is downloaded from a release URL. Before building anything, both pinned modules are looked up
# on the proxy: when either is not served, the script says so in one line ("bench-anchors: ...") and exits 2.
# Progress goes to stderr; only the directory goes to stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "bench-anchors: $1" >&2; exit "${2:-1}"; }

command -v go >/dev/null 2>&1 || die "Go is needed to build OpenTofu and terraform-provider-bigip; none is on PATH" 2
tofu_version=$(awk '$1 == "require" && $2 == "github.com/opentofu/opentofu" {print $3}' "$here/tofu/go.mod")
bigip_version=$(awk '$1 == "require" && $2 == "github.com/F5Networks/terraform-provider-bigip" {print $3}' "$here/bigip/go.mod")
[ -n "$tofu_version" ] && [ -n "$bigip_version" ] || die "no pinned versions in $here/{tofu,bigip}/go.mod"

key=$(cat "$here/tofu/go.mod" "$here/bigip/go.mod" "$0" | sha256sum | cut -c1-12)
cache=${AOVPN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aovpn-iac}
dest="$cache/anchors/$key"
provider_dir="$dest/plugins/registry.opentofu.org/f5networks/bigip/${bigip_version#v}/$(go env GOOS)_$(go env GOARCH)"
if [ -x "$dest/bin/tofu" ] && [ -x "$provider_dir/terraform-provider-bigip_${bigip_version}" ]; then
  echo "$dest"
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
proxy=$(go env GOPROXY)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
for pinned in "github.com/opentofu/opentofu@$tofu_version" "github.com/F5Networks/terraform-provider-bigip@$bigip_version"; do
  if ! out=$(cd "$probe" && go list -m -json "$pinned" 2>&1); then
    reason=$(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 2 | tr -s ' \t\n' ' ')
    die "the Go module proxy ($proxy) does not serve $pinned: $reason" 2
  fi
done

echo "bench-anchors: building OpenTofu $tofu_version and terraform-provider-bigip $bigip_version into $dest (several minutes)" >&2
mkdir -p "$cache/anchors"
work=$(mktemp -d "$cache/anchors/.build.XXXXXX")
trap 'rm -rf "$probe" "$work"' EXIT
started=$(date +%s)
for part in tofu bigip; do
  mkdir -p "$work/src/$part"
  cp "$here/$part/go.mod" "$work/src/$part/go.mod"
done
(cd "$work/src/tofu" && go build -trimpath -ldflags "-s -w" -o "$work/bin/tofu" github.com/opentofu/opentofu/cmd/tofu) >&2 ||
  die "go build of OpenTofu $tofu_version failed (output above)"
mkdir -p "$work/${provider_dir#"$dest/"}"
(cd "$work/src/bigip" && go build -trimpath -ldflags "-s -w" \
  -o "$work/${provider_dir#"$dest/"}/terraform-provider-bigip_${bigip_version}" github.com/F5Networks/terraform-provider-bigip) >&2 ||
  die "go build of terraform-provider-bigip $bigip_version failed (output above)"
"$work/bin/tofu" version >&2 || die "the built tofu does not run"
rm -rf "$dest"
mv "$work" "$dest"
trap 'rm -rf "$probe"' EXIT
echo "bench-anchors: built in $(( $(date +%s) - started )) s" >&2
echo "$dest"
