package config

import "fmt"

// poolUnits are the units a shared pool may be sized in: pools are not tied to one
// port, so time and BDP (which need a port rate) are not allowed.
var poolUnits = []SizeUnit{Bytes, Packets}

// validateBuffer checks the buffer model's syntax and references (pool and profile
// names, bound ports and classes); the carving algorithms check the rest.
func (c *Config) validateBuffer(p *problems, ports map[string]int) {
	b := &c.Buffer
	b.CellBytes = 0
	if s, ok := parseSizeKey(p, "buffer.cell_size", b.CellSize, bytesOnly); ok {
		b.CellBytes = int64(s.Value)
	}
	if b.Descriptors < 0 {
		p.add("buffer.descriptors", b.Descriptors, "want 0 (unlimited) or a positive count")
	}

	pools := map[string]int{}
	for i := range b.Pools {
		pl := &b.Pools[i]
		key := fmt.Sprintf("buffer.pools[%d]", i)
		c.checkName(p, key+".name", pl.Name, pools, i, "buffer.pools")
		pl.SizeParsed, _ = parseSizeKey(p, key+".size", pl.Size, poolUnits)
		if pl.Mode != "static" && pl.Mode != "dynamic" {
			p.add(key+".mode", pl.Mode, "%s", oneOf("static", "dynamic"))
		}
	}

	profiles := map[string]int{}
	for i := range b.Profiles {
		pr := &b.Profiles[i]
		key := fmt.Sprintf("buffer.profiles[%d]", i)
		c.checkName(p, key+".name", pr.Name, profiles, i, "buffer.profiles")
		pr.PoolIndex = -1
		if j, ok := pools[pr.Pool]; ok {
			pr.PoolIndex = j
		} else if pr.Pool == "" {
			p.add(key+".pool", nil, "required: the name of a buffer pool")
		} else {
			p.add(key+".pool", pr.Pool, "no such pool%s", suggest(pr.Pool, sortedKeys(pools)))
		}
		pr.ReservedSize = Size{0, Bytes}
		if pr.Reserved != "" {
			if s, err := ParseSize(pr.Reserved); err != nil {
				p.add(key+".reserved", pr.Reserved, "%v", err)
			} else {
				pr.ReservedSize = s
			}
		}
		pr.StaticSize = Size{}
		switch {
		case pr.DynamicTh != nil && pr.StaticTh != "":
			p.add(key, nil, "set only one of dynamic_th and static_th")
		case pr.DynamicTh == nil && pr.StaticTh == "":
			p.add(key, nil, "set one of dynamic_th (alpha = 2^n, -7..7) or static_th (a size)")
		case pr.DynamicTh != nil:
			if pr.PoolIndex >= 0 && b.Pools[pr.PoolIndex].Mode == "static" {
				p.add(key+".dynamic_th", *pr.DynamicTh, "pool %s is static; its profiles take static_th", pr.Pool)
			}
		default:
			pr.StaticSize, _ = parseSizeKey(p, key+".static_th", pr.StaticTh, nil)
			if pr.PoolIndex >= 0 && b.Pools[pr.PoolIndex].Mode == "dynamic" {
				p.add(key+".static_th", pr.StaticTh, "pool %s is dynamic; its profiles take dynamic_th", pr.Pool)
			}
		}
	}

	classes := c.Queueing.classCount()
	type portClass struct{ port, class int }
	bound := map[portClass]int{}
	for i := range b.Bindings {
		bd := &b.Bindings[i]
		key := fmt.Sprintf("buffer.bindings[%d]", i)
		bd.ProfileIndex, bd.PortIndex = -1, -1
		if j, ok := profiles[bd.Profile]; ok {
			bd.ProfileIndex = j
		} else {
			p.add(key+".profile", bd.Profile, "no such profile%s", suggest(bd.Profile, sortedKeys(profiles)))
		}
		if j, ok := ports[bd.Port]; ok {
			bd.PortIndex = j
		} else {
			p.add(key+".port", bd.Port, "no such port%s", suggest(bd.Port, sortedKeys(ports)))
		}
		class := -1 // all classes
		if bd.Class != nil {
			class = *bd.Class
			if class < 0 || class >= classes {
				p.add(key+".class", class, "want a class 0..%d, or leave it out for all classes", classes-1)
			}
		}
		if bd.PortIndex >= 0 {
			pc := portClass{bd.PortIndex, class}
			if prev, dup := bound[pc]; dup {
				p.add(key, nil, "port %s class %s is already bound by buffer.bindings[%d]", bd.Port, classText(class), prev)
			}
			bound[pc] = i
		}
		if bd.PortIndex >= 0 && bd.ProfileIndex >= 0 {
			pt, pr := &c.Ports[bd.PortIndex], &b.Profiles[bd.ProfileIndex]
			for _, s := range []struct{ name, raw string }{{"reserved", pr.Reserved}, {"static_th", pr.StaticTh}} {
				if sz, err := ParseSize(s.raw); err == nil && sz.needsRate() && !pt.Shaped() {
					p.add(key, nil, "profile %s has %s %q, a %s size, but port %s is unshaped",
						pr.Name, s.name, s.raw, sz.Unit, pt.Name)
				}
			}
		}
	}

	h := &b.Hybrid
	if h.Mode != "hybrid" && h.Mode != "onchip-only" && h.Mode != "offchip-only" {
		p.add("buffer.hybrid.mode", h.Mode, "%s", oneOf("hybrid", "onchip-only", "offchip-only"))
	}
	h.OnchipBytes, h.OffchipBytes, h.OffchipBps, h.EvictBytesLimit = 0, 0, 0, 0
	if s, ok := parseSizeKey(p, "buffer.hybrid.onchip", h.Onchip, bytesOnly); ok {
		h.OnchipBytes = int64(s.Value)
	}
	if s, ok := parseSizeKey(p, "buffer.hybrid.offchip", h.Offchip, bytesOnly); ok {
		h.OffchipBytes = int64(s.Value)
	}
	if r, err := ParseRate(h.OffchipBandwidth); err != nil {
		p.add("buffer.hybrid.offchip_bandwidth", h.OffchipBandwidth, "%v", err)
	} else if r < minRate {
		p.add("buffer.hybrid.offchip_bandwidth", h.OffchipBandwidth, "want at least 1kbps")
	} else {
		h.OffchipBps = r
	}
	if h.EvictPackets < 1 {
		p.add("buffer.hybrid.evict_packets", h.EvictPackets, "want a positive packet count, e.g. 6000")
	}
	if s, ok := parseSizeKey(p, "buffer.hybrid.evict_bytes", h.EvictBytes, bytesOnly); ok {
		h.EvictBytesLimit = int64(s.Value)
	}
	seen := map[int]bool{}
	for i, cl := range h.PinnedClasses {
		key := fmt.Sprintf("buffer.hybrid.pinned_classes[%d]", i)
		if cl < 0 || cl >= classes {
			p.add(key, cl, "want a class 0..%d", classes-1)
		} else if seen[cl] {
			p.add(key, cl, "listed twice")
		}
		seen[cl] = true
	}
}

// checkName validates a pool or profile name (the port name syntax) and its
// uniqueness within list, recording it in names.
func (c *Config) checkName(p *problems, key, name string, names map[string]int, i int, list string) {
	if !portNameRe.MatchString(name) {
		p.add(key, name, "want 1-15 characters of [a-z0-9_-]")
		return
	}
	if j, dup := names[name]; dup {
		p.add(key, name, "duplicate name, already used by %s[%d]", list, j)
		return
	}
	names[name] = i
}

// classText renders a binding's class for messages.
func classText(class int) string {
	if class < 0 {
		return "(all)"
	}
	return fmt.Sprint(class)
}
