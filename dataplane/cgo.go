package dataplane

// The dataplane's cgo lives in this file and in telemetry.go (dpdkq's rte_telemetry
// commands, answered on DPDK's telemetry thread): ethdev setup and teardown, the burst calls of the poll
// loop (one call per iteration for the pending tx and every rx queue; tx; tx-or-free
// for control frames; ring hand-off), and rte_lpm management (lookups read its tables
// from Go: lpm.go). Everything else in the package is plain Go.

/*
#cgo pkg-config: libdpdk
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <rte_ethdev.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_lpm.h>
#include <rte_cycles.h>
#include <rte_errno.h>


// Copy a packet into another pool (its dynamic fields included) and free the original.
static uintptr_t dq_move(uintptr_t m, uintptr_t mp) {
	struct rte_mbuf *c = rte_pktmbuf_copy((struct rte_mbuf *)m, (struct rte_mempool *)mp, 0, UINT32_MAX);
	if (c == NULL) return 0;
	rte_pktmbuf_free((struct rte_mbuf *)m);
	return (uintptr_t)c;
}

// rx burst plus a TSC read, so the loop learns "now" without another call.
static uint16_t dq_rx(uint16_t port, uint16_t q, uintptr_t arr, uint16_t n, uint64_t *tsc) {
	uint16_t got = rte_eth_rx_burst(port, q, (struct rte_mbuf **)arr, n);
	*tsc = rte_rdtsc();
	return got;
}

// tx burst; whatever the device refuses is freed here. Returns the number sent.
static uint16_t dq_tx_or_free(uint16_t port, uint16_t q, uintptr_t arr, uint16_t n) {
	struct rte_mbuf **p = (struct rte_mbuf **)arr;
	uint16_t sent = rte_eth_tx_burst(port, q, p, n);
	if (sent < n) rte_pktmbuf_free_bulk(p + sent, n - sent);
	return sent;
}

// tx burst; the caller keeps what the device refuses (arr[sent:n]). Returns the number sent.
static uint16_t dq_tx(uint16_t port, uint16_t q, uintptr_t arr, uint16_t n) {
	return rte_eth_tx_burst(port, q, (struct rte_mbuf **)arr, n);
}

// One lcore's poll block: the pending tx burst (tn = 0: none) and the rx queues it
// polls, each with its own burst array. dq_poll serves them all in one call: the tx
// first (the count taken in sent; the caller keeps the rest), then every rx queue (got),
// then a TSC read.
#define DQ_MAX_RXQ 128
typedef struct { uint16_t port, queue, got, _pad; uintptr_t arr; } dq_rxq;
typedef struct {
	uintptr_t tarr;
	uint16_t tport, tq, tn, nq, burst, _pad[3];
	uint64_t sent, tsc;
	dq_rxq q[DQ_MAX_RXQ];
} dq_poll_t;

static void dq_poll(uintptr_t pp) {
	dq_poll_t *p = (dq_poll_t *)pp;
	if (p->tn > 0) {
		p->sent = rte_eth_tx_burst(p->tport, p->tq, (struct rte_mbuf **)p->tarr, p->tn);
		p->tn = 0;
	}
	for (uint16_t i = 0; i < p->nq; i++) {
		dq_rxq *q = &p->q[i];
		q->got = rte_eth_rx_burst(q->port, q->queue, (struct rte_mbuf **)q->arr, p->burst);
	}
	p->tsc = rte_rdtsc();
}

// ring enqueue; returns the number handed over (the caller still owns the rest).
static unsigned dq_ring_put(uintptr_t r, uintptr_t arr, unsigned n) {
	return rte_ring_enqueue_burst((struct rte_ring *)r, (void **)arr, n, NULL);
}

static unsigned dq_ring_get(uintptr_t r, uintptr_t arr, unsigned n, uint64_t *tsc) {
	unsigned got = rte_ring_dequeue_burst((struct rte_ring *)r, (void **)arr, n, NULL);
	*tsc = rte_rdtsc();
	return got;
}

// Creators return NULL with rte_errno in *err, read on the thread that set it.
static uintptr_t dq_ring_create(const char *name, unsigned size, int socket, int *err) {
	struct rte_ring *r = rte_ring_create(name, size, socket, RING_F_SC_DEQ);
	*err = r == NULL ? rte_errno : 0;
	return (uintptr_t)r;
}
static void dq_ring_free(uintptr_t r) { rte_ring_free((struct rte_ring *)r); }
static unsigned dq_ring_count(uintptr_t r) { return rte_ring_count((struct rte_ring *)r); }

static uintptr_t dq_lpm_create(const char *name, int socket, uint32_t rules, uint32_t tbl8s, int *err) {
	struct rte_lpm_config c = { .max_rules = rules, .number_tbl8s = tbl8s, .flags = 0 };
	struct rte_lpm *l = rte_lpm_create(name, socket, &c);
	*err = l == NULL ? rte_errno : 0;
	return (uintptr_t)l;
}
static int dq_lpm_add(uintptr_t lpm, uint32_t ip, uint8_t depth, uint32_t nh) {
	return rte_lpm_add((struct rte_lpm *)lpm, ip, depth, nh);
}
static int dq_lpm_delete(uintptr_t lpm, uint32_t ip, uint8_t depth) {
	return rte_lpm_delete((struct rte_lpm *)lpm, ip, depth);
}
// The tables rte_lpm_lookup reads (the layout of struct rte_lpm is public: the lookup
// is inline in rte_lpm.h), so that the poll loop can look up from Go.
static void dq_lpm_tables(uintptr_t lpm, uintptr_t *tbl24, uintptr_t *tbl8) {
	struct rte_lpm *l = (struct rte_lpm *)lpm;
	*tbl24 = (uintptr_t)l->tbl24;
	*tbl8 = (uintptr_t)l->tbl8;
}
static uint32_t dq_lpm_lookup1(uintptr_t lpm, uint32_t ip) {
	uint32_t nh = 0;
	if (rte_lpm_lookup((struct rte_lpm *)lpm, ip, &nh) != 0) return 0;
	return nh | 0x01000000;
}
static void dq_lpm_free(uintptr_t lpm) { rte_lpm_free((struct rte_lpm *)lpm); }

// Probe a device by devargs (vdev or PCI) and return its first ethdev port id.
static int dq_probe(const char *devargs, const char *name, uint16_t *port) {
	int rc = rte_dev_probe(devargs);
	if (rc < 0 && rc != -EEXIST) return rc;
	if (rte_eth_dev_get_port_by_name(name, port) == 0) return 0;
	// PCI devices are named by their address; try the iterator as a fallback.
	struct rte_dev_iterator it;
	uint16_t id;
	RTE_ETH_FOREACH_MATCHING_DEV(id, devargs, &it) {
		*port = id;
		rte_eth_iterator_cleanup(&it);
		return 0;
	}
	return -ENODEV;
}

static int dq_port_setup(uint16_t port, uint16_t nrxq, uint16_t ntxq, uint16_t rxd, uint16_t txd,
                         uintptr_t mpaddr, int promisc, char *err, size_t errlen) {
	struct rte_mempool *mp = (struct rte_mempool *)mpaddr;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	memset(&conf, 0, sizeof(conf));
	int rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0) { snprintf(err, errlen, "dev_info_get: %s", rte_strerror(-rc)); return rc; }
	if (nrxq > info.max_rx_queues) { snprintf(err, errlen, "rx_queues %u > device max %u", nrxq, info.max_rx_queues); return -EINVAL; }
	if (ntxq > info.max_tx_queues) ntxq = info.max_tx_queues;
	if (nrxq > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_IP)) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
	}
	rc = rte_eth_dev_configure(port, nrxq, ntxq, &conf);
	if (rc != 0) { snprintf(err, errlen, "dev_configure(rxq=%u txq=%u): %s", nrxq, ntxq, rte_strerror(-rc)); return rc; }
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (rc != 0) { snprintf(err, errlen, "adjust descriptors: %s", rte_strerror(-rc)); return rc; }
	int socket = rte_eth_dev_socket_id(port);
	for (uint16_t q = 0; q < nrxq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, rxd, socket, NULL, mp);
		if (rc != 0) { snprintf(err, errlen, "rx_queue_setup(%u): %s", q, rte_strerror(-rc)); return rc; }
	}
	for (uint16_t q = 0; q < ntxq; q++) {
		rc = rte_eth_tx_queue_setup(port, q, txd, socket, NULL);
		if (rc != 0) { snprintf(err, errlen, "tx_queue_setup(%u): %s", q, rte_strerror(-rc)); return rc; }
	}
	rc = rte_eth_dev_start(port);
	if (rc != 0) { snprintf(err, errlen, "dev_start: %s", rte_strerror(-rc)); return rc; }
	if (promisc) rte_eth_promiscuous_enable(port); // best effort: some vdevs refuse
	return ntxq;
}

static int dq_port_close(uint16_t port) {
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;
	if (rte_eth_dev_info_get(port, &info) == 0) dev = info.device;
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	if (dev != NULL) return rte_dev_remove(dev);
	return 0;
}

static void dq_mac(uint16_t port, uint8_t *out) {
	struct rte_ether_addr a;
	if (rte_eth_macaddr_get(port, &a) == 0) memcpy(out, a.addr_bytes, 6);
}

typedef struct { uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf; } dq_stats;
static int dq_port_stats(uint16_t port, dq_stats *s) {
	struct rte_eth_stats st;
	int rc = rte_eth_stats_get(port, &st);
	if (rc != 0) return rc;
	s->ipackets = st.ipackets; s->opackets = st.opackets; s->ibytes = st.ibytes; s->obytes = st.obytes;
	s->imissed = st.imissed; s->ierrors = st.ierrors; s->oerrors = st.oerrors; s->rx_nombuf = st.rx_nombuf;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/dpdkq/dpdkq/lcore"
)

func dpdkErr(rc C.int) string { return lcore.Strerror(int(rc)) }

// ---- burst calls (hot path) ----

// rxBurst is one rx burst with a TSC read (the loop polls through poller; tests read
// devices back with it).
func rxBurst(port, q uint16, arr uintptr, n int, tsc *uint64) int {
	return int(C.dq_rx(C.uint16_t(port), C.uint16_t(q), C.uintptr_t(arr), C.uint16_t(n), (*C.uint64_t)(unsafe.Pointer(tsc))))
}

func txBurstOrFree(port, q uint16, arr uintptr, n int) int {
	return int(C.dq_tx_or_free(C.uint16_t(port), C.uint16_t(q), C.uintptr_t(arr), C.uint16_t(n)))
}

// txBurst sends arr[:n] and returns how many the device took; the caller still owns
// the rest.
func txBurst(port, q uint16, arr uintptr, n int) int {
	return int(C.dq_tx(C.uint16_t(port), C.uint16_t(q), C.uintptr_t(arr), C.uint16_t(n)))
}

// maxRxQueues is how many rx queues one lcore may poll (DQ_MAX_RXQ).
const maxRxQueues = C.DQ_MAX_RXQ

// poller is one lcore's poll block in C memory (see dq_poll): the loop's pending tx
// burst and all its rx queues in one cgo call per iteration.
type poller struct {
	p *C.dq_poll_t
}

// newPoller sets up the block for the rx queues qs (each with its array) and bursts of
// burst.
func newPoller(qs []rxq, burst int) (*poller, error) {
	if len(qs) > maxRxQueues {
		return nil, fmt.Errorf("an lcore polls at most %d rx queues, this one has %d", maxRxQueues, len(qs))
	}
	p := &poller{p: (*C.dq_poll_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.dq_poll_t{}))))}
	p.p.nq, p.p.burst = C.uint16_t(len(qs)), C.uint16_t(burst)
	for i, q := range qs {
		p.p.q[i] = C.dq_rxq{port: C.uint16_t(q.id), queue: C.uint16_t(q.queue), arr: C.uintptr_t(q.buf.Addr())}
	}
	return p, nil
}

// setTx makes arr[:n] on (port, q) the tx burst of the next poll.
func (p *poller) setTx(port, q uint16, arr uintptr, n int) {
	p.p.tport, p.p.tq, p.p.tarr, p.p.tn = C.uint16_t(port), C.uint16_t(q), C.uintptr_t(arr), C.uint16_t(n)
}

// poll is the one cgo call: it returns the TSC after the rx bursts and how many frames
// the tx burst set by setTx (if any) sent.
func (p *poller) poll() (tsc uint64, sent int) {
	C.dq_poll(C.uintptr_t(uintptr(unsafe.Pointer(p.p))))
	return uint64(p.p.tsc), int(p.p.sent)
}

// got is what rx queue i received in the last poll.
func (p *poller) got(i int) int { return int(p.p.q[i].got) }

func (p *poller) close() {
	C.free(unsafe.Pointer(p.p))
	p.p = nil
}

func ringPut(r, arr uintptr, n int) int {
	return int(C.dq_ring_put(C.uintptr_t(r), C.uintptr_t(arr), C.uint(n)))
}

func ringGet(r, arr uintptr, n int, tsc *uint64) int {
	return int(C.dq_ring_get(C.uintptr_t(r), C.uintptr_t(arr), C.uint(n), (*C.uint64_t)(unsafe.Pointer(tsc))))
}

// ---- control path ----

// copyOffchip moves a packet into the off-chip pool: one cgo call per packet, which is
// the point — it models the write into a second memory.
func (r *Router) copyOffchip(m uintptr) uintptr {
	return uintptr(C.dq_move(C.uintptr_t(m), C.uintptr_t(r.offPool.Ptr())))
}

func ringCreate(name string, size int, socket int) (uintptr, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var errno C.int
	r := C.dq_ring_create(cn, C.uint(size), C.int(socket), &errno)
	if r == 0 {
		return 0, fmt.Errorf("rte_ring_create(%s, %d): %s", name, size, dpdkErr(errno))
	}
	return uintptr(r), nil
}

func ringFree(r uintptr)      { C.dq_ring_free(C.uintptr_t(r)) }
func ringCount(r uintptr) int { return int(C.dq_ring_count(C.uintptr_t(r))) }

func lpmCreate(name string, rules, tbl8s uint32) (uintptr, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var errno C.int
	l := C.dq_lpm_create(cn, -1, C.uint32_t(rules), C.uint32_t(tbl8s), &errno)
	if l == 0 {
		return 0, fmt.Errorf("rte_lpm_create(%s): %s", name, dpdkErr(errno))
	}
	return uintptr(l), nil
}

func lpmAdd(l uintptr, ip uint32, depth uint8, nh uint32) error {
	if rc := C.dq_lpm_add(C.uintptr_t(l), C.uint32_t(ip), C.uint8_t(depth), C.uint32_t(nh)); rc < 0 {
		return fmt.Errorf("rte_lpm_add: %s", dpdkErr(rc))
	}
	return nil
}

func lpmDelete(l uintptr, ip uint32, depth uint8) error {
	if rc := C.dq_lpm_delete(C.uintptr_t(l), C.uint32_t(ip), C.uint8_t(depth)); rc < 0 {
		return fmt.Errorf("rte_lpm_delete: %s", dpdkErr(rc))
	}
	return nil
}

func lpmFree(l uintptr) { C.dq_lpm_free(C.uintptr_t(l)) }

// lpmTables returns the addresses of an rte_lpm's tbl24 and tbl8 arrays (see lpmTable).
func lpmTables(l uintptr) (tbl24, tbl8 uintptr) {
	var a, b C.uintptr_t
	C.dq_lpm_tables(C.uintptr_t(l), &a, &b)
	return uintptr(a), uintptr(b)
}

// lpmLookupC is rte_lpm_lookup itself, for tests: the next hop | lpmHit, or 0.
func lpmLookupC(l uintptr, ip uint32) uint32 {
	return uint32(C.dq_lpm_lookup1(C.uintptr_t(l), C.uint32_t(ip)))
}

func probePort(devargs, name string) (uint16, error) {
	ca, cn := C.CString(devargs), C.CString(name)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cn))
	var id C.uint16_t
	if rc := C.dq_probe(ca, cn, &id); rc < 0 {
		return 0, fmt.Errorf("probing device %q: %s", devargs, probeErr(rc))
	}
	return uint16(id), nil
}

// probeErr explains rte_dev_probe's return codes. It returns a negative errno of its
// own (-EFAULT: no bus recognises the name; -ENOTSUP: no driver takes it) or, for a
// driver that refused the device, that driver's return value: usually -1, which is no
// errno (as an errno it would read "Operation not permitted").
func probeErr(rc C.int) string {
	switch rc {
	case -C.EFAULT:
		return "no DPDK bus or driver recognises this device name (a vdev is named after its driver, e.g. net_pcap0 or net_ring0; a PCI device by its address)"
	case -C.ENOTSUP, -C.ENODEV:
		return "no DPDK driver takes this device (" + dpdkErr(rc) + ")"
	case -1:
		return "the driver refused the device or its arguments (for example a pcap file that cannot be opened); its log line above says why"
	}
	return dpdkErr(rc)
}

// setupPort configures, starts and (optionally) sets promiscuous mode; returns the
// number of tx queues actually configured (devices may offer fewer than asked).
func setupPort(id uint16, nrxq, ntxq, rxd, txd int, pool uintptr, promisc bool) (int, error) {
	var errbuf [256]C.char
	p := 0
	if promisc {
		p = 1
	}
	rc := C.dq_port_setup(C.uint16_t(id), C.uint16_t(nrxq), C.uint16_t(ntxq), C.uint16_t(rxd), C.uint16_t(txd),
		C.uintptr_t(pool), C.int(p), &errbuf[0], C.size_t(len(errbuf)))
	if rc < 0 {
		return 0, fmt.Errorf("%s", C.GoString(&errbuf[0]))
	}
	return int(rc), nil
}

func closePort(id uint16) error {
	if rc := C.dq_port_close(C.uint16_t(id)); rc < 0 {
		return fmt.Errorf("removing port %d: %s", id, dpdkErr(rc))
	}
	return nil
}

func portMAC(id uint16) (mac [6]byte) {
	C.dq_mac(C.uint16_t(id), (*C.uint8_t)(unsafe.Pointer(&mac[0])))
	return
}

// DevStats are the device's own counters (rte_eth_stats).
type DevStats struct {
	IPackets, OPackets, IBytes, OBytes, IMissed, IErrors, OErrors, RxNoMbuf uint64
}

func portStats(id uint16) (DevStats, error) {
	var s C.dq_stats
	if rc := C.dq_port_stats(C.uint16_t(id), &s); rc != 0 {
		return DevStats{}, fmt.Errorf("rte_eth_stats_get(%d): %s", id, dpdkErr(rc))
	}
	return DevStats{uint64(s.ipackets), uint64(s.opackets), uint64(s.ibytes), uint64(s.obytes),
		uint64(s.imissed), uint64(s.ierrors), uint64(s.oerrors), uint64(s.rx_nombuf)}, nil
}
