#!/usr/bin/env bash
# OPTIONAL system packages (Debian/Ubuntu); `make test` and CI need none of them.
#   postgresql: initdb/pg_ctl, so the test that loads deploy/dagster.yaml against a real Postgres runs
#               instead of being skipped.
#   libltdl7 libkrb5-3 libgssapi-krb5-2: what mssql-python's bundled ODBC driver loads when it connects
#               to SQL Server (production; the image installs them too). Not needed to import or test.
# Safe to re-run; a no-op when everything is there.
set -euo pipefail

PACKAGES=(libltdl7 libkrb5-3 libgssapi-krb5-2)
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
  echo "install_system_deps: apt-get not found; install ${missing[*]} with the system's package manager" >&2
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
