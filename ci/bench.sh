#!/usr/bin/env bash
# Forwarding benchmark: dpdkq vs dpdk-testpmd on identical virtual devices, same run.
#
#   in : net_pcap, infinite_rx=1 replay of 64-byte valid IPv4/UDP frames (from memory)
#   out: net_null with no-rx=1 (one direction only, like dpdkq's run)
#   one forwarding lcore each (EAL lcores 0-1: main + one worker), --no-huge unless
#   BENCH_HUGE=1, same mbuf pool size.
#
# Rounds alternate testpmd, DPDK's l3fwd (LPM) and dpdkq; the script prints the median
# Mpps of each and the ratio, for: testpmd io vs dpdkq xconnect, testpmd mac vs dpdkq
# route, l3fwd vs dpdkq route (and route with
# the configured AQM when BENCH_AQM is set, e.g. BENCH_AQM=codel; and route with AQM plus
# shared-pool carving and the hybrid buffer when BENCH_BUFFER=1; and route with the
# control API idle vs polled continuously by a client when BENCH_API=1).
#
# l3fwd is built from the example sources Debian's dpdk-doc ships (installed here when
# missing) in a temporary directory, with the two adjustments virtual devices need: no
# RX checksum offload request, and --parse-ptype. It routes 198.18.N.0/24 to port N, so
# every bench frame goes to 198.18.1.x (dpdkq routes 198.18.0.0/16 the same way). It
# prints no rates: its port 1 opackets are read twice over DPDK telemetry. BENCH_L3FWD=0
# skips it.
#
# BENCH_CONGESTED=1 adds the congested path, where queues are full and drop: (a) the
# pcap input into out0 shaped to 5 Gb/s (7.44 Mpps of 64 B frames, half what the
# shaped path takes in) with taildrop, CoDel, PIE and FQ-CoDel; (b) K inputs x K outputs x 8
# classes (K = 1, 2, 4, 8, 16: 8 to 2048 VOQs; the same K with egress queues: 8 to 128),
# every output shaped to 1/K Gb/s, frames spread over outputs and classes. Reported: the
# packets the lcore handled per second (received = forwarded + dropped + queued) and
# forwarded per second.
#
# Usage: bash ci/bench.sh [rounds (3)] [seconds per run (5)]
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh
rounds=${1:-3}
secs=${2:-5}
bash ci/build.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin/mkpcap -bench -dst 198.18.1.0/24 -o "$work/bench.pcap" -n 1024 >/dev/null

