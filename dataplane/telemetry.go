package dataplane

// DPDK telemetry: dpdkq registers its own commands with rte_telemetry, so
// dpdk-telemetry.py (or anything speaking the v2 socket protocol) can query
// /dpdkq/ports and /dpdkq/queues next to DPDK's built-in /ethdev/stats. The callbacks
// run on DPDK's telemetry thread and read the same published snapshots as the API.

/*
#cgo pkg-config: libdpdk
#include <stdlib.h>
#include <rte_telemetry.h>

extern int dqTelemetry(char *cmd, struct rte_tel_data *d);

static int dq_tel_cb(const char *cmd, const char *params, struct rte_tel_data *d) {
	(void)params;
	return dqTelemetry((char *)cmd, d);
}
static int dq_tel_register(const char *cmd, const char *help) {
	return rte_telemetry_register_cmd(cmd, dq_tel_cb, help);
}
static struct rte_tel_data *dq_tel_dict(void) {
	struct rte_tel_data *c = rte_tel_data_alloc();
	if (c != NULL) rte_tel_data_start_dict(c);
	return c;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dpdkq/dpdkq/pkt"
)

var (
	telOnce   sync.Once
	telErr    error
	telRouter atomic.Pointer[Router] // the router the commands describe
)

// Telemetry commands.
const (
	TelPorts  = "/dpdkq/ports"
	TelQueues = "/dpdkq/queues"
)

// RegisterTelemetry makes the router answer dpdkq's telemetry commands. Commands can be
// registered once per process; later routers take over the answers.
func (r *Router) RegisterTelemetry() error {
	telOnce.Do(func() {
		for _, c := range []struct{ cmd, help string }{
			{TelPorts, "dpdkq per-port counters: rx/tx packets and bytes, forwarded, drops by reason. No parameters."},
			{TelQueues, "dpdkq queues: depth, peak, dequeued, drops, sojourn p50/p99 (us), AQM. No parameters."},
		} {
			cc, ch := C.CString(c.cmd), C.CString(c.help)
			rc := C.dq_tel_register(cc, ch)
			C.free(unsafe.Pointer(cc))
			C.free(unsafe.Pointer(ch))
			if rc != 0 {
				telErr = fmt.Errorf("rte_telemetry_register_cmd(%s): %s", c.cmd, dpdkErr(rc))
				return
			}
		}
	})
	if telErr == nil {
		telRouter.Store(r)
	}
	return telErr
}

type telDict struct{ d *C.struct_rte_tel_data }

func (t telDict) u64(name string, v uint64) {
	cn := C.CString(name)
	C.rte_tel_data_add_dict_u64(t.d, cn, C.uint64_t(v))
	C.free(unsafe.Pointer(cn))
}

func (t telDict) str(name, v string) {
	cn, cv := C.CString(name), C.CString(v)
	C.rte_tel_data_add_dict_string(t.d, cn, cv)
	C.free(unsafe.Pointer(cn))
	C.free(unsafe.Pointer(cv))
}

// child adds a nested dict under name (DPDK frees it with the parent).
func (t telDict) child(name string) telDict {
	c := C.dq_tel_dict()
	if c == nil {
		return telDict{}
	}
	cn := C.CString(name)
	C.rte_tel_data_add_dict_container(t.d, cn, c, 0)
	C.free(unsafe.Pointer(cn))
	return telDict{c}
}

//export dqTelemetry
func dqTelemetry(cmd *C.char, d *C.struct_rte_tel_data) C.int {
	r := telRouter.Load()
	C.rte_tel_data_start_dict(d)
	if r == nil || r.stop.Load() {
		return 0
	}
	top := telDict{d}
	switch C.GoString(cmd) {
	case TelPorts:
		names := r.PortNames()
		for i, c := range r.Counters() {
			p := top.child(names[i])
			if p.d == nil {
				return -1
			}
			p.u64("rx_packets", c.RxPackets)
			p.u64("rx_bytes", c.RxBytes)
			p.u64("tx_packets", c.TxPackets)
			p.u64("tx_bytes", c.TxBytes)
			p.u64("forwarded", c.Fwd)
			p.u64("drops", c.DropTotal())
			for reason, v := range c.Drops {
				if v != 0 && pkt.DropReason(reason) != pkt.DropShutdown {
					p.u64("drop_"+pkt.DropReason(reason).String(), v)
				}
			}
		}
	case TelQueues:
		names := r.PortNames()
		name := func(i int) string {
			if i < 0 || i >= len(names) {
				return "all"
			}
			return names[i]
		}
		n := 0
		for _, as := range r.QueueSnapshots() {
			for i := range as.Queues {
				q := &as.Queues[i]
				if n == 200 { // RTE_TEL_MAX_DICT_ENTRIES is 256
					top.u64("truncated", 1)
					return 0
				}
				n++
				cls := "all"
				if q.Class >= 0 {
					cls = fmt.Sprint(q.Class)
				}
				// Telemetry names allow letters, digits and underscores.
				e := top.child(fmt.Sprintf("q%d_%s_from_%s_class%s", q.Index, name(q.Port), name(q.Input), cls))
				if e.d == nil {
					return -1
				}
				e.u64("depth_packets", uint64(q.Pkts))
				e.u64("depth_bytes", uint64(q.Bytes))
				e.u64("peak_packets", uint64(q.PeakPkts))
				e.u64("dequeued", q.Dequeued)
				e.u64("drops", q.TotalDrops())
				e.u64("ce_marked", q.Marks)
				if q.Sojourn.Count() > 0 {
					e.u64("sojourn_p50_us", uint64(q.Sojourn.Quantile(0.5)/1000))
					e.u64("sojourn_p99_us", uint64(q.Sojourn.Quantile(0.99)/1000))
				}
				e.str("aqm", q.AQM.Kind.String())
			}
		}
	}
	return 0
}
