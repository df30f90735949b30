package lab

import (
	_ "embed"
	"strconv"
	"strings"
)

//go:embed data/sizing-reference.txt
var sizingReference string

// RefPoint is one published buffer-sizing measurement, in packets of 1500 B.
type RefPoint struct {
	Source  string  // "cs244" or "hw"
	Run     int     // run number within the source
	N       int     // flows
	Packets float64 // smallest buffer found
	Formula bool    // the value is RTT·C/√N, not a measurement
}

// hwUnit is the hardware testbed's value unit in bytes (see data/sizing-reference.txt).
const hwUnit = 1

// SizingReference returns the published points of data/sizing-reference.txt.
func SizingReference() []RefPoint {
	var out []RefPoint
	for _, l := range strings.Split(sizingReference, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "cs244":
			n, _ := strconv.Atoi(f[1])
			for i, s := range f[2:] {
				v, _ := strconv.ParseFloat(s, 64)
				out = append(out, RefPoint{Source: "cs244", Run: i + 1, N: n, Packets: v})
			}
		case "hw":
			run, _ := strconv.Atoi(f[1])
			n, _ := strconv.Atoi(f[2])
			v, _ := strconv.ParseFloat(f[3], 64)
			out = append(out, RefPoint{Source: "hw", Run: run, N: n, Packets: v * hwUnit / 1500, Formula: len(f) > 4 && f[4] == "formula"})
		}
	}
	return out
}
