package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dpdkq/dpdkq/link"
)

var (
	portNameRe = regexp.MustCompile(`^[a-z0-9_-]{1,15}$`)
	fileNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	// pciRe matches a PCI address with an optional domain: 0000:01:00.0 or 01:00.0.
	pciRe = regexp.MustCompile(`^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)
	// vdevRe matches a virtual device name: prefix, driver, instance number.
	vdevRe = regexp.MustCompile(`^(net|eth)_([a-z][a-z0-9_]*?)([0-9]+)$`)
	// devArgRe matches one ",key=value" device argument.
	devArgRe = regexp.MustCompile(`^[A-Za-z0-9_-]+=[^,]+$`)
	// envRefRe matches ${NAME} inside device strings.
	envRefRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// maxPorts is DPDK's default RTE_MAX_ETHPORTS.
const maxPorts = 32

// maxRXQueues bounds rx queues per port; more than 64 is beyond any lab setup and
// most virtual devices.
const maxRXQueues = 64

// ethHeader is the Ethernet header the MTU excludes; DPDK strips the FCS on rx, so a
// full frame in an mbuf is MTU+14 bytes.
const ethHeader = 14

// WireOverhead is what the shaper charges per frame beyond the frame itself: preamble
// and SFD (8), FCS (4) and the inter-frame gap (12).
const WireOverhead = 24

// WireFrameBytes is the largest frame of the port as the shaper charges it on the wire
// (L1): MTU + Ethernet header + WireOverhead.
func (pt *Port) WireFrameBytes() int { return pt.MTU + ethHeader + WireOverhead }

// minRate is the least shaper rate accepted: below 1 kb/s one 1500-byte frame takes
// over 12 s, so such a value is almost surely a unit typo (62.5bps for 62.5Mbps).
const minRate = 1e3

// maxCatchUp bounds ports[i].catch_up: a second of banked link time is already a
// second-long burst faster than the link.
const maxCatchUp = time.Second

// maxDelay bounds a port's fixed egress delay; a lab link emulation never needs more,
// and the delay line must hold rate*delay bytes of mbufs.
const maxDelay = 10 * time.Second

// expandDevice replaces ${NAME} references by environment values. It fails on an unset
// or empty variable and on a "$" that does not start a ${NAME} reference.
func expandDevice(s string) (string, error) {
	var missing []string
	out := envRefRe.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRefRe.FindStringSubmatch(ref)[1]
		v := os.Getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set (or empty); set it or write the path out",
			strings.Join(missing, ", "))
	}
	if strings.Contains(envRefRe.ReplaceAllString(s, ""), "$") {
		return "", fmt.Errorf("a $ must start a ${NAME} environment reference")
	}
	return out, nil
}

// VdevDrivers are the names DPDK 22.11's virtual network drivers register (a vdev is
// named net_DRIVERn, or eth_DRIVERn with the older aliases); a name outside the list
// would fail at probe time with an errno that does not say why.
var VdevDrivers = []string{"af_packet", "af_xdp", "bonding", "failsafe", "kni", "memif", "null", "pcap", "ring",
	"softnic", "tap", "tun", "vdev_netvsc", "vhost", "virtio_user"}

// checkDevice validates a PCI address or vdev name followed by optional ,key=value
// arguments, and returns the device name (the part before the first comma).
func checkDevice(dev string) (name string, isPCI bool, err error) {
	parts := strings.Split(dev, ",")
	name = parts[0]
	isPCI = pciRe.MatchString(name)
	if !isPCI {
		m := vdevRe.FindStringSubmatch(name)
		if m == nil || !slices.Contains(VdevDrivers, m[2]) {
			drv := name
			if m != nil {
				drv = m[2]
			}
			return name, false, fmt.Errorf("want a PCI address (0000:01:00.0) or a vdev net_DRIVERn with DRIVER one of %s%s, "+
				"optionally followed by ,key=value arguments", strings.Join(VdevDrivers, ", "), suggest(drv, VdevDrivers))
		}
	}
	for _, a := range parts[1:] {
		if !devArgRe.MatchString(a) {
			return name, isPCI, fmt.Errorf("bad device argument %q: want key=value", a)
		}
	}
	return name, isPCI, nil
}

// ParseMAC parses a unicast Ethernet address "02:00:00:00:00:01" (config keys and
// live changes alike).
func ParseMAC(s string) ([6]byte, error) {
	var out [6]byte
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return out, fmt.Errorf("want a MAC address like 02:00:00:00:00:01")
	}
	copy(out[:], hw)
	if out[0]&1 != 0 || out == [6]byte{} {
		return out, fmt.Errorf("want a unicast, non-zero MAC address")
	}
	return out, nil
}

// parseIPv4 parses a dotted-quad IPv4 address.
func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("want an IPv4 address like 10.1.0.2")
	}
	return a, nil
}

// validatePorts checks every port and returns the name -> index map of the ports
// whose names are valid.
func (c *Config) validatePorts(p *problems) map[string]int {
	idx := map[string]int{}
	devs := map[string]int{}
	if len(c.Ports) == 0 {
		p.add("ports", nil, "at least one port is required")
	} else if len(c.Ports) > maxPorts {
		p.add("ports", len(c.Ports), "at most %d ports (DPDK's RTE_MAX_ETHPORTS)", maxPorts)
	}
	for i := range c.Ports {
		pt := &c.Ports[i]
		key := fmt.Sprintf("ports[%d]", i)
		pt.Index, pt.PeerIndex = i, -1
		switch j, dup := idx[pt.Name]; {
		case !portNameRe.MatchString(pt.Name):
			p.add(key+".name", pt.Name, "want 1-15 characters of [a-z0-9_-]")
		case dup:
			p.add(key+".name", pt.Name, "duplicate port name, already used by ports[%d]", j)
		default:
			idx[pt.Name] = i
		}
		c.validatePortDevice(p, key, pt, devs)
		c.validatePortL3(p, key, pt)
		c.validatePortShaper(p, key, pt)
		if pt.RXQueues < 1 || pt.RXQueues > maxRXQueues {
			p.add(key+".rx_queues", pt.RXQueues, "want 1..%d", maxRXQueues)
		}
		for _, d := range []struct {
			name string
			v    int
		}{{"rx_desc", pt.RXDesc}, {"tx_desc", pt.TXDesc}} {
			// Drivers want ring sizes that are powers of two within these bounds.
			if d.v < 32 || d.v > 32768 || d.v&(d.v-1) != 0 {
				p.add(key+"."+d.name, d.v, "want a power of two in 32..32768")
			}
		}
		if pt.MTU < 68 || pt.MTU > 9000 {
			p.add(key+".mtu", pt.MTU, "want 68..9000 (IPv4 minimum to jumbo)")
		} else if room := c.Mempool.DataRoom - mbufHeadroom; c.Mempool.DataRoom > 0 && pt.MTU+ethHeader > room {
			p.add(key+".mtu", pt.MTU, "a full frame (MTU+%d B) does not fit an mbuf: mempool.data_room %d leaves %d B; "+
				"want mtu <= %d or a larger data_room", ethHeader, c.Mempool.DataRoom, room, room-ethHeader)
		}
		if pt.EgressLcore != nil && !slices.Contains(c.WorkerLcores, *pt.EgressLcore) {
			p.add(key+".egress_lcore", *pt.EgressLcore, "not a worker lcore; workers are %v", c.WorkerLcores)
		}
	}
	// Cross-port checks: xconnect peers and overlapping subnets.
	for i := range c.Ports {
		pt := &c.Ports[i]
		key := fmt.Sprintf("ports[%d]", i)
		switch {
		case pt.Mode == ModeXConnect && pt.XConnect == "":
			p.add(key+".xconnect", nil, "required in xconnect mode: the name of the peer port")
		case pt.Mode == ModeXConnect:
			if j, ok := idx[pt.XConnect]; !ok {
				p.add(key+".xconnect", pt.XConnect, "no such port%s", suggest(pt.XConnect, sortedKeys(idx)))
			} else if j == i {
				p.add(key+".xconnect", pt.XConnect, "a port cannot cross-connect to itself")
			} else {
				pt.PeerIndex = j
			}
		case pt.XConnect != "":
			p.add(key+".xconnect", pt.XConnect, "only allowed with mode xconnect (mode is %q)", pt.Mode)
		}
		for j := 0; j < i; j++ {
			q := &c.Ports[j]
			if pt.Mode == ModeRoute && q.Mode == ModeRoute && pt.Addr.IsValid() && q.Addr.IsValid() &&
				pt.Addr.Masked().Overlaps(q.Addr.Masked()) {
				p.add(key+".ipv4", pt.IPv4, "subnet overlaps ports[%d] (%s %s)", j, q.Name, q.IPv4)
			}
		}
	}
	return idx
}

func (c *Config) validatePortDevice(p *problems, key string, pt *Port, devs map[string]int) {
	pt.DevArgs, pt.IsPCI = "", false
	if pt.Device == "" {
		p.add(key+".device", nil, "required: a PCI address, vdev devargs such as net_pcap0,rx_pcap=in.pcap, or source/sink (dpdkq's own traffic ports)")
		return
	}
	dev, err := expandDevice(pt.Device)
	if err != nil {
		p.add(key+".device", pt.Device, "%v", err)
		return
	}
	if dev == DeviceSource || dev == DeviceSink {
		pt.DevArgs = dev
		if dev == DeviceSource && pt.Source == nil {
			p.add(key+".source", nil, "required with device: source: at least a rate or pps, e.g. source: {rate: 1Gbps, dest: {ports: [out0]}}")
		}
		if dev != DeviceSource && pt.Source != nil {
			p.add(key+".source", "{...}", "only a port with device: source has a source section")
		}
		if dev != DeviceSink && pt.Sink != nil {
			p.add(key+".sink", "{...}", "only a port with device: sink has a sink section")
		}
		return
	}
	if pt.Source != nil || pt.Sink != nil {
		p.add(key+".device", dev, "a port with a source or sink section needs device: source or device: sink")
	}
	name, isPCI, err := checkDevice(dev)
	if err != nil {
		p.add(key+".device", dev, "%v", err)
		return
	}
	if j, dup := devs[strings.ToLower(name)]; dup {
		p.add(key+".device", dev, "device %s is already used by ports[%d]", name, j)
		return
	}
	devs[strings.ToLower(name)] = pt.Index
	pt.DevArgs, pt.IsPCI = dev, isPCI
}

func (c *Config) validatePortL3(p *problems, key string, pt *Port) {
	pt.Addr, pt.HWAddr, pt.HasHWAddr = netip.Prefix{}, [6]byte{}, false
	if pt.Mode != ModeRoute && pt.Mode != ModeXConnect {
		p.add(key+".mode", pt.Mode, "%s", oneOf(ModeRoute, ModeXConnect))
	}
	switch {
	case pt.IPv4 == "" && pt.Mode == ModeRoute:
		p.add(key+".ipv4", nil, "required in route mode: the interface address and prefix, e.g. 10.0.0.1/24")
	case pt.IPv4 != "":
		pfx, err := netip.ParsePrefix(strings.TrimSpace(pt.IPv4))
		a := pfx.Addr()
		switch {
		case err != nil || !a.Is4():
			p.add(key+".ipv4", pt.IPv4, "want an IPv4 address with its prefix length, e.g. 10.0.0.1/24")
		case pfx.Bits() == 0 || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			p.add(key+".ipv4", pt.IPv4, "want a unicast host address with a prefix length 1..32")
		case pfx.Bits() <= 30 && (a == pfx.Masked().Addr() || a == LastAddr(pfx)):
			p.add(key+".ipv4", pt.IPv4, "is the network or broadcast address of its subnet; want a host address")
		default:
			pt.Addr = pfx
		}
	}
	if pt.MAC != "" {
		hw, err := ParseMAC(pt.MAC)
		if err != nil {
			p.add(key+".mac", pt.MAC, "%v", err)
		} else {
			pt.HWAddr, pt.HasHWAddr = hw, true
		}
	}
}

// LastAddr returns the broadcast address of an IPv4 prefix.
func LastAddr(pfx netip.Prefix) netip.Addr {
	b := pfx.Masked().Addr().As4()
	host := uint32(math.MaxUint32) >> pfx.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ParsePortRate parses a port's egress shaper rate (the file's ports[i].rate and a
// live rate change): "" or "0" is unshaped (0), otherwise at least 1kbps.
func ParsePortRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	r, err := ParseRate(s)
	switch {
	case err != nil:
		return 0, err
	case r != 0 && r < minRate:
		return 0, fmt.Errorf("below the 1kbps minimum; \"\" or 0 means unshaped")
	}
	return r, nil
}

// CheckCatchUp checks a port's shaper catch-up window (the file's ports[i].catch_up
// and a live change).
func CheckCatchUp(d time.Duration) error {
	if d < 0 || d > maxCatchUp {
		return fmt.Errorf("want 0..%v (0: no catch-up, as a link; e.g. 20ms to keep the long-term rate across stalls)", maxCatchUp)
	}
	return nil
}

// CheckDelay checks a port's fixed egress delay (the file's ports[i].delay and a live
// delay change).
func CheckDelay(d time.Duration) error {
	if d < 0 || d > maxDelay {
		return fmt.Errorf("want 0..10s, e.g. 43.5ms")
	}
	return nil
}

func (c *Config) validatePortShaper(p *problems, key string, pt *Port) {
	pt.RateBps, pt.BurstSize, pt.BurstBytes = 0, Size{}, 0
	if r, err := ParsePortRate(pt.Rate); err != nil {
		p.add(key+".rate", pt.Rate, "%v", err)
	} else {
		pt.RateBps = r
	}
	if err := CheckDelay(pt.Delay); err != nil {
		p.add(key+".delay", pt.Delay, "%v", err)
	}
	if err := CheckCatchUp(pt.CatchUp); err != nil {
		p.add(key+".catch_up", pt.CatchUp, "%v", err)
	}
	if pt.Burst != "" {
		sz, err := ParseSize(pt.Burst)
		if err != nil {
			p.add(key+".burst", pt.Burst, "%v", err)
			return
		}
		pt.BurstSize = sz
	}
	if !pt.Shaped() || pt.MTU <= 0 {
		return // an unshaped port has no bucket; a set burst is kept but unused
	}
	if pt.Burst == "" {
		b := int64(link.DefaultBurstBytes(pt.RateBps, pt.WireFrameBytes()))
		pt.BurstSize, pt.BurstBytes = Size{float64(b), Bytes}, b
		return
	}
	b, err := pt.BurstSize.Bytes(pt.RateBps, c.Buffer.RTT, pt.MTU)
	switch {
	case err != nil:
		p.add(key+".burst", pt.Burst, "%v", err)
	case b < int64(pt.MTU+ethHeader):
		p.add(key+".burst", pt.Burst, "resolves to %d B, less than one full frame (mtu+%d = %d B), which would never be sent",
			b, ethHeader, pt.MTU+ethHeader)
	default:
		pt.BurstBytes = b
	}
}

// validateRX checks the explicit rx map, or builds the default one: every rx queue of
// every port, in port order, dealt round-robin over the workers.
func (c *Config) validateRX(p *problems, ports map[string]int) {
	c.RXPlan = nil
	if len(c.RX) == 0 {
		if len(c.WorkerLcores) == 0 {
			return
		}
		k := 0
		for i, pt := range c.Ports {
			for q := 0; q < pt.RXQueues && q < maxRXQueues; q++ {
				c.RXPlan = append(c.RXPlan, RXQueue{Port: pt.Name, Queue: q, PortIndex: i,
					Lcore: c.WorkerLcores[k%len(c.WorkerLcores)]})
				k++
			}
		}
		return
	}
	type pq struct {
		port, queue int
	}
	seen := map[pq]int{}
	for i := range c.RX {
		r := &c.RX[i]
		key := fmt.Sprintf("rx[%d]", i)
		ok := true
		j, found := ports[r.Port]
		r.PortIndex = j
		if !found {
			p.add(key+".port", r.Port, "no such port%s", suggest(r.Port, sortedKeys(ports)))
			ok = false
		} else if n := c.Ports[j].RXQueues; r.Queue < 0 || r.Queue >= n {
			p.add(key+".queue", r.Queue, "port %s has rx_queues %d; want 0..%d", r.Port, n, n-1)
			ok = false
		}
		if !slices.Contains(c.WorkerLcores, r.Lcore) {
			p.add(key+".lcore", r.Lcore, "not a worker lcore; workers are %v", c.WorkerLcores)
			ok = false
		}
		if !ok {
			continue
		}
		if prev, dup := seen[pq{j, r.Queue}]; dup {
			p.add(key, fmt.Sprintf("%s/%d", r.Port, r.Queue), "queue already assigned by rx[%d]; each (port, queue) exactly once", prev)
			continue
		}
		seen[pq{j, r.Queue}] = i
		c.RXPlan = append(c.RXPlan, *r)
	}
	for j, pt := range c.Ports {
		for q := 0; q < pt.RXQueues && pt.RXQueues <= maxRXQueues; q++ {
			if _, ok := seen[pq{j, q}]; !ok {
				p.add("rx", nil, "rx queue %d of port %s is not assigned to any lcore; list every (port, queue) or leave rx out", q, pt.Name)
			}
		}
	}
}

// routePort resolves a route-mode port reference, reporting a missing or non-route port.
func (c *Config) routePort(p *problems, key, name string, ports map[string]int) (*Port, bool) {
	j, ok := ports[name]
	if !ok {
		if name == "" {
			p.add(key, nil, "required: a port name")
		} else {
			p.add(key, name, "no such port%s", suggest(name, sortedKeys(ports)))
		}
		return nil, false
	}
	pt := &c.Ports[j]
	if pt.Mode != ModeRoute {
		p.add(key, name, "port %s is in %s mode; routes and neighbors need a route-mode port", name, pt.Mode)
		return nil, false
	}
	return pt, true
}

// checkRoute checks one static route's prefix, next hop and MAC (against its egress
// port pt when known) and fills its parsed fields; keys are prefix+"prefix" etc.
func checkRoute(p *problems, prefix string, r *Route, pt *Port) bool {
	r.Net, r.PortIndex, r.NextHop, r.NextHopMAC, r.HasMAC, r.Connected = netip.Prefix{}, -1, netip.Addr{}, [6]byte{}, false, false
	if pt != nil {
		r.PortIndex = pt.Index
	}
	ok := true
	pfx, err := netip.ParsePrefix(strings.TrimSpace(r.Prefix))
	switch {
	case err != nil || !pfx.Addr().Is4():
		p.add(prefix+"prefix", r.Prefix, "want an IPv4 CIDR prefix such as 10.2.0.0/16")
		ok = false
	case pfx != pfx.Masked():
		p.add(prefix+"prefix", r.Prefix, "host bits are set; did you mean %s?", pfx.Masked())
		ok = false
	default:
		r.Net = pfx
	}
	if r.Via != "" {
		via, err := parseIPv4(r.Via)
		switch {
		case err != nil:
			p.add(prefix+"via", r.Via, "%v", err)
			ok = false
		case pt != nil && pt.Addr.IsValid() && !pt.Addr.Masked().Contains(via):
			p.add(prefix+"via", r.Via, "next hop is outside port %s's subnet %s", pt.Name, pt.Addr.Masked())
			ok = false
		case pt != nil && pt.Addr.IsValid() && via == pt.Addr.Addr():
			p.add(prefix+"via", r.Via, "next hop is port %s's own address", pt.Name)
			ok = false
		default:
			r.NextHop = via
		}
	}
	if r.MAC != "" {
		hw, err := ParseMAC(r.MAC)
		if err != nil {
			p.add(prefix+"mac", r.MAC, "%v", err)
			ok = false
		} else {
			r.NextHopMAC, r.HasMAC = hw, true
		}
	}
	return ok
}

// ParseRoute checks a static route given at run time (a live route_add) as the
// file's routes are checked; errors are *FieldError keyed prefix, port, via and mac.
func (c *Config) ParseRoute(prefix, port, via, mac string) (Route, error) {
	ports := map[string]int{}
	for i := range c.Ports {
		ports[c.Ports[i].Name] = i
	}
	p := &problems{}
	r := Route{Prefix: prefix, Port: port, Via: via, MAC: mac}
	pt, _ := c.routePort(p, "port", port, ports)
	checkRoute(p, "", &r, pt)
	return r, p.err()
}

// validateRoutes checks static routes and builds RouteTable: the connected subnet of
// each route-mode port, then the static routes.
func (c *Config) validateRoutes(p *problems, ports map[string]int) {
	c.RouteTable = nil
	owner := map[netip.Prefix]string{}
	for i := range c.Ports {
		pt := &c.Ports[i]
		if pt.Mode != ModeRoute || !pt.Addr.IsValid() {
			continue
		}
		net := pt.Addr.Masked()
		c.RouteTable = append(c.RouteTable, Route{Prefix: net.String(), Port: pt.Name, Net: net,
			PortIndex: i, Connected: true})
		owner[net] = fmt.Sprintf("the connected subnet of port %s", pt.Name)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		key := fmt.Sprintf("routes[%d]", i)
		pt, havePort := c.routePort(p, key+".port", r.Port, ports)
		ok := checkRoute(p, key+".", r, pt) && havePort
		if r.Net.IsValid() {
			if prev, dup := owner[r.Net]; dup {
				p.add(key+".prefix", r.Prefix, "duplicate prefix, same as %s", prev)
				ok = false
			} else {
				owner[r.Net] = fmt.Sprintf("routes[%d]", i)
			}
		}
		if ok {
			c.RouteTable = append(c.RouteTable, *r)
		}
	}
}

func (c *Config) validateNeighbors(p *problems, ports map[string]int) {
	type key struct {
		port int
		ip   netip.Addr
	}
	seen := map[key]int{}
	for i := range c.Neighbors {
		n := &c.Neighbors[i]
		k := fmt.Sprintf("neighbors[%d]", i)
		n.Addr, n.HWAddr, n.PortIndex = netip.Addr{}, [6]byte{}, -1
		pt, havePort := c.routePort(p, k+".port", n.Port, ports)
		if havePort {
			n.PortIndex = pt.Index
		}
		if a, err := parseIPv4(n.IP); err != nil {
			p.add(k+".ip", n.IP, "%v", err)
		} else if havePort && pt.Addr.IsValid() && !pt.Addr.Masked().Contains(a) {
			p.add(k+".ip", n.IP, "outside port %s's subnet %s", pt.Name, pt.Addr.Masked())
		} else {
			n.Addr = a
		}
		if n.MAC == "" {
			p.add(k+".mac", nil, "required: the neighbor's MAC address")
		} else if hw, err := ParseMAC(n.MAC); err != nil {
			p.add(k+".mac", n.MAC, "%v", err)
		} else {
			n.HWAddr = hw
		}
		if havePort && n.Addr.IsValid() {
			if prev, dup := seen[key{pt.Index, n.Addr}]; dup {
				p.add(k+".ip", n.IP, "duplicate neighbor on port %s, same as neighbors[%d]", pt.Name, prev)
			}
			seen[key{pt.Index, n.Addr}] = i
		}
	}
}
