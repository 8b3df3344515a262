package mail

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"testing"

	"github.com/lookout-mon/lookout/internal/testutil"
)

func newQPReader(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }

// freePort returns a loopback port nothing listens on (it was just freed).
func freePort(t *testing.T) int { return testutil.FreePort(t) }
