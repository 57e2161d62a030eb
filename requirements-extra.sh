#!/usr/bin/env bash
# Install python-kemptech-api 0.7.43 (Kemp's own classic-API client, used by tests/emulators/test_kemp_twin.py
# as an independent client of the Kemp twin) into the venv whose python is $PY.
#
# Why a script: the sdist's setup.py does `from pip.req import parse_requirements` / pip._internal, which
# breaks on any current pip (and its requirements.txt pulls in pylint, tox, nose, sphinx...). So we fetch
# the pinned sdist (sha256-checked), replace setup.py by a minimal one with the three runtime dependencies
# (requests, lxml, netaddr) and install that. Idempotent: does nothing when 0.7.43 is already installed.
set -euo pipefail

PY="${PY:-venv/bin/python}"
VERSION="0.7.43"
URL="https://files.pythonhosted.org/packages/11/66/53f108317b7447918d6da0fced3575cca5a404756dc8730c4bb8d074c621/python-kemptech-api-${VERSION}.tar.gz"
SHA256="03e1a2fb10124fdea5978ba9d42abd325665716d526d81d01072062a8ef45899"

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

"$PY" - "$URL" "$SHA256" "$work/sdist.tar.gz" <<'EOF'
import hashlib
import sys
import urllib.request

url, expected, target = sys.argv[1:4]
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
