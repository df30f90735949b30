#!/usr/bin/env bash
# The default job: set up, build, generate the sample pcap, and route it through
# dpdkq on virtual devices (net_pcap in -> route -> 62.5 Mb/s shaped, 10 ms delayed
# net_pcap out). No NIC and no hugepages needed. Output lands in ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
bash ci/build.sh
mkdir -p out
export DPDKQ_SAMPLE_DIR="$PWD/out" DPDKQ_OUT_DIR="$PWD/out"
bin/mkpcap -o out/sample.pcap -n 2000
bin/dpdkq run --until-idle 1s --duration 60s --summary-json out/summary.json "$@"
echo "output pcap: out/out.pcap   summary: out/summary.json"
