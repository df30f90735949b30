package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file holds the unit grammar shared by the config file and the `dpdkq size`
// command: rates in bits per second and buffer sizes that may be given in packets,
// bytes, time at the port rate, or a fraction of the bandwidth-delay product.
//
// SI prefixes (k, M, G, T) are powers of 1000 for both rates and sizes, as in network
// data sheets; the IEC prefixes (KiB, MiB, GiB, TiB) are powers of 1024 and exist for
// sizes only. A lower-case "m" is never mega (it would be milli) and a lower-case "b"
// in a size is never a byte (it would be a bit): both are rejected with a hint rather
// than guessed.

// maxResolved bounds any resolved byte or packet count (2^62), far above any real
// buffer, so that the int64 conversions below can never overflow.
const maxResolved = 1 << 62

// splitNumber splits s into a leading non-negative decimal number (digits, an
// optional fraction and an optional exponent, like "62.5" or "1e6") and the unit that
// follows it, with blanks between the two dropped. It rejects signs, "inf", "NaN" and
// hex floats, which strconv.ParseFloat would otherwise accept.
func splitNumber(s string) (float64, string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, "", errors.New("empty value")
	}
	if s[0] == '-' {
		return 0, "", errors.New("must not be negative")
	}
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, "", errors.New("must start with a number")
	}
	// An exponent only counts when digits follow: "1e6bps" is 1e6 bps, "5EB" is 5 "EB".
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, "", fmt.Errorf("number %q out of range", s[:i])
	}
	return v, strings.TrimSpace(s[i:]), nil
}

// siPrefix returns the power-of-1000 multiplier of a prefix letter. Upper and lower
// case are both accepted for k, G and T; M must be upper case.
func siPrefix(c byte) (float64, bool) {
	switch c {
	case 'k', 'K':
		return 1e3, true
	case 'M':
		return 1e6, true
	case 'G', 'g':
		return 1e9, true
	case 'T', 't':
		return 1e12, true
	}
	return 0, false
}

// rateUnitHelp lists the accepted rate units for error messages.
const rateUnitHelp = "want a number with bps, kbps, Mbps, Gbps or Tbps (also Mbit/s, Mb/s), e.g. 62.5Mbps"

// ParseRate parses a bit rate such as "62.5Mbps", "10Gbps", "1.5kbps", "100Mbit/s",
// "100Mb/s" or "1e6bps" into bits per second. The bare value "0" is accepted as zero;
// any other number needs a unit. Negative, NaN, infinite and byte-based rates are
// rejected.
func ParseRate(s string) (float64, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: %v; %s", s, err, rateUnitHelp)
	}
	if unit == "" {
		if v == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("rate %q has no unit; %s", s, rateUnitHelp)
	}
	mult, rest := 1.0, unit
	if m, ok := siPrefix(unit[0]); ok && len(unit) > 1 {
		mult, rest = m, unit[1:]
	} else if unit[0] == 'm' && len(unit) > 1 {
		return 0, fmt.Errorf("rate %q: lower-case m would mean milli; write M for mega (e.g. %sMbps)", s, strconv.FormatFloat(v, 'f', -1, 64))
	}
	switch rest {
	case "bps", "bit/s", "bits/s", "b/s":
	case "Bps", "B/s", "byte/s", "bytes/s":
		return 0, fmt.Errorf("rate %q is in bytes per second; rates are in bits (1 MB/s = 8 Mbps); %s", s, rateUnitHelp)
	default:
		return 0, fmt.Errorf("rate %q has unknown unit %q; %s", s, unit, rateUnitHelp)
	}
	bps := v * mult
	if math.IsInf(bps, 0) {
		return 0, fmt.Errorf("rate %q out of range", s)
	}
	return bps, nil
}

// FormatRate renders bits per second with the largest SI prefix that keeps the value
// at or above 1, e.g. 62500000 -> "62.5Mbps". ParseRate(FormatRate(x)) == x for every
// finite x >= 0: when dividing by the prefix is not exact, the plain bps form is used.
func FormatRate(bps float64) string {
	for _, p := range []struct {
		mult float64
		unit string
	}{{1e12, "Tbps"}, {1e9, "Gbps"}, {1e6, "Mbps"}, {1e3, "kbps"}} {
		if bps >= p.mult {
			s := strconv.FormatFloat(bps/p.mult, 'f', -1, 64) + p.unit
			if back, err := ParseRate(s); err == nil && back == bps {
				return s
			}
			break
		}
	}
	return strconv.FormatFloat(bps, 'f', -1, 64) + "bps"
}

