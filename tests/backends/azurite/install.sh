#!/usr/bin/env bash
# Azurite, the Azure Storage emulator, at the version package.json pins and package-lock.json locks (with the
# integrity hash of every package), installed by `npm ci` from the npm registry npm is configured with into
# this folder's node_modules/ (git-ignored). tests/backends/ starts its blob service to test the Pulumi CLI's
# azblob:// state backend.
#
# Run by requirements-extra.sh (./run's dev setup) and by the tests' fixture when the install is missing or
# older than the lock file. Idempotent: does nothing when node_modules/ was installed from these very files.
# Without npm it says so and exits 0: the backend tests then skip, giving that reason.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
    echo "azurite: npm is not installed, so tests/backends/ will be skipped (install Node.js 20 or newer with npm)" >&2
    exit 0
fi

want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
stamp="node_modules/.aovpn-iac-stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/azurite-blob ]; then
    echo "azurite $(node -p 'require("./node_modules/azurite/package.json").version') already installed"
    exit 0
fi

# --ignore-scripts: Azurite needs no install script, and none of its dependencies' scripts is run.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
echo "azurite $(node -p 'require("./node_modules/azurite/package.json").version') installed in $(pwd)/node_modules"
