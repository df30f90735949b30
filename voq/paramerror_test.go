package voq

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParamErrorNamesTheField(t *testing.T) {
	_, err := New(Config{Kind: KindEgress, Ports: ports(1), LimitPkts: 8, FQ: &FQConfig{Flows: 1000}})
	var pe *ParamError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, ParamError{Param: "FQ.Flows", Value: "1000", Msg: "want a power of two 1..65536"}, *pe)
	_, err = New(Config{Kind: KindEgress, Ports: ports(1), Classes: 2, LimitPkts: 8,
		Sched: SchedConfig{Kind: SchedWDRR, Weights: []int{1, 2000}}})
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "Sched.Weights[1]", pe.Param)
}

func TestDescriptorsCountsPerQueueLimits(t *testing.T) {
	c := Config{Kind: KindEgress, Ports: ports(2), Classes: 2, LimitPkts: 100}
	n, err := Descriptors(c, nil)
	require.NoError(t, err)
	require.Equal(t, 4*128, n, "4 queues of a 128-slot ring")
	n, err = Descriptors(c, func(q QueueInfo) (int, int) {
		if q.Class == 1 {
			return 1000, 0
		}
		return 100, 0
	})
	require.NoError(t, err)
	require.Equal(t, 2*128+2*1024, n)
}

func TestMemoryIsTheConfiguredModel(t *testing.T) {
	a, err := New(Config{Kind: KindEgress, Ports: ports(1), LimitPkts: 8})
	require.NoError(t, err)
	require.Nil(t, a.Memory())
	m := newCheckBuf(t, 1, 1, 0, 1)
	a, err = New(Config{Kind: KindEgress, Ports: ports(1), Classes: 1, LimitPkts: 8, Memory: m})
	require.NoError(t, err)
	require.Same(t, m, a.Memory().(*checkBuf))
}
