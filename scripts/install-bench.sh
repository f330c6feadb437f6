#!/bin/sh
# Installs wrk (Debian's package), the C load generator `make bench` (bench/suite.py) drives.
set -eu
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "wrk is not installed and this is not a root shell with apt: install it with your package manager." >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
