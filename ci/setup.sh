#!/usr/bin/env bash
# Installs what dpdkq needs on Debian 12 (as root): DPDK 22.11 and its headers, the
# tools the tests and the lab use (iperf3, iproute2, ethtool, ping, curl), and the Go
# modules. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh

pkgs=(dpdk dpdk-dev libdpdk-dev pkg-config gcc iproute2 ethtool iperf3 iputils-ping procps python3 curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null; then
  echo "setup: Go >= 1.26 is required (expected at /usr/local/go/bin/go)" >&2
  exit 1
fi
pkg-config --exists libdpdk || { echo "setup: libdpdk not found by pkg-config" >&2; exit 1; }
go mod download
echo "setup: DPDK $(pkg-config --modversion libdpdk), $(go version)"
