package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment variable that overrides a key.
const EnvPrefix = "DPDKQ"

// Load reads the YAML file at path, applies environment variables and the --set
// overrides (each "key=value"), fills defaults and validates. On failure it returns
// every problem found, joined (see Problems).
func Load(path string, overrides []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := LoadBytes(data, overrides)
	if err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return c, nil
}

// LoadBytes is Load for a YAML document in memory (tests, the embedded Default).
func LoadBytes(yaml []byte, overrides []string) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	// Environment: every key outside lists and maps is bound explicitly, so that a
	// variable works even when the file omits the key. An empty variable counts as an
	// empty value (it can disable api.listen), not as "unset".
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AllowEmptyEnv(true)
	for _, k := range scalarKeys(reflect.TypeFor[Config](), "") {
		if err := v.BindEnv(k); err != nil {
			return nil, fmt.Errorf("config: binding %s: %w", k, err)
		}
	}
	if err := v.ReadConfig(bytes.NewReader(yaml)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}

	tree := deepCopy(v.AllSettings()).(map[string]any)
	applyListEnv(reflect.TypeFor[Config](), tree, nil, false)
	var errs []error
	for _, o := range overrides {
		if err := applySet(tree, o); err != nil {
			errs = append(errs, err)
		}
	}
	fillElementDefaults(tree)
	inheritClassQueues(tree)

	c := &Config{}
	decodeErrs := decode(tree, c)
	p := &problems{skip: map[string]bool{}}
	for _, e := range decodeErrs {
		p.skip[e.Key] = true
		errs = append(errs, e)
	}
	c.validate(p)
	for _, e := range p.list {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// durationType is time.Duration's reflect type.
var durationType = reflect.TypeFor[time.Duration]()

// isLeaf reports whether a schema type is a single value (or a list of values) rather
// than a section, a list of sections or a map.
func isLeaf(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return false
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Struct
	}
	return true
}

// fieldTags returns the mapstructure names of a struct type's file-backed fields.
func fieldTags(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// fieldByTag returns the type of the struct field tagged name.
func fieldByTag(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("mapstructure") == name {
			return t.Field(i).Type, true
		}
	}
	return nil, false
}

// scalarKeys lists the dotted paths of every leaf key of t that is not inside a list
// or a map: the keys viper binds to environment variables.
func scalarKeys(t reflect.Type, prefix string) []string {
	var out []string
	for _, tag := range fieldTags(t) {
		ft, _ := fieldByTag(t, tag)
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		if isLeaf(ft) {
			out = append(out, path)
		} else if ft.Kind() == reflect.Struct {
			out = append(out, scalarKeys(ft, path)...)
		}
	}
	return out
}

// envName is the environment variable of a key path: DPDKQ_PORTS_0_RATE.
func envName(path []string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.Join(path, "_"))
}

// applyListEnv applies DPDKQ_<LIST>_<INDEX>_<KEY> variables to the elements of every
// list of sections present in the tree (viper itself only sees whole lists). It walks
// the schema, so a variable also sets a key the element does not mention.
func applyListEnv(t reflect.Type, node map[string]any, path []string, inList bool) {
	for _, tag := range fieldTags(t) {
		ft, _ := fieldByTag(t, tag)
		p := append(append([]string(nil), path...), tag)
		switch {
		case isLeaf(ft):
			if inList {
				if val, ok := os.LookupEnv(envName(p)); ok {
					node[tag] = val
				}
			}
		case ft.Kind() == reflect.Struct:
			if sub, ok := node[tag].(map[string]any); ok {
				applyListEnv(ft, sub, p, inList)
			}
		case ft.Kind() == reflect.Slice:
			list, _ := node[tag].([]any)
			for i, e := range list {
				if em, ok := e.(map[string]any); ok {
					applyListEnv(ft.Elem(), em, append(p, strconv.Itoa(i)), true)
				}
			}
		}
	}
}

// fillElementDefaults adds elementDefaults' keys to list elements that lack them.
func fillElementDefaults(tree map[string]any) {
	for path, defs := range elementDefaults {
		var node any = tree
		for _, seg := range strings.Split(path, ".") {
			m, _ := node.(map[string]any)
			node = m[seg]
		}
		list, _ := node.([]any)
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			for k, dv := range defs {
				if _, set := em[k]; !set {
					em[k] = dv
				}
			}
		}
	}
}

// inheritClassQueues makes every queueing.class_queues entry start from a copy of
// queueing.queue, so a class override only needs the keys it changes.
func inheritClassQueues(tree map[string]any) {
	q, _ := tree["queueing"].(map[string]any)
	base, _ := q["queue"].(map[string]any)
	cq, _ := q["class_queues"].(map[string]any)
	for class, over := range cq {
		om, ok := over.(map[string]any)
		if !ok {
			continue // the decoder reports the wrong type
		}
		merged := deepCopy(base)
		if merged == nil {
			merged = map[string]any{}
		}
		cq[class] = deepMerge(merged.(map[string]any), om)
	}
}

