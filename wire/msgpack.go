//go:build !lookout_noproto

package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// The general msgpack codec, for the master's and the cluster's messages.
// The slim agent (tag lookout_noproto) sends and receives only the
// envelopes of envcodec.go and maccodec.go and links no msgpack package.

// Marshal msgpack-encodes v.
func Marshal(v any) ([]byte, error) { return msgpack.Marshal(v) }

// Unmarshal decodes msgpack b into v after checking its size against max and
// scanning it for lengths the input cannot back.
func Unmarshal(b []byte, max int, v any) error {
	if err := checkMsgpack(b, max); err != nil {
		return err
	}
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Encode wraps v, msgpack-encoded, in an Any with the given type URL.
func Encode(typeURL string, v any) (*Any, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", typeURL, err)
	}
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, typeURL, len(b))
	}
	return &Any{TypeUrl: typeURL, Value: b}, nil
}

// Decode unpacks an Any of the given type URL into v.
func Decode(a *Any, typeURL string, v any) error {
	if a == nil {
		return fmt.Errorf("%w: nil message", ErrMalformed)
	}
	if a.TypeUrl != typeURL {
		return fmt.Errorf("%w: got %q, want %q", ErrWrongType, a.TypeUrl, typeURL)
	}
	return Unmarshal(a.Value, MaxMessage, v)
}
