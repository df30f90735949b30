#!/usr/bin/env bash
# Sets up and runs the whole test suite: vet, unit tests, and the DPDK integration tests
# on virtual devices (no NIC, no hugepages). The namespace end-to-end test runs when
# root (it creates network namespaces and veth pairs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
source ci/env.sh
bash ci/build.sh
go vet ./...
# go.mod/go.sum must already be what `go mod tidy` makes of them.
if ! tidy=$(go mod tidy -diff 2>&1); then
	echo "go.mod/go.sum are not tidy (run go mod tidy):" >&2
	echo "$tidy" >&2
	exit 1
fi
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting (gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi
# The race detector over the packages whose tests never start DPDK (the pure algorithm,
# queueing, config, API and report packages).
pure=$(go list ./... | grep -vE '/(dataplane|lcore|mempool|e2e|lab)$')
go test -race -count=1 -timeout 15m $pure
# One package at a time (-p 1): DPDK tests spin worker lcores and a 2-core machine
# should not run two of them at once.
go test -p 1 -count=1 -timeout 30m ./... 2>&1 | tee /tmp/dpdkq-test.log
status=${PIPESTATUS[0]}
pass=$(grep -c '^ok ' /tmp/dpdkq-test.log || true)
fail=$(grep -c '^FAIL\s' /tmp/dpdkq-test.log || true)
echo "packages: $pass passed, $fail failed"
exit "$status"
