// Package lcore is the EAL edge of dpdkq: it initializes and tears down DPDK's
// Environment Abstraction Layer and runs Go functions on EAL worker lcores.
//
// rte_eal_init makes the calling OS thread the main lcore, so Init must be called from
// a goroutine locked to its thread (runtime.LockOSThread), normally the program's main
// goroutine locked in an init function. EAL can be initialized once per process.
package lcore

/*
#cgo pkg-config: libdpdk
#include <stdlib.h>
#include <stdint.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_version.h>
#include <rte_errno.h>
#include <rte_cycles.h>

extern int dqLcoreEntry(unsigned int id);

static int dq_entry(void *arg) { return dqLcoreEntry((unsigned int)(uintptr_t)arg); }
static int dq_launch(unsigned int id) { return rte_eal_remote_launch(dq_entry, (void *)(uintptr_t)id, id); }
// rte_eal_init with its rte_errno read on the same thread, in the same call.
static int dq_eal_init(int argc, char **argv, int *err) {
	int ret = rte_eal_init(argc, argv);
	*err = ret < 0 ? rte_errno : 0;
	return ret;
}
static unsigned int dq_next_worker(unsigned int i) { return rte_get_next_lcore(i, 1, 0); }
static uint64_t dq_tsc_hz(void) { return rte_get_tsc_hz(); }
static uint64_t dq_rdtsc(void) { return rte_rdtsc(); }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

var (
	mu       sync.Mutex
	inited   bool
	cleaned  bool
	launched = map[uint]func() int{}
)

// Init initializes the EAL with the given arguments (without argv[0]). It must run on
// a goroutine locked to its OS thread, which becomes the main lcore.
func Init(args []string) error {
	mu.Lock()
	defer mu.Unlock()
	if inited {
		return errors.New("lcore: EAL already initialized (DPDK allows one init per process)")
	}
	argv := append([]string{"dpdkq"}, args...)
	cargv := C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(cargv)
	ptrs := unsafe.Slice((**C.char)(cargv), len(argv))
	for i, a := range argv {
		ptrs[i] = C.CString(a)
	}
	// rte_eal_init may permute argv; free every string we allocated, not argv's final order.
	owned := append([]*C.char(nil), ptrs...)
	defer func() {
		for _, p := range owned {
			C.free(unsafe.Pointer(p))
		}
	}()
	var errno C.int
	ret := C.dq_eal_init(C.int(len(argv)), (**C.char)(cargv), &errno)
	if ret < 0 {
		return fmt.Errorf("lcore: rte_eal_init(%v) failed: %s", args, Strerror(int(errno)))
	}
	inited = true
	// Each worker lcore running a Go loop needs its own P, plus one for the runtime and
	// control plane goroutines.
	if need := int(C.rte_lcore_count()) + 1; runtime.GOMAXPROCS(0) < need {
		runtime.GOMAXPROCS(need)
	}
	return nil
}

// Initialized reports whether Init succeeded in this process.
func Initialized() bool { mu.Lock(); defer mu.Unlock(); return inited && !cleaned }

// Cleanup releases EAL resources. Call after every lcore was waited for.
func Cleanup() error {
	mu.Lock()
	defer mu.Unlock()
	if !inited || cleaned {
		return nil
	}
	cleaned = true
	if ret := C.rte_eal_cleanup(); ret < 0 {
		return fmt.Errorf("lcore: rte_eal_cleanup: %s", Strerror(int(-ret)))
	}
	return nil
}

// Strerror returns DPDK's text for an errno value (rte_errno, or a negative return
// code), with the number: the one rte_strerror wrapper of dpdkq's cgo packages. Read
// rte_errno in the C function that made the failing call: it is per thread. 0 means
// DPDK gave no reason (some failures, such as rte_eal_init finding its --file-prefix
// taken by another process, only log one).
func Strerror(errnum int) string {
	if errnum < 0 {
		errnum = -errnum
	}
	if errnum == 0 {
		return "DPDK gave no error code (its log above says why)"
	}
	return fmt.Sprintf("%s (errno %d)", C.GoString(C.rte_strerror(C.int(errnum))), errnum)
}

// MainID is the main lcore's id.
func MainID() uint { return uint(C.rte_get_main_lcore()) }

// Count is the number of enabled lcores (main included).
func Count() int { return int(C.rte_lcore_count()) }

// Workers lists the enabled lcores other than the main one, in id order.
func Workers() []uint {
	var ids []uint
	for i := C.dq_next_worker(^C.uint(0)); i < C.RTE_MAX_LCORE; i = C.dq_next_worker(i) {
		ids = append(ids, uint(i))
	}
	return ids
}

// Enabled reports whether lcore id is enabled in this EAL.
func Enabled(id uint) bool { return id < C.RTE_MAX_LCORE && C.rte_lcore_is_enabled(C.uint(id)) != 0 }

// Launch runs fn on worker lcore id. fn runs on the EAL thread (a cgo callback), so it
// may use per-lcore DPDK state such as mempool caches. Wait collects its result.
func Launch(id uint, fn func() int) error {
	if !Enabled(id) || id == MainID() {
		return fmt.Errorf("lcore: %d is not an enabled worker lcore (workers: %v)", id, Workers())
	}
	mu.Lock()
	if _, busy := launched[id]; busy {
		mu.Unlock()
		return fmt.Errorf("lcore: %d is already running a function", id)
	}
	launched[id] = fn
	mu.Unlock()
	if ret := C.dq_launch(C.uint(id)); ret != 0 {
		mu.Lock()
		delete(launched, id)
		mu.Unlock()
		return fmt.Errorf("lcore: rte_eal_remote_launch on %d: %s", id, Strerror(int(-ret)))
	}
	return nil
}

// Wait blocks until the function launched on lcore id returns, and returns its result.
// It must be called from the main lcore's thread.
func Wait(id uint) int {
	ret := int(C.rte_eal_wait_lcore(C.uint(id)))
	mu.Lock()
	delete(launched, id)
	mu.Unlock()
	return ret
}

//export dqLcoreEntry
func dqLcoreEntry(id C.uint) C.int {
	mu.Lock()
	fn := launched[uint(id)]
	mu.Unlock()
	if fn == nil {
		return -1
	}
	// The EAL thread stays this goroutine's thread for the whole loop.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return C.int(fn())
}

// ID returns the calling thread's lcore id, or -1 on a non-EAL thread.
func ID() int {
	id := C.rte_lcore_id()
	if id >= C.RTE_MAX_LCORE {
		return -1
	}
	return int(id)
}

// Version is the DPDK version string the binary is linked against.
func Version() string { return C.GoString(C.rte_version()) }

// TSCHz is the TSC frequency DPDK measured.
func TSCHz() uint64 { return uint64(C.dq_tsc_hz()) }

// RDTSC reads the TSC (one cgo call; the dataplane reads it inside its rx call instead).
func RDTSC() uint64 { return uint64(C.dq_rdtsc()) }