// deepMerge copies src's keys over dst, merging nested maps, and returns dst.
func deepMerge(dst, src map[string]any) map[string]any {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = deepCopy(sv)
	}
	return dst
}

// deepCopy copies maps and turns every slice into a fresh []any, so that overrides can
// edit the tree without touching viper's state and index any list the same way.
func deepCopy(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = deepCopy(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

// applySet applies one "key=value" override. List elements are addressed by index
// ("ports.0.rate" or "ports[0].rate"); the index one past the end appends an element.
func applySet(tree map[string]any, o string) error {
	k, val, ok := strings.Cut(o, "=")
	k = strings.ToLower(strings.TrimSpace(k))
	if !ok || k == "" {
		return &FieldError{Key: "--set", Value: o, Msg: "want key=value, e.g. log.level=debug or ports.0.rate=10Gbps"}
	}
	norm := strings.NewReplacer("[", ".", "]", "").Replace(k)
	segs := strings.Split(norm, ".")
	for _, s := range segs {
		if s == "" {
			return &FieldError{Key: "--set", Value: o, Msg: "empty path segment in key " + strconv.Quote(k)}
		}
	}
	_, err := setIn(tree, reflect.TypeFor[Config](), segs, nil, val)
	if err != nil {
		return &FieldError{Key: "--set " + k, Value: val, Msg: err.Error()}
	}
	return nil
}

// setIn stores val at segs below node, whose schema type is t (nil when unknown: the
// key will then be reported as unknown by the decoder), creating missing sections and
// lists as the schema says, and returns the (possibly new) node.
func setIn(node any, t reflect.Type, segs, done []string, val string) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	seg := segs[0]
	isList := t != nil && t.Kind() == reflect.Slice
	if _, isAnyList := node.([]any); isAnyList {
		isList = true
	}
	if isList {
		list, ok := node.([]any)
		if node != nil && !ok {
			return nil, fmt.Errorf("%s is not a list", strings.Join(done, "."))
		}
		idx, err := strconv.Atoi(seg)
		if err != nil || idx < 0 {
			return nil, fmt.Errorf("%s: %q is not a list index", strings.Join(done, "."), seg)
		}
		if idx > len(list) {
			return nil, fmt.Errorf("index %d out of range: %s has %d elements (index %d appends one)",
				idx, strings.Join(done, "."), len(list), len(list))
		}
		if idx == len(list) {
			list = append(list, nil)
		}
		var et reflect.Type
		if t != nil {
			et = t.Elem()
		}
		nv, err := setIn(list[idx], et, segs[1:], append(done, seg), val)
		if err != nil {
			return nil, err
		}
		list[idx] = nv
		return list, nil
	}
	m, ok := node.(map[string]any)
	if node == nil {
		m, ok = map[string]any{}, true
	}
	if !ok {
		return nil, fmt.Errorf("%s is a single value, it has no key %q", strings.Join(done, "."), seg)
	}
	var ct reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			ct, _ = fieldByTag(t, seg)
		case reflect.Map:
			ct = t.Elem()
		}
	}
	nv, err := setIn(m[seg], ct, segs[1:], append(done, seg), val)
	if err != nil {
		return nil, err
	}
	m[seg] = nv
	return m, nil
}

// hookError is a conversion failure found by a decode hook, with the offending value.
type hookError struct {
	value string
	msg   string
}

func (e *hookError) Error() string { return e.msg }

// durationHook decodes durations from their string form ("100us", "43.5ms"). A bare
// number other than 0 is rejected: YAML's `delay: 10` would otherwise mean 10 ns.
func durationHook(_ reflect.Type, t reflect.Type, data any) (any, error) {
	if t != durationType {
		return data, nil
	}
	const want = `want a duration with a unit, e.g. "100us", "43.5ms" or "1.5s"`
	switch x := data.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return nil, &hookError{x, want}
		}
		return d, nil
	case time.Duration:
		return x, nil
	}
	rv := reflect.ValueOf(data)
	if rv.CanInt() && rv.Int() == 0 || rv.CanUint() && rv.Uint() == 0 || rv.CanFloat() && rv.Float() == 0 {
		return time.Duration(0), nil
	}
	return nil, &hookError{fmt.Sprint(data), "a bare number has no unit; " + want}
}

// wholeNumberHook refuses to truncate a fractional number into an integer field
// (the weakly typed decoder would turn rx_queues: 1.5 into 1).
func wholeNumberHook(_ reflect.Type, t reflect.Type, data any) (any, error) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return data, nil
	}
	if f, ok := data.(float64); ok && (f != math.Trunc(f) || math.IsInf(f, 0)) {
		return nil, &hookError{fmt.Sprint(f), "want a whole number"}
	}
	return data, nil
}

