package voq

import "fmt"

// ParamError is a Config field outside its range. Param is the field's path in
// Config ("FQ.Flows", "Sched.Weights[1]", "LimitPkts"), so that a caller that built
// the Config from its own settings can name its own key instead.
type ParamError struct {
	Param string // field path in Config
	Value string // the offending value
	Msg   string // what is allowed, e.g. "want 1..1000"
}

// Error formats the problem as "voq: Param = Value, Msg".
func (e *ParamError) Error() string { return "voq: " + e.Param + " = " + e.Value + ", " + e.Msg }

func paramErr(param string, value any, format string, a ...any) error {
	return &ParamError{Param: param, Value: fmt.Sprint(value), Msg: fmt.Sprintf(format, a...)}
}

// Descriptors returns how many packet descriptors New(cfg) preallocates when each
// queue of Layout(cfg) gets the limits limit returns for it (nil: cfg's LimitPkts and
// LimitBytes for every plain queue); FQ-CoDel queues take FQ.LimitPkts. It is the
// figure New's guard bounds by MaxDescriptors, for limits set per queue with SetLimit
// after New.
func Descriptors(cfg Config, limit func(q QueueInfo) (pkts, bytes int)) (int, error) {
	if _, err := cfg.normalize(); err != nil {
		return 0, err
	}
	total := 0
	for _, q := range layoutOf(&cfg) {
		switch {
		case q.FQ:
			total += cfg.FQ.LimitPkts
		case limit != nil:
			total += ringCap(limit(q))
		default:
			total += ringCap(cfg.LimitPkts, cfg.LimitBytes)
		}
	}
	return total, nil
}
