// Package testutil holds helpers shared by Lookout's tests (real sockets on
// loopback, never fixed ports: tests of several packages run at once).
package testutil

import (
	"net"
	"testing"
)

// FreeAddr returns "127.0.0.1:PORT" for a TCP port that was free a moment
// ago. Tests pass it to servers they start, so packages tested in parallel
// never collide on a fixed port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreePort is FreeAddr's port number.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
