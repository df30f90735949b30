package plan

import (
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
)

// The AQM variant keys of the file reach aqm.Spec with their stated defaults, and
// set values override them; aqm's own range errors name the key.
func TestAQMVariantKeys(t *testing.T) {
	_, y := tempBase(t)
	spec := func(set ...string) aqm.Spec {
		t.Helper()
		p, err := build(t, y, set, machine)
		require.NoError(t, err)
		return p.Ports[1].AQM[0]
	}
	s := spec("queueing.queue.aqm.kind=pie")
	assert.Equal(t, aqm.PIERFC, s.PIE.Variant)
	assert.False(t, s.PIE.NoDerandomize)
	assert.False(t, s.PIE.ActiveStates)
	assert.False(t, s.PIE.ByteMode)
	assert.Equal(t, 15140, s.PIE.ActiveThreshold)
	s = spec("queueing.queue.aqm.kind=pie", "queueing.queue.aqm.pie.variant=linux",
		"queueing.queue.aqm.pie.derandomize=false", "queueing.queue.aqm.pie.byte_mode=true",
		"queueing.queue.aqm.pie.active_states=true", "queueing.queue.aqm.pie.active_threshold=30KB")
	assert.Equal(t, aqm.PIELinux, s.PIE.Variant)
	assert.True(t, s.PIE.NoDerandomize)
	assert.True(t, s.PIE.ByteMode)
	assert.True(t, s.PIE.ActiveStates)
	assert.Equal(t, 30000, s.PIE.ActiveThreshold)

	s = spec("queueing.queue.aqm.kind=codel")
	assert.Equal(t, aqm.CoDelLawSqrt, s.CoDel.ControlLaw)
	s = spec("queueing.queue.aqm.kind=codel", "queueing.queue.aqm.codel.control_law=linux")
	assert.Equal(t, aqm.CoDelLawLinux, s.CoDel.ControlLaw)

	s = spec("queueing.queue.aqm.kind=red")
	assert.False(t, s.RED.Gentle || s.RED.Adaptive || s.RED.HardDrop)
	assert.Equal(t, 500*time.Millisecond, s.RED.AdaptInterval)
	s = spec("queueing.queue.aqm.kind=red", "queueing.queue.aqm.red.gentle=true", "queueing.queue.aqm.red.adaptive=true",
		"queueing.queue.aqm.red.harddrop=true", "queueing.queue.aqm.red.adapt_interval=1s")
	assert.True(t, s.RED.Gentle && s.RED.Adaptive && s.RED.HardDrop)
	assert.Equal(t, time.Second, s.RED.AdaptInterval)

	_, err := build(t, y, []string{"queueing.queue.aqm.kind=red", "queueing.queue.aqm.red.adapt_interval=1ms"}, machine)
	assertField(t, err, "queueing.queue.aqm.red.adapt_interval", "1ms", "10ms..1m40s")
}

// A live change (`dpdkq set aqm --param ...`) decodes only the keys it names into an
// AQMProfile, as control does, and goes through the same conversion: unnamed keys
// keep their defaults (derandomization on, rfc, sqrt) and bad values name the key.
func TestAQMVariantLiveConversion(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, nil, machine)
	require.NoError(t, err)
	live := func(m map[string]any) (aqm.Spec, error) {
		var prof config.AQMProfile
		dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			Result: &prof, TagName: "mapstructure", ErrorUnused: true, WeaklyTypedInput: true,
			DecodeHook: mapstructure.StringToTimeDurationHookFunc(),
		})
		require.NoError(t, err)
		require.NoError(t, dec.Decode(m))
		return p.AQMSpec(prof, "aqm", 1, 0, 62.5e6)
	}
	s, err := live(map[string]any{"kind": "pie", "pie": map[string]any{"variant": "linux", "byte_mode": "true"}})
	require.NoError(t, err)
	assert.Equal(t, aqm.PIELinux, s.PIE.Variant)
	assert.True(t, s.PIE.ByteMode)
	assert.False(t, s.PIE.NoDerandomize, "derandomization stays on when not named")
	s, err = live(map[string]any{"kind": "pie", "pie": map[string]any{"derandomize": "false", "active_threshold": "20KB"}})
	require.NoError(t, err)
	assert.Equal(t, aqm.PIERFC, s.PIE.Variant)
	assert.True(t, s.PIE.NoDerandomize)
	assert.Equal(t, 20000, s.PIE.ActiveThreshold)
	s, err = live(map[string]any{"kind": "codel", "codel": map[string]any{"control_law": "linux"}})
	require.NoError(t, err)
	assert.Equal(t, aqm.CoDelLawLinux, s.CoDel.ControlLaw)
	s, err = live(map[string]any{"kind": "red", "red": map[string]any{"min_th": "10p", "max_th": "30p",
		"gentle": true, "adaptive": true, "harddrop": true, "adapt_interval": "250ms"}})
	require.NoError(t, err)
	assert.True(t, s.RED.Gentle && s.RED.Adaptive && s.RED.HardDrop)
	assert.Equal(t, 250*time.Millisecond, s.RED.AdaptInterval)

	_, err = live(map[string]any{"kind": "pie", "pie": map[string]any{"variant": "bsd"}})
	assertField(t, err, "aqm.pie.variant", "bsd", "rfc, linux")
	_, err = live(map[string]any{"kind": "codel", "codel": map[string]any{"control_law": "x"}})
	assertField(t, err, "aqm.codel.control_law", "x", "sqrt, linux")
	_, err = live(map[string]any{"kind": "pie", "pie": map[string]any{"active_threshold": "5ms"}})
	assertField(t, err, "aqm.pie.active_threshold", "5ms", "bytes")
	_, err = live(map[string]any{"kind": "red", "red": map[string]any{"min_th": "10p", "max_th": "30p", "adapt_interval": "200s"}})
	assertField(t, err, "aqm.red.adapt_interval", "3m20s", "10ms..1m40s")
}
