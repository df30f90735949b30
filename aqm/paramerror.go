package aqm

import "fmt"

// ParamError is a parameter outside its range. Param is its name as in the
// constructors' messages ("pie.alpha", "codel.target", "red.profiles[0].max_th"), so
// that a caller can name its own key instead.
type ParamError struct {
	Param string // parameter name
	Value string // the offending value
	Unit  string // the value's unit when it has one ("bytes", "bit/s", "packets")
	Msg   string // what is allowed, e.g. "want (0, 32]"
}

// Error formats the problem as "aqm: Param = Value Unit, Msg".
func (e *ParamError) Error() string {
	v := e.Value
	if e.Unit != "" {
		v += " " + e.Unit
	}
	return "aqm: " + e.Param + " = " + v + ", " + e.Msg
}

func paramErr(param string, value any, format string, a ...any) error {
	return &ParamError{Param: param, Value: fmt.Sprint(value), Msg: fmt.Sprintf(format, a...)}
}

func paramErrUnit(param string, value any, unit, format string, a ...any) error {
	return &ParamError{Param: param, Value: fmt.Sprint(value), Unit: unit, Msg: fmt.Sprintf(format, a...)}
}
