package plan

import (
	"time"

	"github.com/dpdkq/dpdkq/config"
)

// PortRate resolves a live rate change of port pi: the rate in bits/s (0: unshaped)
// and the bucket depth for it, as at start; errors name key.
func (p *Plan) PortRate(key, raw string, pi int) (rateBps float64, bucket int, err error) {
	r, err := config.ParsePortRate(raw)
	if err != nil {
		return 0, 0, fe(key, raw, "%v", err)
	}
	if r == 0 {
		return 0, 0, nil
	}
	return r, p.bucketBytes(pi, r), nil
}

// PortCatchUp resolves a live change of a port's shaper catch-up window; errors name
// key.
func (p *Plan) PortCatchUp(key, raw string) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fe(key, raw, "want a duration in 0..1s, e.g. 20ms (0: none, as a link)")
	}
	if err := config.CheckCatchUp(d); err != nil {
		return 0, fe(key, raw, "%v", err)
	}
	return d, nil
}

// PortDelay resolves a live delay change; errors name key.
func (p *Plan) PortDelay(key, raw string) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fe(key, raw, "want a duration in 0..10s, e.g. 43.5ms")
	}
	if err := config.CheckDelay(d); err != nil {
		return 0, fe(key, raw, "%v", err)
	}
	return d, nil
}