// SizeUnit says how a Size is measured.
type SizeUnit uint8

const (
	// Packets: a count of packets ("1000", "1000p", "1000pkts"); bytes = n * MTU.
	Packets SizeUnit = iota
	// Bytes: Value is a whole number of bytes ("1500B", "64KB" = 64000, "64KiB" = 65536).
	Bytes
	// Time: Value is nanoseconds of transmission at the port rate ("10ms", "500us").
	Time
	// BDP: Value is a multiple of the bandwidth-delay product rate*RTT ("0.5bdp").
	BDP
)

// String returns the unit's name.
func (u SizeUnit) String() string {
	switch u {
	case Bytes:
		return "bytes"
	case Time:
		return "time"
	case BDP:
		return "bdp"
	}
	return "packets"
}

// Size is a buffer size as the operator wrote it, before it is resolved against a
// port's rate, the round-trip time and the MTU.
type Size struct {
	Value float64  // packets, bytes, nanoseconds or BDP multiples, per Unit
	Unit  SizeUnit // how Value is measured
}

// sizeUnitHelp lists the accepted size units for error messages.
const sizeUnitHelp = "want packets (1000, 1000p, 1000pkts), bytes (1500B, 64KB, 64KiB, 1MB, 1MiB, 1GB), " +
	"time at port rate (10ms, 1.5s, 500us) or a BDP fraction (0.5bdp)"

// byteUnits maps byte unit spellings to their multipliers.
var byteUnits = map[string]float64{
	"B":  1,
	"KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// snapInt returns x rounded to the nearest integer when it lies within a relative
// 1e-9 of one (to absorb float noise such as 0.1*1000), and ok=false otherwise.
func snapInt(x float64) (float64, bool) {
	r := math.Round(x)
	return r, math.Abs(x-r) <= 1e-9*math.Max(1, math.Abs(x))
}

// ceilSnap rounds x up to a whole number, except that values within float noise of an
// integer are taken as that integer (62.5e6 b/s * 10 ms / 8 is exactly 78125 B, and
// must not become 78126 because of a last-bit error).
func ceilSnap(x float64) float64 {
	if r, ok := snapInt(x); ok {
		return r
	}
	return math.Ceil(x)
}

// ParseSize parses a buffer size: a packet count ("1000", "1000p", "1000pkts"), a
// byte size ("1500B", "64KB", "64KiB", "1MB", "1MiB", "1GB"), a time at the port rate
// (any time.ParseDuration form: "10ms", "1.5s", "500us") or a fraction of the
// bandwidth-delay product ("0.5bdp"). Packet and byte counts must be whole numbers.
func ParseSize(s string) (Size, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return Size{}, fmt.Errorf("bad size %q: %v; %s", s, err, sizeUnitHelp)
	}
	switch unit {
	case "", "p", "pkt", "pkts", "packet", "packets":
		n, ok := snapInt(v)
		if v > maxResolved {
			return Size{}, fmt.Errorf("size %q out of range", s)
		}
		if !ok {
			return Size{}, fmt.Errorf("size %q: a packet count must be a whole number", s)
		}
		return Size{n, Packets}, nil
	}
	if strings.EqualFold(unit, "bdp") {
		return Size{v, BDP}, nil
	}
	if mult, ok := byteUnits[unit]; ok {
		if v*mult > maxResolved {
			return Size{}, fmt.Errorf("size %q out of range", s)
		}
		b, whole := snapInt(v * mult)
		if !whole {
			return Size{}, fmt.Errorf("size %q is not a whole number of bytes", s)
		}
		return Size{b, Bytes}, nil
	}
	if d, derr := time.ParseDuration(strings.Join(strings.Fields(s), "")); derr == nil {
		return Size{float64(d), Time}, nil
	}
	if strings.ContainsRune(unit, 'b') && !strings.Contains(unit, "bdp") {
		return Size{}, fmt.Errorf("size %q: lower-case b means bits; sizes are in bytes (B, KB, KiB, ...)", s)
	}
	return Size{}, fmt.Errorf("size %q has unknown unit %q; %s", s, unit, sizeUnitHelp)
}

