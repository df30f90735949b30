# Sourced by the ci/ scripts: the environment every build of dpdkq needs.
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
# DPDK's pkg-config flags include options (-mrtm, -include ...) outside cgo's default allow list.
export CGO_CFLAGS_ALLOW=".*" CGO_LDFLAGS_ALLOW=".*"
# go.mod and go.sum are complete: a build that would change them fails instead.
export GOFLAGS="${GOFLAGS:--mod=readonly}"