l3fwd=
if [ "${BENCH_L3FWD:-1}" = 1 ]; then
  if [ ! -d /usr/share/dpdk/examples/l3fwd ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpdk-doc >/dev/null
  fi
  mkdir -p "$work/ex"
  cp -r /usr/share/dpdk/examples/l3fwd /usr/share/dpdk/examples/common "$work/ex/"
  sed -i 's/\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/.offloads = 0,/' "$work/ex/l3fwd/main.c"
  if make -C "$work/ex/l3fwd" >"$work/l3fwd-build.log" 2>&1; then
    l3fwd="$work/ex/l3fwd/build/l3fwd"
  else
    echo "bench: l3fwd did not build (see below); its rows are skipped" >&2
    tail -5 "$work/l3fwd-build.log" >&2
  fi
fi

mem=(--no-huge -m 1024)
if [ "${BENCH_HUGE:-0}" = 1 ]; then
  echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
  mem=(-m 1024)
fi
in="net_pcap0,rx_pcap=$work/bench.pcap,infinite_rx=1"
out="net_null0,no-rx=1"

# testpmd prints "Tx-pps:" per port every --stats-period; port 1 is the null sink.
testpmd_mpps() {
  local mode=$1 log="$work/testpmd.log"
  # testpmd exits when stdin closes: keep it open for the run.
  sleep "$((secs + 8))" | timeout -s INT "$((secs + 5))" dpdk-testpmd "${mem[@]}" --no-pci -l 0-1 --file-prefix dqbench_tp \
    --vdev "$in" --vdev "$out" --log-level '*:error' -- --forward-mode="$mode" --auto-start \
    --stats-period 1 --total-num-mbufs=16383 --nb-cores=1 --rxd=1024 --txd=1024 >"$log" 2>&1 || true
  # Tx-pps lines alternate port 0, port 1: keep port 1's non-zero readings (start-up
  # takes a few of the periods), drop the first one as warm-up when there are several.
  awk '/Tx-pps:/ {n++; if (n % 2 == 0 && $2 > 0) v[++k] = $2}
       END {for (i = (k >= 3 ? 2 : 1); i <= k; i++) print v[i]}' "$log" | sort -n |
    awk '{v[NR]=$1} END {if (NR == 0) print 0; else printf "%.3f\n", v[int((NR+1)/2)]/1e6}'
}

# l3fwd in LPM mode on lcore 1 alone (it opens a tx queue per lcore, and net_pcap has
# one), port 0 rx queue 0 polled by lcore 1. Rate: port 1 opackets over DPDK telemetry,
# read at two instants by one process.
l3fwd_mpps() {
  local log="$work/l3fwd.log"
  timeout -s INT "$((secs + 8))" "$l3fwd" "${mem[@]}" --no-pci -l 1 --file-prefix dqbench_l3 \
    --vdev "$in" --vdev "$out" --log-level '*:error' -- -p 0x3 -P --config="(0,0,1)" --parse-ptype >"$log" 2>&1 &
  local pid=$!
  python3 - /var/run/dpdk/dqbench_l3/dpdk_telemetry.v2 "$secs" <<'PY' || echo 0
import json, socket, sys, time
path, secs = sys.argv[1], float(sys.argv[2])
def connect():
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(path)
            s.recv(1024)  # greeting
            return s
        except OSError:
            time.sleep(0.1)
    raise SystemExit("no telemetry socket at " + path)
def opackets(s):
    s.send(b"/ethdev/stats,1")
    return json.loads(s.recv(1 << 16))["/ethdev/stats"]["opackets"]
s = connect()
time.sleep(2)  # start-up and warm-up
a, t0 = opackets(s), time.monotonic()
time.sleep(secs)
b, t1 = opackets(s), time.monotonic()
print("%.3f" % ((b - a) / (t1 - t0) / 1e6))
PY
  kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

dpdkq_mpps() {
  local mode=$1 aqm=${2:-none} full=${3:-} cfg="$work/dpdkq.yaml"
  {
    echo "log: {level: warn}"
    echo "eal: {lcores: \"0-1\", memory_mb: 1024, no_huge: $([ "${BENCH_HUGE:-0}" = 1 ] && echo false || echo true), no_pci: true, file_prefix: dqbench_dq}"
    echo "mempool: {mbufs: 16383, cache: 256}"
    echo "ports:"
    if [ "$mode" = xconnect ]; then
      echo "  - {name: in0, device: \"$in\", mode: xconnect, xconnect: out0}"
      echo "  - {name: out0, device: \"$out\", mode: xconnect, xconnect: in0}"
    else
      echo "  - {name: in0, device: \"$in\", ipv4: 10.0.0.1/24}"
      echo "  - {name: out0, device: \"$out\", ipv4: 10.1.0.1/24}"
      echo "routes:"
      echo "  - {prefix: 198.18.0.0/16, port: out0, via: 10.1.0.2, mac: \"02:00:00:00:01:02\"}"
    fi
    echo "queueing: {classes: 1, queue: {limit: 1024p, aqm: {kind: $aqm}}}"
    if [ -n "$full" ]; then
      echo "buffer: {pools: [{name: p, size: 2MB, mode: dynamic}], profiles: [{name: d, pool: p, dynamic_th: 1}],"
      echo "         hybrid: {enabled: true, onchip: 1MB, offchip: 64MB, offchip_bandwidth: 100Gbps}}"
    fi
    if [ -n "${api:-}" ]; then echo "api: {listen: \"127.0.0.1:19981\"}"; else echo "api: {listen: \"\"}"; fi
  } >"$cfg"
  local poller=
  if [ -n "${poll:-}" ]; then
    # Read stats as fast as one client can: /metrics and /api/v1/queues in a loop.
    taskset -c 0 python3 - "$((secs + 2))" >/dev/null 2>&1 <<'PY' &
import sys, time, urllib.request
end = time.time() + float(sys.argv[1])
n = 0
while time.time() < end:
    for p in ("/metrics", "/api/v1/queues", "/api/v1/ports"):
        try:
            urllib.request.urlopen("http://127.0.0.1:19981" + p, timeout=1).read()
            n += 1
        except Exception:
            time.sleep(0.01)
print(n)
PY
    poller=$!
  fi
  bin/dpdkq run -c "$cfg" --duration "${secs}s" --summary-json "$work/s.json" >/dev/null 2>"$work/dpdkq.log" || {
    cat "$work/dpdkq.log" >&2; echo 0; return; }
  [ -n "$poller" ] && wait "$poller" 2>/dev/null
  python3 - "$work/s.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("%.3f" % (s["ports"][1]["tx_packets"] / s["duration_s"] / 1e6))
PY
}

# dpdkq_congested ARCH K AQM [fq]: prints "handled_mpps forwarded_mpps".
dpdkq_congested() {
  local arch=$1 k=$2 aqm=$3 fq=${4:-false} cfg="$work/congested.yaml" rate=1Gbps
  # Outputs share 1 Gb/s (1.49 Mpps of 64 B frames), far below the input: always congested.
  if [ "$k" = 0 ]; then rate=5Gbps; else rate="$((1000 / k))Mbps"; fi
  {
    echo "log: {level: warn}"
    echo "eal: {lcores: \"0-1\", memory_mb: 1536, no_huge: $([ "${BENCH_HUGE:-0}" = 1 ] && echo false || echo true), no_pci: true, file_prefix: dqbench_dq}"
    echo "mempool: {mbufs: 262143, cache: 256}"
    echo "ports:"
    if [ "$k" = 0 ]; then # the single-input case: the bench pcap into one 5 Gb/s port
      echo "  - {name: in0, device: \"$in\", ipv4: 10.0.0.1/24}"
      echo "  - {name: out0, device: \"net_null0,no-rx=1\", ipv4: 10.1.0.1/24, rate: $rate}"
      echo "routes: [{prefix: 198.18.0.0/16, port: out0, via: 10.1.0.2, mac: \"02:00:00:00:01:02\"}]"
      echo "queueing: {classes: 1, queue: {limit: 1024p, aqm: {kind: $aqm}, fq: {enabled: $fq}}}"
    else
      for ((p = 0; p < k; p++)); do
        echo "  - {name: in$p, device: \"net_pcap$p,rx_pcap=$work/k$k.pcap,infinite_rx=1\", ipv4: 10.0.$p.1/24}"
      done
      for ((p = 0; p < k; p++)); do
        echo "  - {name: out$p, device: \"net_null$p,no-rx=1\", ipv4: 10.1.$p.1/24, rate: $rate}"
      done
      echo "routes:"
      for ((p = 0; p < k; p++)); do
        echo "  - {prefix: 198.18.$p.0/24, port: out$p, via: 10.1.$p.2, mac: \"02:00:00:00:01:02\"}"
      done
      echo "queueing: {architecture: $arch, arbiter: rr, classes: 8, scheduler: drr, queue: {limit: 32p, aqm: {kind: $aqm}}}"
    fi
    echo "api: {listen: \"\"}"
  } >"$cfg"
  bin/dpdkq run -c "$cfg" --duration "${secs}s" --summary-json "$work/c.json" >/dev/null 2>"$work/dpdkq.log" || {
    cat "$work/dpdkq.log" >&2; echo "0 0"; return; }
  python3 - "$work/c.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
d = s["duration_s"]
rx = sum(p["rx_packets"] for p in s["ports"] if p["name"].startswith("in"))
tx = sum(p["tx_packets"] for p in s["ports"] if p["name"].startswith("out"))
print("%.3f %.3f" % (rx / d / 1e6, tx / d / 1e6))
PY
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}'; }

declare -a tio tmac tl3 dx dr da df dq dp
declare -A CH CF
congested_cases=()
if [ "${BENCH_CONGESTED:-0}" = 1 ]; then
  for k in 1 2 4 8 16; do
    # k /24s, one per output: -dst 198.18.0.0/(24 - log2 k).
    lg=0; while ((1 << lg < k)); do lg=$((lg + 1)); done
    bin/mkpcap -bench -dst "198.18.0.0/$((24 - lg))" -classes 8 -o "$work/k$k.pcap" -n 256 >/dev/null
  done
  congested_cases=("egress 0 none" "egress 0 codel" "egress 0 pie" "egress 0 codel true")
  for k in 1 2 4 8 16; do congested_cases+=("voq $k none" "egress $k none"); done
fi
for ((i = 1; i <= rounds; i++)); do
  if [ -n "$l3fwd" ]; then tl3+=("$(l3fwd_mpps)"); fi
  tio+=("$(testpmd_mpps io)")
  dx+=("$(dpdkq_mpps xconnect)")
  tmac+=("$(testpmd_mpps mac)")
  dr+=("$(dpdkq_mpps route)")
  if [ -n "${BENCH_AQM:-}" ]; then da+=("$(dpdkq_mpps route "$BENCH_AQM")"); fi
  if [ -n "${BENCH_BUFFER:-}" ]; then df+=("$(dpdkq_mpps route "${BENCH_AQM:-codel}" full)"); fi
  if [ -n "${BENCH_API:-}" ]; then
    dq+=("$(api=1 dpdkq_mpps route)")
    dp+=("$(api=1 poll=1 dpdkq_mpps route)")
    echo "  api quiet ${dq[-1]}  api polled ${dp[-1]}"
  fi
  for c in "${congested_cases[@]}"; do
    read -r h f < <(dpdkq_congested $c)
    CH[$c]+="$h "; CF[$c]+="$f "
    echo "  congested [$c]: handled $h Mpps, forwarded $f Mpps"
  done
  echo "round $i:${l3fwd:+ l3fwd ${tl3[-1]} } testpmd io ${tio[-1]}  dpdkq xconnect ${dx[-1]}  testpmd mac ${tmac[-1]}  dpdkq route ${dr[-1]}${BENCH_AQM:+  dpdkq route+$BENCH_AQM ${da[-1]}}${BENCH_BUFFER:+  dpdkq route+aqm+carving+hybrid ${df[-1]}}"
done
mi=$(median "${tio[@]}"); mx=$(median "${dx[@]}"); mm=$(median "${tmac[@]}"); mr=$(median "${dr[@]}")
echo
echo "medians over $rounds rounds of ${secs}s, one forwarding lcore, 64 B frames, pcap(infinite_rx) -> null:"
printf '  testpmd io     %7s Mpps   dpdkq xconnect %7s Mpps   ratio %.2f\n' "$mi" "$mx" "$(awk -v a="$mx" -v b="$mi" 'BEGIN{print (b>0)?a/b:0}')"
printf '  testpmd mac    %7s Mpps   dpdkq route    %7s Mpps   ratio %.2f\n' "$mm" "$mr" "$(awk -v a="$mr" -v b="$mm" 'BEGIN{print (b>0)?a/b:0}')"
if [ -n "${BENCH_AQM:-}" ]; then
  ma=$(median "${da[@]}")
  printf '  testpmd mac    %7s Mpps   dpdkq route+%s %7s Mpps   ratio %.2f\n' "$mm" "$BENCH_AQM" "$ma" "$(awk -v a="$ma" -v b="$mm" 'BEGIN{print (b>0)?a/b:0}')"
fi
if [ -n "$l3fwd" ]; then
  ml=$(median "${tl3[@]}")
  printf '  l3fwd (LPM)    %7s Mpps   dpdkq route    %7s Mpps   ratio %.2f\n' "$ml" "$mr" "$(awk -v a="$mr" -v b="$ml" 'BEGIN{print (b>0)?a/b:0}')"
  if [ -n "${BENCH_AQM:-}" ]; then
    printf '  l3fwd (LPM)    %7s Mpps   dpdkq route+%s %7s Mpps   ratio %.2f\n' "$ml" "$BENCH_AQM" "$ma" "$(awk -v a="$ma" -v b="$ml" 'BEGIN{print (b>0)?a/b:0}')"
  fi
fi
if [ -n "${BENCH_API:-}" ]; then
  mq=$(median "${dq[@]}"); mp=$(median "${dp[@]}")
  printf '  dpdkq route, API idle %7s Mpps   API polled continuously %7s Mpps   ratio %.3f\n' "$mq" "$mp" "$(awk -v a="$mp" -v b="$mq" 'BEGIN{print (b>0)?a/b:0}')"
fi
if [ -n "${BENCH_BUFFER:-}" ]; then
  mf=$(median "${df[@]}")
  printf '  dpdkq route %7s Mpps   route+%s+carving+hybrid %7s Mpps   ratio %.2f\n' "$mr" "${BENCH_AQM:-codel}" "$mf" "$(awk -v a="$mf" -v b="$mr" 'BEGIN{print (b>0)?a/b:0}')"
fi
if [ ${#congested_cases[@]} -gt 0 ]; then
  echo "congested path (queues full): packets handled (received) and forwarded per second by the lcore"
  printf '  %-34s %8s %8s %10s %10s\n' case queues "" handled forwarded
  for c in "${congested_cases[@]}"; do
    read -r arch k aqm fq <<<"$c"
    q=1
    if [ "$k" = 0 ]; then name="1 in -> 5 Gb/s port, $aqm"; [ -n "$fq" ] && name="1 in -> 5 Gb/s port, FQ-CoDel"; else
      name="$arch ${k}x${k}, 8 classes, 1/$k Gb/s outputs"; q=$((k * 8)); [ "$arch" = voq ] && q=$((k * k * 8)); fi
    printf '  %-40s %6s %10s %10s\n' "$name" "$q" "$(median ${CH[$c]})" "$(median ${CF[$c]})"
  done
fi
