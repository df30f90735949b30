// Package carving divides shared buffer pools among queues the way merchant switch
// silicon and SONiC/SAI describe it: each pool has a size, each queue is bound to a
// profile that grants it a private reserved area and a threshold on how much of the
// pool's shared area it may take. Thresholds are either static (a byte count) or
// dynamic (Choudhury & Hahne, INFOCOM 1996): a queue may hold at most alpha times the
// shared space that is still free, alpha = 2^n with n in -7..7 as SONiC's dynamic_th.
// With S saturated queues the dynamic rule settles at alpha*B/(1+alpha*S) per queue
// and always leaves B/(1+alpha*S) free for a queue that wakes up.
//
// Memory is accounted the way hardware spends it: in fixed-size cells (a 64 B packet
// in 256 B cells wastes 75%) and in packet descriptors (one per packet), so a pool can
// run out of descriptors long before it runs out of bytes ("An Update on Router Buffering", "Buffer
// Efficiency, Carving, and Sharing").
//
// The package knows nothing of packets or queues beyond a dense queue index and a
// frame length, so any queueing code can call it. One goroutine (the dataplane lcore
// that owns the queues) calls Admit, Release, the Set* methods and Publish; any other
// goroutine may call Snapshot at any time.
package carving

import (
	"errors"
	"fmt"
)

// Mode is how a pool's profiles express their threshold.
type Mode uint8

const (
	// Dynamic pools give each profile a dynamic_th exponent n: the queue's share of
	// the shared area is limited to 2^n times the shared space currently free.
	Dynamic Mode = iota
	// Static pools give each profile a fixed static_th in bytes of shared usage.
	Static
)

func (m Mode) String() string {
	if m == Static {
		return "static"
	}
	return "dynamic"
}

// DefaultCellSize is the accounting cell used when Config.CellSize is 0. 256 B is the
// on-chip cell of Broadcom's DNX family (Jericho) and a common value elsewhere.
const DefaultCellSize = 256

// MinDynamicTh and MaxDynamicTh bound dynamic_th n (alpha = 2^n, 1/128 .. 128), the
// range SONiC accepts.
const (
	MinDynamicTh = -7
	MaxDynamicTh = 7
)

// Pool is one shared buffer pool as configured (SONiC BUFFER_POOL).
type Pool struct {
	Name        string
	Size        int64 // bytes of buffer memory in the pool
	Mode        Mode  // how the pool's profiles express thresholds
	Descriptors int64 // packet descriptors available to the pool; 0 = unlimited
}

// Profile is a per-queue buffer policy (SONiC BUFFER_PROFILE). The threshold kind
// follows the pool: DynamicTh is used in a Dynamic pool and StaticTh in a Static one;
// setting the other field is a configuration error (they are exclusive, as in SONiC).
type Profile struct {
	Name      string
	Pool      string // name of the pool the profile draws from
	Reserved  int64  // bytes guaranteed to each queue bound to this profile
	DynamicTh int    // n in MinDynamicTh..MaxDynamicTh, alpha = 2^n (Dynamic pools)
	StaticTh  int64  // bytes of shared usage allowed per queue (Static pools)
}

// Config is everything New needs.
type Config struct {
	CellSize    int       // accounting cell in bytes; 0 means DefaultCellSize
	Descriptors int64     // packet descriptors shared by all pools; 0 = unlimited
	Pools       []Pool    // at least one
	Profiles    []Profile // at least one
	// Bindings[q] names the profile of queue q; len(Bindings) is the number of queues.
	Bindings []string
}

// errf builds a configuration error. Only constructors and Set* methods use it.
func errf(format string, a ...any) error { return fmt.Errorf("carving: "+format, a...) }

// ProfileError is a profile parameter out of range; Profile and Param name it, so a
// caller can name its own key.
type ProfileError struct {
	Profile string // profile name
	Param   string // "dynamic_th", "reserved", "static_th"
	Value   string
	Msg     string // what is allowed
}

// Error formats the problem as `carving: profile "P": Param Value Msg`.
func (e *ProfileError) Error() string {
	return fmt.Sprintf("carving: profile %q: %s %s %s", e.Profile, e.Param, e.Value, e.Msg)
}

