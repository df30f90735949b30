package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FieldError is one configuration problem: the key it concerns, the offending value
// as written (may be empty) and what is wrong or allowed.
type FieldError struct {
	Key   string // full key path, list elements by index: "ports[1].rate"
	Value string // offending value as text; "" when the problem is a missing value
	Msg   string // what is wrong and what is allowed
}

// Error formats the problem as `key = "value": message`, or `key: message` when
// there is no value to show.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Key + ": " + e.Msg
	}
	return fmt.Sprintf("%s = %q: %s", e.Key, e.Value, e.Msg)
}

// Problems returns every *FieldError inside err (as returned by Load, LoadBytes or
// Validate), in report order; nil for a nil error.
func Problems(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
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

// problems collects FieldErrors during validation.
type problems struct {
	list []*FieldError
	skip map[string]bool // keys already reported by the decoder; their zero values are not re-reported
}

// add records a problem with key, the offending value (formatted with %v; nil for
// none) and a message.
func (p *problems) add(key string, value any, format string, args ...any) {
	if p.skipped(key) {
		return
	}
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
	}
	p.list = append(p.list, &FieldError{Key: key, Value: v, Msg: fmt.Sprintf(format, args...)})
}

// skipped reports whether key, or a section or list element holding it, was already
// reported by the decoder (ports[1] covers ports[1].name).
func (p *problems) skipped(key string) bool {
	for k := range p.skip {
		if key == k || strings.HasPrefix(key, k+".") || strings.HasPrefix(key, k+"[") {
			return true
		}
	}
	return false
}

// err joins the collected problems, or returns nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to s by edit
// distance, when it is close enough to be a plausible typo, else "".
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2 // allow about one edit per two characters
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// oneOf formats the allowed values of an enumeration: "one of a, b, c".
func oneOf(vals ...string) string {
	return "want one of " + strings.Join(vals, ", ")
}

// sortedKeys returns m's keys in order, for deterministic reports.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
