#!/usr/bin/env bash
# Install python-kemptech-api 0.7.43 (Kemp's own classic-API client, used by tests/emulators/test_kemp_twin.py
# as an independent client of the Kemp twin) into the venv whose python is $PY.
#
# Why a script: the sdist's setup.py does `from pip.req import parse_requirements` / pip._internal, which
# breaks on any current pip (and its requirements.txt pulls in pylint, tox, nose, sphinx...), and pip
# cannot download an sdist without building its metadata. So the sdist of that name and version is looked
# up in the package index pip uses (its JSON simple API, PEP 691), fetched and checked against the pinned
# sha256, its setup.py replaced by a minimal
# one with the three runtime dependencies (requests, lxml, netaddr) and installed. Idempotent: does
# nothing when 0.7.43 is already installed.
set -euo pipefail

PY="${PY:-venv/bin/python}"
VERSION="0.7.43"
SHA256="03e1a2fb10124fdea5978ba9d42abd325665716d526d81d01072062a8ef45899"

# Azurite, the Azure Storage emulator, from the npm registry at a locked version, for the shared-state backend
# tests (tests/backends/): its own script, which says why and how.
bash "$(dirname "$0")/tests/backends/azurite/install.sh"

installed="$("$PY" -c 'import importlib.metadata as m
try:
    print(m.version("python-kemptech-api"))
except m.PackageNotFoundError:
    print("")')"
if [ "$installed" = "$VERSION" ]; then
    echo "python-kemptech-api $VERSION already installed"
    exit 0
fi

"$PY" -m pip install --quiet "lxml>=4" "netaddr>=0.8" "requests>=2.7"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$PY" - "python-kemptech-api" "$VERSION" "$SHA256" "$work/sdist.tar.gz" <<'EOF'
import hashlib
import json
import sys
import urllib.request

name, version, expected, target = sys.argv[1:5]
index = urllib.request.Request(
    f"https://pypi.org/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
)
with urllib.request.urlopen(index, timeout=120) as resp:
    files = json.load(resp)["files"]
wanted = f"{name}-{version}.tar.gz"
found = [f for f in files if f["filename"] == wanted]
if not found:
    sys.exit(f"the package index lists no {wanted}")
if found[0]["hashes"].get("sha256") != expected:
    sys.exit(f"the index lists sha256 {found[0]['hashes'].get('sha256')} for {wanted}, expected {expected}")
url = found[0]["url"]
with urllib.request.urlopen(url, timeout=120) as resp:
    payload = resp.read()
digest = hashlib.sha256(payload).hexdigest()
if digest != expected:
    sys.exit(f"sha256 mismatch for {url}: {digest}")
with open(target, "wb") as fh:
    fh.write(payload)
EOF

tar -xzf "$work/sdist.tar.gz" -C "$work"
src="$work/python-kemptech-api-${VERSION}"
rm -rf "$src/tests" "$src/bin" "$src/python_kemptech_api.egg-info"
cat > "$src/setup.py" <<EOF
from setuptools import setup

setup(
    name="python-kemptech-api",
    version="${VERSION}",
    packages=["python_kemptech_api"],
    install_requires=["requests>=2.7", "lxml>=4", "netaddr>=0.8"],
)
EOF
"$PY" -m pip install --quiet --no-deps "$src"
"$PY" -c 'import python_kemptech_api; print("python-kemptech-api installed:", python_kemptech_api.__file__)'
