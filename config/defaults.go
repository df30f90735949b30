package config

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

//go:embed default.yaml
var defaultYAML []byte

// Default returns the embedded example configuration (default.yaml): two pcap virtual
// ports, no NIC and no hugepages. Its device strings reference ${DPDKQ_SAMPLE_DIR} and
// ${DPDKQ_OUT_DIR}, which the caller must set before loading it. The returned slice
// is a copy.
func Default() []byte { return append([]byte(nil), defaultYAML...) }

// defaults are the built-in values of every key outside lists, keyed by dotted path.
// They are registered as viper defaults, so they also give every such key an
// environment variable even when the file does not mention it.
var defaults = map[string]any{
	"log.level":  "info",
	"log.format": "console",

	"eal.lcores":      "0-1",
	"eal.main_lcore":  0,
	"eal.memory_mb":   1024,
	"eal.no_huge":     true,
	"eal.no_pci":      true,
	"eal.file_prefix": "dpdkq",
	"eal.extra_args":  []string{},

	// 8191 = 2^13-1: DPDK's mempool ring is sized to the next power of two and wastes
	// the least at 2^n-1. The 256 cache and the 2176-byte data room (128 B headroom +
	// 2048 B) are DPDK's usual RTE_MEMPOOL_CACHE_MAX_SIZE/2 and RTE_MBUF_DEFAULT_BUF_SIZE.
	"mempool.mbufs":     8191,
	"mempool.cache":     256,
	"mempool.data_room": 2176,

	"burst_size": 32, // DPDK's customary burst (l3fwd's MAX_PKT_BURST)
	// An idle poll-loop iteration takes microseconds; 1 ms without polling is a tenth of
	// a CoDel target and ~80 full frames at 1 Gb/s.
	"stall_threshold": "1ms",

	"queueing.architecture": "egress",
	"queueing.classes":      MaxClasses,
	"queueing.scheduler":    "sp",
	"queueing.quantum":      "1514B", // one full Ethernet frame without FCS, as in fq_codel
	"queueing.arbiter":      "rr",
	"queueing.speedup":      1.0,

	// Default class queue: a 1000-packet tail-drop FIFO (Linux's txqueuelen), sized in
	// packets so that it resolves on unshaped ports too.
	"queueing.queue.limit":    "1000p",
	"queueing.queue.overflow": "tail",
	"queueing.queue.aqm.kind": "none",
	// RFC 8289 defaults; the 1514-byte MTU is one Ethernet frame without FCS.
	"queueing.queue.aqm.codel.target":       "5ms",
	"queueing.queue.aqm.codel.interval":     "100ms",
	"queueing.queue.aqm.codel.mtu":          1514,
	"queueing.queue.aqm.codel.ce_threshold": "0s",
	"queueing.queue.aqm.codel.control_law":  "sqrt", // RFC 8289's true square root; linux: Linux's fixed point
	// RFC 8033 defaults; ECN marking stops above a 10% drop probability.
	"queueing.queue.aqm.pie.target":         "15ms",
	"queueing.queue.aqm.pie.t_update":       "15ms",
	"queueing.queue.aqm.pie.alpha":          0.125,
	"queueing.queue.aqm.pie.beta":           1.25,
	"queueing.queue.aqm.pie.max_burst":      "150ms",
	"queueing.queue.aqm.pie.ecn":            false,
	"queueing.queue.aqm.pie.ecn_prob":       0.1,
	"queueing.queue.aqm.pie.rate_estimator": false,
	// RFC 8033 behaviour (linux: sch_pie.c's); the optional parts off except
	// derandomization; 10 full frames activate an inactive PIE.
	"queueing.queue.aqm.pie.variant":          "rfc",
	"queueing.queue.aqm.pie.active_states":    false,
	"queueing.queue.aqm.pie.active_threshold": "15140B",
	"queueing.queue.aqm.pie.derandomize":      true,
	"queueing.queue.aqm.pie.byte_mode":        false,
	// RED: thresholds a quarter and three quarters of the 1000p default limit, with
	// DPDK rte_red's customary maxp_inv 10 and wq_log2 9.
	"queueing.queue.aqm.red.min_th":   "250p",
	"queueing.queue.aqm.red.max_th":   "750p",
	"queueing.queue.aqm.red.maxp_inv": 10,
	"queueing.queue.aqm.red.wq_log2":  9,
	"queueing.queue.aqm.red.ecn":      false,
	// Floyd & Jacobson's RED; gentle, Adaptive RED (every 500 ms, the paper's
	// interval) and harddrop are opt-in.
	"queueing.queue.aqm.red.gentle":         false,
	"queueing.queue.aqm.red.adaptive":       false,
	"queueing.queue.aqm.red.adapt_interval": "500ms",
	"queueing.queue.aqm.red.harddrop":       false,
	// RFC 8290 defaults.
	"queueing.queue.fq.enabled": false,
	"queueing.queue.fq.flows":   1024,
	"queueing.queue.fq.quantum": "1514B",
	"queueing.queue.fq.limit":   "10240p",

	"buffer.cell_size":   "256B", // on-chip cell of Jericho-class switches
	"buffer.descriptors": 0,
	"buffer.rtt":         "100ms",
	// Hybrid tiers: NCS 5500 / Jericho figures (16 MB SRAM, 4 GB GDDR5, ~900 Gb/s,
	// evict past ~6000 packets or 200 kB), to be scaled down for a software router.
	"buffer.hybrid.enabled":           false,
	"buffer.hybrid.mode":              "hybrid",
	"buffer.hybrid.onchip":            "16MB",
	"buffer.hybrid.offchip":           "4GB",
	"buffer.hybrid.offchip_bandwidth": "900Gbps",
	"buffer.hybrid.evict_packets":     6000,
	"buffer.hybrid.evict_bytes":       "200KB",
	"buffer.hybrid.pinned_classes":    []int{},
	"buffer.hybrid.copy_offchip":      false,

	"api.listen":    "127.0.0.1:9180",
	"api.token":     "",
	"api.telemetry": true,
}

