package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks every key and fills the resolved fields (parsed rates, prefixes,
// MACs, sizes, the worker set, the rx plan and the route table). It expects a Config
// with defaults applied, as Load produces; it reports every problem it finds, joined
// (see Problems). It may be called again after the caller edits the Config.
func (c *Config) Validate() error {
	p := &problems{}
	c.validate(p)
	return p.err()
}

// validate runs all checks in file order; later checks use what earlier ones resolved
// and stay quiet about references that an earlier check already reported.
func (c *Config) validate(p *problems) {
	c.validateLog(p)
	c.validateEAL(p)
	c.validateWorkers(p)
	if c.BurstSize < 1 || c.BurstSize > maxBurst {
		p.add("burst_size", c.BurstSize, "want 1..%d packets", maxBurst)
	}
	if c.StallThreshold < minStallThreshold || c.StallThreshold > maxStallThreshold {
		p.add("stall_threshold", c.StallThreshold, "want %v..%v, e.g. 1ms", minStallThreshold, maxStallThreshold)
	}
	if c.Buffer.RTT <= 0 {
		p.add("buffer.rtt", c.Buffer.RTT, "want a positive duration, e.g. 100ms (used by bdp sizes)")
	}
	ports := c.validatePorts(p)
	c.validateMempool(p)
	c.validateRX(p, ports)
	c.validateRoutes(p, ports)
	c.validateNeighbors(p, ports)
	c.validateQueueing(p)
	c.validateBuffer(p, ports)
	c.validateAPI(p)
}

// maxBurst bounds burst_size: 512 is the largest burst DPDK drivers commonly accept
// in one rx/tx call, and the poll loop keeps burst arrays of this size.
const maxBurst = 512

// stall_threshold bounds: below 10 µs ordinary iterations (a full burst through the
// queues) would count; above 10 s a stall is no longer a stall but a hang.
const (
	minStallThreshold = 10 * time.Microsecond
	maxStallThreshold = 10 * time.Second
)

// maxLcore bounds lcore ids: DPDK 22.11's default RTE_MAX_LCORE is 128.
const maxLcore = 128

func (c *Config) validateLog(p *problems) {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		p.add("log.level", c.Log.Level, "%s", oneOf("debug", "info", "warn", "error"))
	}
	if !slices.Contains([]string{"console", "json"}, c.Log.Format) {
		p.add("log.format", c.Log.Format, "%s", oneOf("console", "json"))
	}
}

// ParseLcoreList parses a DPDK -l list such as "0-3", "0,2" or "0-1,4" into sorted,
// unique lcore ids.
func ParseLcoreList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty lcore list")
	}
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b >= maxLcore {
			return nil, fmt.Errorf("bad item %q: want N or N-M with 0 <= N <= M < %d", item, maxLcore)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// reservedEALArgs are EAL options that dedicated keys generate; giving them again in
// eal.extra_args would conflict.
var reservedEALArgs = map[string]string{
	"-l": "eal.lcores", "-c": "eal.lcores", "--lcores": "eal.lcores", "--main-lcore": "eal.main_lcore",
	"-m": "eal.memory_mb", "--no-huge": "eal.no_huge", "--no-pci": "eal.no_pci", "--file-prefix": "eal.file_prefix",
}

func (c *Config) validateEAL(p *problems) {
	e := &c.EAL
	ids, err := ParseLcoreList(e.Lcores)
	e.LcoreIDs = ids
	if err != nil {
		p.add("eal.lcores", e.Lcores, "%v", err)
	} else if !slices.Contains(ids, e.MainLcore) {
		p.add("eal.main_lcore", e.MainLcore, "not in eal.lcores %q", e.Lcores)
	}
	// 64 MB is about the least DPDK's own structures need before any mbuf pool.
	if e.MemoryMB < 64 || e.MemoryMB > 1<<20 {
		p.add("eal.memory_mb", e.MemoryMB, "want 64..1048576 MB")
	}
	if !fileNameRe.MatchString(e.FilePrefix) {
		p.add("eal.file_prefix", e.FilePrefix, "want 1-32 characters of [A-Za-z0-9_.-] (it names files under /var/run/dpdk)")
	}
	for i, a := range e.ExtraArgs {
		name, _, _ := strings.Cut(a, "=")
		if key, ok := reservedEALArgs[name]; ok {
			p.add(fmt.Sprintf("eal.extra_args[%d]", i), a, "set %s instead", key)
		} else if strings.TrimSpace(a) == "" {
			p.add(fmt.Sprintf("eal.extra_args[%d]", i), nil, "empty argument")
		}
	}
}

func (c *Config) validateWorkers(p *problems) {
	ids, main := c.EAL.LcoreIDs, c.EAL.MainLcore
	c.WorkerLcores = nil
	if len(c.Workers) == 0 {
		for _, id := range ids {
			if id != main {
				c.WorkerLcores = append(c.WorkerLcores, id)
			}
		}
		if len(c.WorkerLcores) == 0 && ids != nil {
			p.add("workers", nil, "no worker lcore: eal.lcores %q holds only the main lcore %d; give at least two lcores",
				c.EAL.Lcores, main)
		}
		return
	}
	seen := map[int]bool{}
	for i, w := range c.Workers {
		key := fmt.Sprintf("workers[%d]", i)
		switch {
		case ids != nil && !slices.Contains(ids, w):
			p.add(key, w, "not in eal.lcores %q", c.EAL.Lcores)
		case w == main:
			p.add(key, w, "is the main lcore (eal.main_lcore); workers must be other lcores")
		case seen[w]:
			p.add(key, w, "listed twice")
		}
		seen[w] = true
	}
	c.WorkerLcores = append([]int(nil), c.Workers...)
}

func (c *Config) validateMempool(p *problems) {
	m := &c.Mempool
	// 1<<24 mbufs of 2 KB is 32 GB: beyond that it is surely a typo.
	if m.Mbufs < 1 || m.Mbufs > 1<<24 {
		p.add("mempool.mbufs", m.Mbufs, "want 1..16777216")
	}
	// DPDK caps per-lcore caches at RTE_MEMPOOL_CACHE_MAX_SIZE (512) and refuses a
	// cache whose flush threshold (1.5 x cache) exceeds the pool.
	if m.Cache < 0 || m.Cache > 512 {
		p.add("mempool.cache", m.Cache, "want 0..512")
	} else if m.Cache*3/2 > m.Mbufs && m.Mbufs > 0 {
		p.add("mempool.cache", m.Cache, "want at most mbufs/1.5 = %d (DPDK's flush threshold)", m.Mbufs*2/3)
	}
	if m.DataRoom < mbufHeadroom+64 || m.DataRoom > 65535 {
		p.add("mempool.data_room", m.DataRoom, "want %d..65535 bytes (128 B headroom plus at least a 64 B frame)", mbufHeadroom+64)
	}
}

// mbufHeadroom is DPDK's RTE_PKTMBUF_HEADROOM, taken from every mbuf's data room.
const mbufHeadroom = 128

func (c *Config) validateAPI(p *problems) {
	a := &c.API
	if a.Listen == "" {
		return
	}
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		p.add("api.listen", a.Listen, "want host:port such as 127.0.0.1:9180, or \"\" to disable the API")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.add("api.listen", a.Listen, "want a port number 1..65535")
	}
	loopback := host == "localhost"
	if !loopback && host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			p.add("api.listen", a.Listen, "want an IP address or localhost as the host")
			return
		}
		loopback = ip.IsLoopback()
	}
	if !loopback && a.Token == "" {
		p.add("api.token", nil, "required because api.listen %q is not a loopback address", a.Listen)
	}
}
