package traffic

import (
	"errors"
	"fmt"
)

// FieldError is one problem with source or sink parameters: the YAML key it concerns
// (full path, e.g. "ports[2].source.rate"), the offending value as written ("" when
// the value is missing) and what is wrong or allowed. It has the shape of
// config.FieldError, so the config package can pass it on unchanged.
type FieldError struct {
	Key   string
	Value string
	Msg   string
}

// Error formats the problem as `key = "value": message`, or `key: message`.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Key + ": " + e.Msg
	}
	return fmt.Sprintf("%s = %q: %s", e.Key, e.Value, e.Msg)
}

// problems collects FieldErrors during validation.
type problems []*FieldError

func (p *problems) add(key string, value any, format string, args ...any) {
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
	}
	*p = append(*p, &FieldError{Key: key, Value: v, Msg: fmt.Sprintf(format, args...)})
}

// err joins the problems (each is a *FieldError inside the joined error), or nil.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	errs := make([]error, len(p))
	for i, e := range p {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Problems returns every *FieldError inside err (as returned by Validate, NewSource
// or NewSink), in report order.
func Problems(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		switch u := e.(type) {
		case nil:
		case *FieldError:
			out = append(out, u)
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
