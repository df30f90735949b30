#!/usr/bin/env bash
# Queue cost: dpdkq's voq against DPDK's hierarchical scheduler (librte_sched), same run,
# same shapes (1, 64, 512, 4096 queues; with and without RED), per packet, one core.
#
#   rte_sched: ci/sched/sched_bench.c, built here against the installed libdpdk: one port,
#              one subport, pipes of 16 queues, rates far above what a core can move,
#              bursts of 32 mbufs classified with rte_sched_port_pkt_write, enqueued and
#              dequeued (at most 256 in flight).
#   voq:       BenchmarkQueueShapes (voq/shapes_bench_test.go): the same queue counts as
#              egress ports x classes (VOQs for 4096), bursts of 32 descriptors spread by
#              the same pseudo-random sequence, every port served after each burst.
#
# Rounds alternate the two; the script prints median ns per packet and the ratio of rates
# (voq packets/s over rte_sched packets/s: above 1 means voq is faster).
#
# Usage: bash ci/bench-sched.sh [rounds (3)] [packets per run (3000000)]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
rounds=${1:-3}
pkts=${2:-3000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# rte_pie.h (included by rte_sched.h) calls an experimental symbol.
gcc -O3 -DALLOW_EXPERIMENTAL_API -Wno-deprecated-declarations -o "$work/sched_bench" ci/sched/sched_bench.c \
  $(pkg-config --cflags --libs libdpdk)
go test -c -o "$work/voq.test" ./voq

sched_ns() { # queues red(0|1)
  local flag=
  [ "$2" = 1 ] && flag=--red
  "$work/sched_bench" --no-huge -m 256 --no-pci -l 1 --file-prefix dqsched --log-level '*:error' -- "$1" "$pkts" $flag |
    sed -n 's/.*ns_per_pkt=\([0-9.]*\).*/\1/p'
}
voq_ns() { # queues red(0|1)
  local red=false
  [ "$2" = 1 ] && red=true
  taskset -c 1 "$work/voq.test" -test.run '^$' -test.bench "QueueShapes/queues=$1/red=$red\$" -test.benchtime "${pkts}x" |
    awk '/^BenchmarkQueueShapes/ {print $3}'
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }

shapes=(1 64 512 4096)
declare -A S V
for ((i = 1; i <= rounds; i++)); do
  line="round $i:"
  for q in "${shapes[@]}"; do
    for r in 0 1; do
      s=$(sched_ns "$q" "$r"); v=$(voq_ns "$q" "$r")
      S[$q,$r]+="$s "; V[$q,$r]+="$v "
      line+="  q=$q red=$r rte_sched $s voq $v"
    done
  done
  echo "$line"
done
echo
echo "medians over $rounds rounds, ns per packet (enqueue + dequeue), one core:"
printf '  %-7s %-4s %12s %12s %14s\n' queues red rte_sched voq "voq/rte_sched"
for q in "${shapes[@]}"; do
  for r in 0 1; do
    ms=$(median ${S[$q,$r]}); mv=$(median ${V[$q,$r]})
    printf '  %-7s %-4s %12s %12s %13.2fx\n' "$q" "$r" "$ms" "$mv" "$(awk -v a="$ms" -v b="$mv" 'BEGIN{print (b>0)?a/b:0}')"
  done
done
