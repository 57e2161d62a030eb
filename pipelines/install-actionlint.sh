#!/usr/bin/env bash
# Find or build actionlint (the linter of GitHub Actions workflows) for `./run lint`, and print its path.
#
#   pipelines/install-actionlint.sh   -> prints e.g. /root/.cache/aovpn-iac/actionlint/v1.7.12/actionlint
#
# The release pinned below is built once per machine from its Go module (go install, through the Go module
# proxy) into a cache outside the work tree, ${AOVPN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aovpn-iac},
# the way pulumi-cli/install.sh builds the Pulumi CLI. Progress goes to stderr; only the path goes to stdout.
# Exit 1 with the reason when it cannot be built.
set -euo pipefail

# The version must exist in the Go module proxy:
#   GOFLAGS=-mod=mod go list -m -versions github.com/rhysd/actionlint
VERSION=v1.7.12
MODULE=github.com/rhysd/actionlint

die() { echo "actionlint: $*" >&2; exit 1; }

cache=${AOVPN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aovpn-iac}
dest="$cache/actionlint/$VERSION"
if [ -x "$dest/actionlint" ] && [ "$("$dest/actionlint" -version 2>/dev/null | head -n1)" = "$VERSION" ]; then
  echo "$dest/actionlint"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "actionlint $VERSION is built from its Go module, and that needs Go on PATH; none was found"
echo "actionlint: building $MODULE $VERSION into $dest (once per machine)" >&2
mkdir -p "$cache/actionlint"
work=$(mktemp -d "$cache/actionlint/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# `go install module@version` ignores any go.mod around it; GOFLAGS from the caller (-mod=...) would be refused.
GOFLAGS="" GOTOOLCHAIN=local GOBIN="$work" go install -trimpath -ldflags "-s -w" "$MODULE/cmd/actionlint@$VERSION" >&2 ||
  die "go install $MODULE/cmd/actionlint@$VERSION failed (output above)"
built=$("$work/actionlint" -version 2>/dev/null | head -n1 || true)
[ "$built" = "$VERSION" ] || die "the built actionlint reports '$built', expected $VERSION"
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/actionlint" "$dest/actionlint"
echo "$dest/actionlint"
