//go:build lookout_noproto

package remote

import (
	"fmt"
	"sync"

	"github.com/anthdm/hollywood/actor"
)

// The messages of remote.proto as plain Go structs (Lookout patch 6): the
// same fields and wire encoding (remote_noproto_vt.go), without the
// protobuf runtime.

// Envelope carries a batch of messages between two remotes.
type Envelope struct {
	TypeNames []string
	Targets   []*actor.PID
	Senders   []*actor.PID
	Messages  []*Message

	unknownFields []byte
}

// Reset clears the Envelope.
func (x *Envelope) Reset() { *x = Envelope{} }

// GetTypeNames returns TypeNames.
func (x *Envelope) GetTypeNames() []string {
	if x != nil {
		return x.TypeNames
	}
	return nil
}

// GetTargets returns Targets.
func (x *Envelope) GetTargets() []*actor.PID {
	if x != nil {
		return x.Targets
	}
	return nil
}

// GetSenders returns Senders.
func (x *Envelope) GetSenders() []*actor.PID {
	if x != nil {
		return x.Senders
	}
	return nil
}

// GetMessages returns Messages.
func (x *Envelope) GetMessages() []*Message {
	if x != nil {
		return x.Messages
	}
	return nil
}

// Message is one serialized message of an Envelope.
type Message struct {
	Data          []byte
	TargetIndex   int32
	SenderIndex   int32
	TypeNameIndex int32

	unknownFields []byte
}

// Reset clears the Message.
func (x *Message) Reset() { *x = Message{} }

// GetData returns Data.
func (x *Message) GetData() []byte {
	if x != nil {
		return x.Data
	}
	return nil
}

// GetTargetIndex returns TargetIndex.
func (x *Message) GetTargetIndex() int32 {
	if x != nil {
		return x.TargetIndex
	}
	return 0
}

// GetSenderIndex returns SenderIndex.
func (x *Message) GetSenderIndex() int32 {
	if x != nil {
		return x.SenderIndex
	}
	return 0
}

// GetTypeNameIndex returns TypeNameIndex.
func (x *Message) GetTypeNameIndex() int32 {
	if x != nil {
		return x.TypeNameIndex
	}
	return 0
}

// TestMessage is remote.proto's TestMessage.
type TestMessage struct {
	Data []byte

	unknownFields []byte
}

// Reset clears the TestMessage.
func (x *TestMessage) Reset() { *x = TestMessage{} }

// GetData returns Data.
func (x *TestMessage) GetData() []byte {
	if x != nil {
		return x.Data
	}
	return nil
}

// Serializer turns a message into bytes and names its type.
type Serializer interface {
	Serialize(msg any) ([]byte, error)
	TypeName(any) string
}

// Deserializer turns bytes of a named type back into a message.
type Deserializer interface {
	Deserialize([]byte, string) (any, error)
}

// Msg is a message a remote built without the protobuf runtime can carry:
// it encodes itself as the protobuf message named by ProtoName (so a peer
// built with protobuf decodes it as that message).
type Msg interface {
	MarshalVT() ([]byte, error)
	UnmarshalVT([]byte) error
	ProtoName() string
}

var (
	typesMu sync.RWMutex
	types   = map[string]func() Msg{}
)

// RegisterMsg makes the remote decode messages of the protobuf type name
// into values made by newMsg.
func RegisterMsg(name string, newMsg func() Msg) {
	typesMu.Lock()
	defer typesMu.Unlock()
	types[name] = newMsg
}

// defaultSerializer serializes Msg values and decodes registered types.
type defaultSerializer struct{}

func (defaultSerializer) Serialize(msg any) ([]byte, error) {
	m, ok := msg.(Msg)
	if !ok {
		return nil, fmt.Errorf("remote: %T is not a remote.Msg", msg)
	}
	return m.MarshalVT()
}

func (defaultSerializer) TypeName(msg any) string {
	if m, ok := msg.(Msg); ok {
		return m.ProtoName()
	}
	return fmt.Sprintf("%T", msg)
}

func (defaultSerializer) Deserialize(data []byte, tname string) (any, error) {
	typesMu.RLock()
	newMsg := types[tname]
	typesMu.RUnlock()
	if newMsg == nil {
		return nil, fmt.Errorf("remote: message type %q is not registered (remote.RegisterMsg)", tname)
	}
	m := newMsg()
	if err := m.UnmarshalVT(data); err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	RegisterMsg("actor.PID", func() Msg { return &actor.PID{} })
}

// ProtoName is the protobuf name of TestMessage ("remote.TestMessage").
func (x *TestMessage) ProtoName() string { return "remote.TestMessage" }

func init() {
	RegisterMsg("actor.Ping", func() Msg { return &actor.Ping{} })
	RegisterMsg("actor.Pong", func() Msg { return &actor.Pong{} })
	RegisterMsg("remote.TestMessage", func() Msg { return &TestMessage{} })
}
