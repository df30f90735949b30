package mempool_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/dpdkq/dpdkq/lcore"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/stretchr/testify/require"
)

func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	if err := lcore.Init([]string{"--no-huge", "--no-pci", "-m", "256", "-l", "0", "--file-prefix", fmt.Sprintf("dqmp%d", os.Getpid()), "--log-level", "lib.*:error"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := mempool.RegisterMeta(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = lcore.Cleanup()
	os.Exit(code)
}

func TestPoolAccounting(t *testing.T) {
	p, err := mempool.Create("t1", 511, 0, mempool.DefaultDataRoom, -1)
	require.NoError(t, err)
	defer p.Free()
	require.Equal(t, 0, p.InUse())
	b := mempool.NewBurst(32)
	defer b.Close()
	require.True(t, p.AllocBulk(b, 32))
	require.Equal(t, 32, p.InUse())
	m := b.S()[0]
	require.Equal(t, p.Ptr(), mempool.PoolOf(m))
	for _, x := range b.S()[:4] {
		mempool.SetLen(x, 60)
	}
	d := mempool.Data(m)
	require.Len(t, d, 60)
	require.GreaterOrEqual(t, cap(d), 2048)
	d[0], d[59] = 0xAB, 0xCD
	require.Equal(t, byte(0xAB), mempool.Data(m)[0])
	require.Equal(t, uint32(60), mempool.PktLen(m))
	meta := mempool.MetaOf(m)
	meta.OutPort, meta.Class = 3, 7
	require.Equal(t, uint16(3), mempool.MetaOf(m).OutPort)

	require.Equal(t, byte(0xCD), mempool.Data(m)[59])
	require.Equal(t, 32, p.InUse())
	b.FreeBulk(32)
	require.Equal(t, 0, p.InUse())
}

func TestCreateErrors(t *testing.T) {
	_, err := mempool.Create("bad", 0, 0, 2048, -1)
	require.ErrorContains(t, err, "size must be > 0")
	_, err = mempool.Create("bad2", 100, 100, 2048, -1)
	require.ErrorContains(t, err, "cache")
}

func TestFieldAccessNoAllocs(t *testing.T) {
	p, err := mempool.Create("t2", 63, 0, mempool.DefaultDataRoom, -1)
	require.NoError(t, err)
	defer p.Free()
	m := p.Alloc()
	require.NotZero(t, m)
	defer mempool.Free1(m)
	mempool.SetLen(m, 100)
	var sink int
	allocs := testing.AllocsPerRun(1000, func() {
		sink += len(mempool.Data(m)) + int(mempool.PktLen(m)) + int(mempool.MetaOf(m).Class)
	})
	require.Zero(t, allocs)
	require.NotZero(t, sink)
}
