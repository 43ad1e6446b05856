#!/usr/bin/env bash
# System libraries the Python dependencies need at import time (called by .ci/run; safe to re-run).
#   unixodbc: libodbc.so.2, which pyodbc (the `production` extra) loads when imported.
#   postgresql: initdb/pg_ctl for the test that loads deploy/dagster.yaml against a real Postgres
#               (skipped when the server binaries are already on the machine).
# Node/npm (Azurite) are expected to be preinstalled. No-op when everything is already there.
set -euo pipefail

PACKAGES=(unixodbc)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  PACKAGES+=(postgresql)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install_system_deps: already installed: ${PACKAGES[*]}"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_deps: apt-get not found; install ${missing[*]} (unixODBC) with the system's package manager" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "install_system_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
