package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func runLab(t *testing.T, args ...string) (string, error) {
	c := newLabCmd()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), err
}

func TestLabListAndHelp(t *testing.T) {
	out, err := runLab(t, "list")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^aqm\s+Bufferbloat`, out)
	require.Regexp(t, `(?m)^sizing\s+Buffer sizing`, out)
	require.Contains(t, out, "--rate 62.5Mbps --rtt 87ms --target 0.98")
	require.Contains(t, out, "--aqm taildrop-10bdp,taildrop-1bdp,red,pie,codel,fq-codel")

	out, err = runLab(t, "run", "sizing", "--help")
	require.NoError(t, err)
	require.Contains(t, out, "--cycles-window")
	require.Contains(t, out, "(--quick: 1,16)")
	require.Contains(t, out, "CS244")

	_, err = runLab(t, "run", "aqm", "--flow", "2")
	require.ErrorContains(t, err, "unknown flag: --flow")
	_, err = runLab(t, "plot", t.TempDir())
	require.ErrorContains(t, err, "results.json")
}