// elementDefaults fill keys missing from each element of a list, keyed by the list's
// dotted path. Only keys whose default differs from the zero value need to be here.
var elementDefaults = map[string]map[string]any{
	"ports": {
		"mode":        ModeRoute,
		"rx_queues":   1,
		"rx_desc":     1024,
		"tx_desc":     1024,
		"promiscuous": true,
		"mtu":         1500,
	},
	"buffer.pools": {"mode": "dynamic"},
}

// dscpNames maps DSCP names (upper case) to their codepoints: class selectors CSn =
// 8n (RFC 2474), assured forwarding AFxy = 8x+2y (RFC 2597), EF = 46 (RFC 3246),
// VOICE-ADMIT = 44 (RFC 5865), LE = 1 (RFC 8622), and DF/BE/DEFAULT = 0.
var dscpNames = func() map[string]int {
	m := map[string]int{"EF": 46, "VA": 44, "VOICE-ADMIT": 44, "LE": 1, "DF": 0, "BE": 0, "DEFAULT": 0}
	for n := 0; n < 8; n++ {
		m["CS"+strconv.Itoa(n)] = 8 * n
	}
	for x := 1; x <= 4; x++ {
		for y := 1; y <= 3; y++ {
			m[fmt.Sprintf("AF%d%d", x, y)] = 8*x + 2*y
		}
	}
	return m
}()

// parseDSCP accepts a DSCP number 0..63 or a name (case-insensitive).
func parseDSCP(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 0 && n <= 63
	}
	n, ok := dscpNames[strings.ToUpper(s)]
	return n, ok
}

// DefaultDSCPClass returns the built-in DSCP -> class table for the given number of
// classes (1..8). With 8 classes a packet's class is its DSCP class selector, the top
// three DSCP bits: CS0/DF and AF0x -> 0, CS1/AF1x -> 1, CS2/AF2x -> 2, CS3/AF3x -> 3,
// CS4/AF4x -> 4, CS5 and VOICE-ADMIT -> 5, CS6 -> 6, CS7 -> 7, with one exception:
// EF (46) goes to the highest class 7 (the voice queue) rather than 5. With fewer
// classes the selector is scaled down, class = (dscp>>3) * classes / 8, and EF still
// goes to the highest class, classes-1. Entries of queueing.dscp_map replace single
// rows of this table.
func DefaultDSCPClass(classes int) [64]uint8 {
	var t [64]uint8
	if classes < 1 || classes > MaxClasses {
		return t
	}
	for d := range t {
		t[d] = uint8((d >> 3) * classes / MaxClasses)
	}
	t[46] = uint8(classes - 1)
	return t
}
