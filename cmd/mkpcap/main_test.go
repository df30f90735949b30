package main

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
)

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.pcap")
	var out bytes.Buffer
	require.NoError(t, run([]string{"-o", path, "-n", "500", "-seed", "3"}, &out, io.Discard))
	frames, err := testpkt.ReadPcap(path)
	require.NoError(t, err)
	want, counts := testpkt.Sample(500, 3)
	require.Len(t, frames, 500)
	for i := range want {
		require.Equal(t, want[i], frames[i].Data, "frame %d", i)
	}
	assert.Equal(t, "mkpcap: wrote "+path+": "+counts.String()+"\n", out.String())
	assert.Contains(t, out.String(), "no_route=10")
}

func TestRunRejectsBadN(t *testing.T) {
	for _, n := range []string{"0", "-5", "10000001"} {
		err := run([]string{"-o", filepath.Join(t.TempDir(), "x.pcap"), "-n", n}, io.Discard, io.Discard)
		require.Error(t, err, n)
		assert.Contains(t, err.Error(), "-n "+n)
	}
	assert.Error(t, run([]string{"-bogus"}, io.Discard, io.Discard))
}
