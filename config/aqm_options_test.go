package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The AQM variant keys load with their stated defaults.
func TestAQMVariantDefaults(t *testing.T) {
	c, err := LoadBytes([]byte(base), nil)
	require.NoError(t, err)
	a := c.Queueing.PerClass[0].AQM
	assert.Equal(t, "sqrt", a.CoDel.ControlLaw)
	assert.Equal(t, "rfc", a.PIE.Variant)
	assert.False(t, a.PIE.ActiveStates)
	assert.Equal(t, "15140B", a.PIE.ActiveThresh)
	require.NotNil(t, a.PIE.Derandomize)
	assert.True(t, *a.PIE.Derandomize)
	assert.False(t, a.PIE.ByteMode)
	assert.False(t, a.RED.Gentle || a.RED.Adaptive || a.RED.HardDrop)
	assert.Equal(t, 500*time.Millisecond, a.RED.AdaptInterval)
}

// Syntax errors in the variant keys name the key, the value and the choices.
func TestAQMVariantKeyErrors(t *testing.T) {
	for _, tc := range []struct{ set, key, value, msg string }{
		{"queueing.queue.aqm.pie.variant=ns3", "queueing.queue.aqm.pie.variant", "ns3", "rfc, linux"},
		{"queueing.queue.aqm.codel.control_law=fast", "queueing.queue.aqm.codel.control_law", "fast", "sqrt, linux"},
		{"queueing.queue.aqm.pie.active_threshold=10p", "queueing.queue.aqm.pie.active_threshold", "10p", "bytes"},
	} {
		_, err := LoadBytes([]byte(base), []string{tc.set})
		require.Error(t, err, tc.set)
		ps := Problems(err)
		require.NotEmpty(t, ps, tc.set)
		assert.Equal(t, tc.key, ps[0].Key, tc.set)
		assert.Equal(t, tc.value, ps[0].Value, tc.set)
		assert.Contains(t, ps[0].Msg, tc.msg, tc.set)
	}
}