// checkDynamicTh is the range of dynamic_th, at construction and in SetAlpha.
func checkDynamicTh(profile string, n int) error {
	if n < MinDynamicTh || n > MaxDynamicTh {
		return &ProfileError{Profile: profile, Param: "dynamic_th", Value: fmt.Sprint(n),
			Msg: fmt.Sprintf("out of range %d..%d", MinDynamicTh, MaxDynamicTh)}
	}
	return nil
}

// validate checks cfg and returns the pool index of every profile and the profile
// index of every queue.
func (cfg *Config) validate() (profPool []int32, bind []int32, err error) {
	if cfg.CellSize < 0 || cfg.CellSize > 1<<20 {
		return nil, nil, errf("cell_size %d out of range 0..%d (0 = %d)", cfg.CellSize, 1<<20, DefaultCellSize)
	}
	if cfg.Descriptors < 0 {
		return nil, nil, errf("descriptors %d must be >= 0 (0 = unlimited)", cfg.Descriptors)
	}
	if len(cfg.Pools) == 0 {
		return nil, nil, errors.New("carving: pools: at least one pool is required")
	}
	if len(cfg.Profiles) == 0 {
		return nil, nil, errors.New("carving: profiles: at least one profile is required")
	}
	if len(cfg.Bindings) == 0 {
		return nil, nil, errors.New("carving: bindings: at least one queue is required")
	}
	poolIdx := make(map[string]int, len(cfg.Pools))
	for i, p := range cfg.Pools {
		if p.Name == "" {
			return nil, nil, errf("pools[%d].name is empty", i)
		}
		if _, dup := poolIdx[p.Name]; dup {
			return nil, nil, errf("pools[%d].name %q is a duplicate", i, p.Name)
		}
		poolIdx[p.Name] = i
		if p.Size <= 0 {
			return nil, nil, errf("pool %q: size %d must be > 0 bytes", p.Name, p.Size)
		}
		if p.Mode != Dynamic && p.Mode != Static {
			return nil, nil, errf("pool %q: mode %d must be dynamic or static", p.Name, p.Mode)
		}
		if p.Descriptors < 0 {
			return nil, nil, errf("pool %q: descriptors %d must be >= 0 (0 = unlimited)", p.Name, p.Descriptors)
		}
	}
	profIdx := make(map[string]int, len(cfg.Profiles))
	profPool = make([]int32, len(cfg.Profiles))
	for i, pr := range cfg.Profiles {
		if pr.Name == "" {
			return nil, nil, errf("profiles[%d].name is empty", i)
		}
		if _, dup := profIdx[pr.Name]; dup {
			return nil, nil, errf("profiles[%d].name %q is a duplicate", i, pr.Name)
		}
		profIdx[pr.Name] = i
		pi, ok := poolIdx[pr.Pool]
		if !ok {
			return nil, nil, errf("profile %q: pool %q is not a configured pool", pr.Name, pr.Pool)
		}
		profPool[i] = int32(pi)
		if pr.Reserved < 0 {
			return nil, nil, errf("profile %q: reserved %d must be >= 0 bytes", pr.Name, pr.Reserved)
		}
		switch cfg.Pools[pi].Mode {
		case Dynamic:
			if err := checkDynamicTh(pr.Name, pr.DynamicTh); err != nil {
				return nil, nil, err
			}
			if pr.StaticTh != 0 {
				return nil, nil, errf("profile %q: static_th %d set but pool %q is dynamic (use dynamic_th)", pr.Name, pr.StaticTh, pr.Pool)
			}
		case Static:
			if pr.DynamicTh != 0 {
				return nil, nil, errf("profile %q: dynamic_th %d set but pool %q is static (use static_th)", pr.Name, pr.DynamicTh, pr.Pool)
			}
			if pr.StaticTh < 0 {
				return nil, nil, errf("profile %q: static_th %d must be >= 0 bytes", pr.Name, pr.StaticTh)
			}
		}
	}
	bind = make([]int32, len(cfg.Bindings))
	reserved := make([]int64, len(cfg.Pools))
	for q, name := range cfg.Bindings {
		pi, ok := profIdx[name]
		if !ok {
			return nil, nil, errf("bindings[%d]: profile %q is not a configured profile", q, name)
		}
		bind[q] = int32(pi)
		reserved[profPool[pi]] += cfg.Profiles[pi].Reserved
	}
	for i, p := range cfg.Pools {
		if reserved[i] > p.Size {
			return nil, nil, errf("pool %q: reserved sum %d bytes over its queues exceeds size %d", p.Name, reserved[i], p.Size)
		}
	}
	return profPool, bind, nil
}
