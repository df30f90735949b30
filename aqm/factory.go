package aqm

import (
	"fmt"
	"strings"
)

// Spec says which policy a queue gets and with what settings. Only the params of
// Kind are used; the others are ignored. The queueing code keeps one Spec per queue
// class and calls New once per queue.
type Spec struct {
	Kind  Kind
	RED   REDParams
	CoDel CoDelParams
	PIE   PIEParams
}

// Validate checks the params of s.Kind (and that Kind is known).
func (s Spec) Validate() error {
	_, err := s.New(0)
	return err
}

// New builds a fresh policy from s. seed is mixed with the params' own seed, so each
// queue built from one spec gets its own deterministic random stream; CoDel ignores
// it. KindNone gives a nil Policy: "no AQM" is always nil (the queue's own limit alone
// decides), never a pass-everything policy.
func (s Spec) New(seed uint64) (Policy, error) {
	switch s.Kind {
	case KindNone:
		return nil, nil
	case KindRED:
		c, err := NewREDConfig(s.RED)
		if err != nil {
			return nil, err
		}
		c.seed = mixSeed(c.seed, seed)
		return NewRED(c), nil
	case KindCoDel:
		c, err := NewCoDelConfig(s.CoDel)
		if err != nil {
			return nil, err
		}
		return NewCoDel(c), nil
	case KindPIE:
		c, err := NewPIEConfig(s.PIE)
		if err != nil {
			return nil, err
		}
		c.seed = mixSeed(c.seed, seed)
		return NewPIE(c), nil
	}
	return nil, fmt.Errorf("aqm: kind = %d, want none, red, codel or pie", s.Kind)
}

// ParseKind turns a config-file name into a Kind: "none" or "taildrop", "red" or
// "wred", "codel", "pie" (case-insensitive).
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "taildrop":
		return KindNone, nil
	case "red", "wred":
		return KindRED, nil
	case "codel":
		return KindCoDel, nil
	case "pie":
		return KindPIE, nil
	}
	return KindNone, fmt.Errorf("aqm: kind = %q, want none, taildrop, red, wred, codel or pie", s)
}

// MarshalText returns the Kind's name, so Kind reads back through UnmarshalText.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a name as ParseKind does (for config decoders).
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}
