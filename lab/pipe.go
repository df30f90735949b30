package lab

import (
	"io"
	"net/http"
	"time"
)

func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

// http2s is the API client's HTTP client: short timeouts, the router is local.
var http2s = http.Client{Timeout: 5 * time.Second}
