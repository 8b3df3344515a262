package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// refMAC is HMAC-SHA256(key, id || body) by crypto/hmac.
func refMAC(key []byte, id uint64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	var idb [8]byte
	binary.BigEndian.PutUint64(idb[:], id)
	m.Write(idb[:])
	m.Write(body)
	return m.Sum(nil)
}

// TestSessionMACMatchesHMAC: the saved-state HMAC gives crypto/hmac's
// bytes for keys shorter than, as long as and longer than a block, and
// stays right when one session computes many MACs in a row.
func TestSessionMACMatchesHMAC(t *testing.T) {
	bodies := [][]byte{nil, {0}, bytes.Repeat([]byte("x"), 55), bytes.Repeat([]byte("y"), 64), bytes.Repeat([]byte("z"), 5000)}
	for _, klen := range []int{0, 1, 32, 63, 64, 65, 200} {
		key := bytes.Repeat([]byte{byte(klen + 1)}, klen)
		s := NewSession(uint64(klen)*1000+7, "web1", key)
		for round := range 2 {
			for _, b := range bodies {
				if got, want := s.sumOf(b), refMAC(key, s.ID, b); !bytes.Equal(got, want) {
					t.Fatalf("key %d bytes, body %d bytes, round %d: %x, want %x", klen, len(b), round, got, want)
				}
			}
		}
	}
	s := NewSession(1, "web1", make([]byte, 32))
	body := make([]byte, 700)
	if n := testing.AllocsPerRun(100, func() { s.sumOf(body) }); n > 0 {
		t.Fatalf("sumOf allocates %.0f times per MAC", n)
	}
}

func FuzzSessionMAC(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef"), uint64(77), []byte("body"))
	f.Add(bytes.Repeat([]byte{1}, 100), uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, key []byte, id uint64, body []byte) {
		if got, want := NewSession(id, "a", key).sumOf(body), refMAC(key, id, body); !bytes.Equal(got, want) {
			t.Fatalf("%x, want %x", got, want)
		}
	})
}