// String renders the size so that ParseSize(s.String()) == s: packets as "1000p",
// bytes with the largest prefix that divides them exactly ("64KiB", "64KB",
// "1500B"), time in time.Duration form ("10ms") and BDP as "0.5bdp".
func (s Size) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch s.Unit {
	case Bytes:
		if s.Value > 0 {
			for _, u := range []struct {
				name string
				mult float64
			}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20},
				{"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3}} {
				if math.Mod(s.Value, u.mult) == 0 {
					return f(s.Value/u.mult) + u.name
				}
			}
		}
		return f(s.Value) + "B"
	case Time:
		return time.Duration(s.Value).String()
	case BDP:
		return f(s.Value) + "bdp"
	}
	return f(s.Value) + "p"
}

// needsRate reports whether resolving the size depends on the port rate.
func (s Size) needsRate() bool { return s.Unit == Time || s.Unit == BDP }

// Bytes resolves the size to bytes: packets count n*mtu bytes, a time t counts
// rate*t/8, and a BDP multiple x counts x*rate*rtt/8. Fractional results are rounded
// up to a whole byte (values within float noise of an integer are taken as that
// integer). It fails when a time or BDP size meets an unshaped port (rateBps <= 0),
// when a BDP size has no RTT, and when a packet count has no MTU.
func (s Size) Bytes(rateBps float64, rtt time.Duration, mtu int) (int64, error) {
	var b float64
	switch s.Unit {
	case Packets:
		if mtu <= 0 {
			return 0, fmt.Errorf("size %s is in packets and needs an MTU to become bytes", s)
		}
		b = s.Value * float64(mtu)
	case Bytes:
		b = s.Value
	case Time, BDP:
		if !(rateBps > 0) || math.IsInf(rateBps, 0) {
			return 0, fmt.Errorf("size %s is given in %s and needs a rate, but the port is unshaped (rate is empty or 0); "+
				"give it in bytes or packets, or set the port's rate", s, s.Unit)
		}
		if s.Unit == Time {
			b = rateBps * s.Value / 8e9
		} else {
			if rtt <= 0 {
				return 0, fmt.Errorf("size %s is a BDP fraction and needs an RTT > 0 (buffer.rtt)", s)
			}
			b = s.Value * rateBps * rtt.Seconds() / 8
		}
	}
	b = ceilSnap(b)
	if b > maxResolved || math.IsNaN(b) {
		return 0, fmt.Errorf("size %s resolves to more than 2^62 bytes", s)
	}
	return int64(b), nil
}

// Packets resolves the size to a packet count: a packet size is its count; anything
// else is resolved to bytes first (see Bytes) and divided by the MTU, rounded up, so
// "1500B" at MTU 1500 is 1 packet and "1501B" is 2.
func (s Size) Packets(rateBps float64, rtt time.Duration, mtu int) (int64, error) {
	if s.Unit == Packets {
		return int64(s.Value), nil
	}
	if mtu <= 0 {
		return 0, fmt.Errorf("size %s needs an MTU to become packets", s)
	}
	b, err := s.Bytes(rateBps, rtt, mtu)
	if err != nil {
		return 0, err
	}
	return (b + int64(mtu) - 1) / int64(mtu), nil
}

// Describe renders the size with its resolution for logs and the start-up print,
// e.g. "10ms = 78125 B at 62.5Mbps" or "0.5bdp = 339844 B at 62.5Mbps, RTT 87ms".
func (s Size) Describe(rateBps float64, rtt time.Duration, mtu int) string {
	b, err := s.Bytes(rateBps, rtt, mtu)
	if err != nil {
		return s.String() + " (unresolved: " + err.Error() + ")"
	}
	out := fmt.Sprintf("%s = %d B", s, b)
	switch s.Unit {
	case Packets:
		out += fmt.Sprintf(" at MTU %d", mtu)
	case Time:
		out += " at " + FormatRate(rateBps)
	case BDP:
		out += fmt.Sprintf(" at %s, RTT %s", FormatRate(rateBps), rtt)
	}
	return out
}
