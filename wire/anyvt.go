package wire

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// vtAny is google.protobuf.Any without the protobuf runtime: the same two
// fields and the same encoding. It is the Any of the slim agent (built with
// -tags lookout_noproto, see any_noproto.go), so a master built with
// protobuf receives a *anypb.Any from it and sends it one. It is compiled
// into every build so the default build's tests can hold it against the
// protobuf runtime (FuzzAnyCodec).
type vtAny struct {
	TypeUrl string
	Value   []byte
}

// ProtoName is the protobuf message name the remote sends an Any as.
func (a *vtAny) ProtoName() string { return "google.protobuf.Any" }

// GetTypeUrl returns TypeUrl, or "" for a nil Any.
func (a *vtAny) GetTypeUrl() string {
	if a != nil {
		return a.TypeUrl
	}
	return ""
}

// GetValue returns Value, or nil for a nil Any.
func (a *vtAny) GetValue() []byte {
	if a != nil {
		return a.Value
	}
	return nil
}

// MarshalVT encodes a as protobuf does: field 1 (type_url, string), then
// field 2 (value, bytes), each left out when empty.
func (a *vtAny) MarshalVT() ([]byte, error) {
	b := make([]byte, 0, len(a.TypeUrl)+len(a.Value)+2*(1+maxVarintLen))
	if a.TypeUrl != "" {
		b = append(b, 1<<3|wireBytes)
		b = appendUvarint(b, uint64(len(a.TypeUrl)))
		b = append(b, a.TypeUrl...)
	}
	if len(a.Value) > 0 {
		b = append(b, 2<<3|wireBytes)
		b = appendUvarint(b, uint64(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, nil
}

// Protobuf wire types and limits.
const (
	wireVarint   = 0
	wireFixed64  = 1
	wireBytes    = 2
	wireFixed32  = 5
	maxVarintLen = 10
	maxFieldNum  = 1<<29 - 1
)

// errAnyMalformed is wrapped by every error of vtAny.UnmarshalVT.
var errAnyMalformed = errors.New("wire: malformed protobuf Any")

var errAnyTruncated = fmt.Errorf("%w: truncated", errAnyMalformed)

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// readUvarint reads a varint at b[i:] and returns it and the index after
// it; a varint longer than 10 bytes or overflowing 64 bits is malformed.
func readUvarint(b []byte, i int) (uint64, int, error) {
	var v uint64
	for n := 0; n < maxVarintLen; n++ {
		if i >= len(b) {
			return 0, 0, errAnyTruncated
		}
		c := b[i]
		i++
		if n == maxVarintLen-1 && c > 1 {
			return 0, 0, fmt.Errorf("%w: varint overflows 64 bits", errAnyMalformed)
		}
		v |= uint64(c&0x7f) << (7 * n)
		if c < 0x80 {
			return v, i, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: varint longer than 10 bytes", errAnyMalformed)
}

// errAnyGroup: groups (wire types 3 and 4, deprecated) are refused; no
// peer puts one into an Any.
var errAnyGroup = fmt.Errorf("%w: group fields are not supported", errAnyMalformed)

// UnmarshalVT decodes protobuf b into a as the protobuf runtime does: the
// last type_url and value win, other fields are skipped, type_url must be
// valid UTF-8.
func (a *vtAny) UnmarshalVT(b []byte) error {
	*a = vtAny{}
	for i := 0; i < len(b); {
		key, n, err := readUvarint(b, i)
		if err != nil {
			return err
		}
		i = n
		field, typ := key>>3, key&7
		if field == 0 || field > maxFieldNum {
			return fmt.Errorf("%w: field number %d", errAnyMalformed, field)
		}
		switch typ {
		case wireVarint:
			if _, i, err = readUvarint(b, i); err != nil {
				return err
			}
		case wireFixed64, wireFixed32:
			size := 8
			if typ == wireFixed32 {
				size = 4
			}
			if len(b)-i < size {
				return errAnyTruncated
			}
			i += size
		case wireBytes:
			l, n, err := readUvarint(b, i)
			if err != nil {
				return err
			}
			if l > uint64(len(b)-n) {
				return errAnyTruncated
			}
			v := b[n : n+int(l)]
			i = n + int(l)
			switch field {
			case 1:
				if !utf8.Valid(v) {
					return fmt.Errorf("%w: type_url is not UTF-8", errAnyMalformed)
				}
				a.TypeUrl = string(v)
			case 2:
				a.Value = append([]byte{}, v...)
			}
		case 3, 4:
			return errAnyGroup
		default:
			return fmt.Errorf("%w: wire type %d", errAnyMalformed, typ)
		}
	}
	return nil
}
