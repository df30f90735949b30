#!/usr/bin/env bash
# bench-aqm.sh: run the aqm/ micro-benchmarks and, when dpdk-test is installed, DPDK's
# own red_perf and pie_perf, and print cycles per packet side by side.
#
#   ci/bench-aqm.sh                      # defaults below
#   BENCHTIME=2s COUNT=5 ci/bench-aqm.sh
#   SKIP_DPDK=1 ci/bench-aqm.sh          # Go benchmarks only
#
# What is compared (read the numbers with this in mind):
#   - Ours: one Enqueue+Dequeue pair per op in a congested pattern (5% overload, the
#     AQM dropping), including the test's ring-buffer queue bookkeeping and the
#     interface calls; BenchmarkNone is that harness alone. Median of COUNT runs.
#   - DPDK: app/test's average TSC cycles per call, each call bracketed by its own
#     rdtsc reads (that overhead is included). red_perf times rte_red_enqueue only;
#     pie_perf test 2 times enqueue and dequeue as separate calls, so a packet costs
#     two of its averages.
# Clock: cycles = ns * the "cpu MHz" of /proc/cpuinfo (the TSC rate on these VMs;
# DPDK prints no frequency of its own). Shared 2-core machines are noisy: compare
# numbers from one run, not across runs.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-1s}
COUNT=${COUNT:-3}
DPDK_TIMEOUT=${DPDK_TIMEOUT:-180}   # red_perf makes 150M calls: ~25 s here
tmp=$(mktemp -d)
prefix="aqmbench$$" # our own EAL runtime dir, so other DPDK processes are not disturbed
trap 'rm -rf "$tmp" "/var/run/dpdk/$prefix"' EXIT

mhz=$(awk -F: '/^cpu MHz/ {gsub(/ /, "", $2); print $2; exit}' /proc/cpuinfo)
mhz=${mhz:-0}
echo "== clock: ${mhz} MHz (/proc/cpuinfo cpu MHz)"

echo "== go test -run '^\$' -bench . -benchtime=$BENCHTIME -count=$COUNT ./aqm/"
go test -run '^$' -bench . -benchtime="$BENCHTIME" -count="$COUNT" ./aqm/ | tee "$tmp/go.txt"

# Median ns/op per benchmark -> "name ns allocs" lines.
awk '/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "ns/op") ns[name] = ns[name] " " $i
		if ($(i+1) == "allocs/op") al[name] = $i
	}
}
END {
	for (n in ns) {
		k = split(substr(ns[n], 2), v, " ")
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		print n, v[int((k + 1) / 2)], al[n]
	}
}' "$tmp/go.txt" | sort >"$tmp/ours.txt"

# run_dpdk TEST: runs one dpdk-test command and prints "testno n avg" per RDTSC line.
run_dpdk() {
	local t=$1
	echo "$t" | timeout "$DPDK_TIMEOUT" dpdk-test --no-huge --no-pci -m 512 -l 0 \
		--file-prefix "$prefix" --log-level 'lib.eal:error' >"$tmp/$t.raw" 2>&1 || true
	awk '/^performance test [0-9]+/ { no = $3 }
	     /RDTSC stats/ {
		n = "?"; if (match($0, /: n=[0-9]+/)) n = substr($0, RSTART + 4, RLENGTH - 4)
		avg = $0; sub(/.*avg=/, "", avg)
		print no, n, avg
	}' "$tmp/$t.raw" >"$tmp/$t.txt"
	if [ ! -s "$tmp/$t.txt" ]; then
		echo "   (no RDTSC lines from $t; last output:)"; tail -5 "$tmp/$t.raw" | sed 's/^/   /'
	fi
}

have_dpdk=0
if [ -z "${SKIP_DPDK:-}" ] && command -v dpdk-test >/dev/null 2>&1; then
	have_dpdk=1
	echo "== dpdk-test red_perf, pie_perf (timeout ${DPDK_TIMEOUT}s each)"
	run_dpdk red_perf
	run_dpdk pie_perf
else
	echo "== dpdk-test not found (or SKIP_DPDK set): DPDK columns skipped"
fi

cyc() { awk -v ns="$1" -v mhz="$mhz" 'BEGIN { printf "%.1f", ns * mhz / 1000 }'; }
ours() { awk -v n="$1" '$1 == n { print $2 }' "$tmp/ours.txt"; }
dpdk() { # dpdk TEST TESTNO -> avg cycles per call
	[ -f "$tmp/$1.txt" ] && awk -v no="$2" '$1 == no { print $3 }' "$tmp/$1.txt"
}

echo
echo "== ours (median of $COUNT): ns and cycles per Enqueue+Dequeue pair"
printf '%-10s %10s %12s %10s\n' benchmark ns/op cycles/op allocs/op
while read -r name ns allocs; do
	printf '%-10s %10s %12s %10s\n' "$name" "$ns" "$(cyc "$ns")" "$allocs"
done <"$tmp/ours.txt"

if [ "$have_dpdk" = 1 ]; then
	echo
	echo "== DPDK app/test: average cycles per call (rdtsc bracketing included)"
	[ -f "$tmp/red_perf.txt" ] && while read -r no n avg; do
		case $no in
		1) what="enqueue, avg below min_th" ;; 2) what="enqueue, avg between thresholds" ;;
		3) what="enqueue, avg above max_th" ;; 4 | 5 | 6) what="enqueue into an empty queue (idle decay)" ;;
		*) what="" ;;
		esac
		printf 'red_perf test %s  n=%-9s %7s cycles/call  (%s)\n' "$no" "$n" "$avg" "$what"
	done <"$tmp/red_perf.txt"
	[ -f "$tmp/pie_perf.txt" ] && while read -r no n avg; do
		case $no in 1) what="enqueue only" ;; 2) what="enqueue and dequeue, separate calls" ;; *) what="" ;; esac
		printf 'pie_perf test %s  n=%-9s %7s cycles/call  (%s)\n' "$no" "$n" "$avg" "$what"
	done <"$tmp/pie_perf.txt"

	echo
	echo "== side by side: cycles per packet"
	printf '%-6s %22s %22s   %s\n' algo "ours (pair, harness)" "ours minus harness" "DPDK"
	none=$(ours None)
	line() { # algo ours-benchmark dpdk-cycles-per-packet dpdk-label
		local ns; ns=$(ours "$2")
		[ -n "$ns" ] || return 0
		local net; net=$(awk -v a="$ns" -v b="${none:-0}" 'BEGIN { printf "%.2f", a - b }')
		printf '%-6s %22s %22s   %s\n' "$1" "$(cyc "$ns")" "$(cyc "$net")" "${3:-n/a} $4"
	}
	red2=$(dpdk red_perf 2 || true)
	pie2=$(dpdk pie_perf 2 || true)
	pie2pkt=$([ -n "$pie2" ] && awk -v a="$pie2" 'BEGIN { printf "%.1f", 2 * a }' || true)
	line RED RED "$red2" "(red_perf test 2: one enqueue call)"
	line PIE PIE "$pie2pkt" "(pie_perf test 2: enqueue + dequeue call)"
	line CoDel CoDel "" "(DPDK has no CoDel)"
fi
