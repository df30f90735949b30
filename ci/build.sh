#!/usr/bin/env bash
# Builds bin/dpdkq and bin/mkpcap.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
mkdir -p bin
ver="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
go build -ldflags "-X main.version=$ver" -o bin/dpdkq ./cmd/dpdkq
go build -o bin/mkpcap ./cmd/mkpcap