// stringToListHook splits "a,b" into a list, so environment variables and --set can
// give lists (DPDKQ_WORKERS=1,2).
func stringToListHook(f reflect.Type, t reflect.Type, data any) (any, error) {
	if f.Kind() != reflect.String || t.Kind() != reflect.Slice {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	if s == "" {
		return []string{}, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// decode fills c from the merged tree (what viper's UnmarshalExact does, with our
// hooks) and turns the decoder's errors into FieldErrors naming the keys.
func decode(tree map[string]any, c *Config) []*FieldError {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           c,
		WeaklyTypedInput: true, // env and --set values arrive as strings
		ErrorUnused:      true, // a typo must not be silently ignored
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			durationHook, wholeNumberHook, stringToListHook),
	})
	if err != nil {
		return []*FieldError{{Key: "config", Msg: err.Error()}}
	}
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		switch x := e.(type) {
		case *mapstructure.DecodeError:
			out = append(out, translate(x.Name(), x.Unwrap())...)
		case interface{ Unwrap() []error }:
			for _, y := range x.Unwrap() {
				walk(y)
			}
		case interface{ Unwrap() error }: // the decoder's "decoding failed" wrapper
			walk(x.Unwrap())
		default:
			out = append(out, &FieldError{Key: "config", Msg: e.Error()})
		}
	}
	walk(dec.Decode(tree))
	return out
}

// translate turns one decoder error at key name into FieldErrors.
func translate(name string, inner error) []*FieldError {
	const invalid = "has invalid keys: "
	if msg := inner.Error(); strings.HasPrefix(msg, invalid) {
		var out []*FieldError
		known := fieldTags(typeAt(name))
		for _, k := range strings.Split(strings.TrimPrefix(msg, invalid), ", ") {
			key := k
			if name != "" {
				key = name + "." + k
			}
			out = append(out, &FieldError{Key: key, Msg: "unknown key" + suggest(k, known)})
		}
		return out
	}
	var he *hookError
	var pe *mapstructure.ParseError
	var ue *mapstructure.UnconvertibleTypeError
	switch {
	case errors.As(inner, &he):
		return []*FieldError{{Key: name, Value: he.value, Msg: he.msg}}
	case errors.As(inner, &pe):
		return []*FieldError{{Key: name, Value: fmt.Sprint(pe.Value), Msg: "want " + typeWord(pe.Expected.Type())}}
	case errors.As(inner, &ue):
		val := "" // show scalars only, not whole lists or sections
		if k := reflect.ValueOf(ue.Value).Kind(); k != reflect.Slice && k != reflect.Map && k != reflect.Invalid {
			val = fmt.Sprint(ue.Value)
		}
		return []*FieldError{{Key: name, Value: val,
			Msg: "want " + typeWord(ue.Expected.Type()) + ", got " + typeWord(reflect.TypeOf(ue.Value))}}
	}
	if strings.HasPrefix(inner.Error(), "expected a map") {
		return []*FieldError{{Key: name, Msg: "want a mapping of keys, got a single value"}}
	}
	return []*FieldError{{Key: name, Msg: inner.Error()}}
}

// typeWord describes a type for a user: "a whole number", "a list", ...
func typeWord(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	if t == durationType {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeWord(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping of keys"
	}
	return t.String()
}

// typeAt returns the schema type at a decoder key such as "ports[1]" or
// "queueing.class_queues[7].aqm"; Config's type for "". Unknown paths give Config.
func typeAt(name string) reflect.Type {
	t := reflect.TypeFor[Config]()
	if name == "" {
		return t
	}
	for _, part := range strings.Split(name, ".") {
		field, rest, _ := strings.Cut(part, "[")
		ft, ok := fieldByTag(t, field)
		if !ok {
			return reflect.TypeFor[Config]()
		}
		t = ft
		for ; rest != ""; _, rest, _ = strings.Cut(rest, "[") {
			t = t.Elem() // one list index or map key
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	if t.Kind() != reflect.Struct {
		return reflect.TypeFor[Config]()
	}
	return t
}

// DecodeAQM reads an aqm section given at run time (a live change, in the file's form:
// {"kind": "codel", "codel": {"target": "5ms"}}) with the file's decoding rules: the
// same unknown-key errors with suggestions, durations with a unit. Errors are
// *FieldError keyed from "aqm".
func DecodeAQM(m map[string]any) (AQMProfile, error) {
	c := &Config{}
	errs := decode(map[string]any{"queueing": map[string]any{"queue": map[string]any{"aqm": m}}}, c)
	if len(errs) == 0 {
		return c.Queueing.Queue.AQM, nil
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		e.Key = strings.TrimPrefix(e.Key, "queueing.queue.")
		out[i] = e
	}
	return AQMProfile{}, errors.Join(out...)
}
