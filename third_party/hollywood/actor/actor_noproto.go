//go:build lookout_noproto

package actor

// The messages of actor.proto as plain Go structs (Lookout patch 6): the
// same fields and wire encoding (actor_noproto_vt.go), without the protobuf
// runtime.

// PID is a process identifier.
type PID struct {
	Address string
	ID      string

	unknownFields []byte
}

// Reset clears the PID.
func (x *PID) Reset() { *x = PID{} }

// GetAddress returns the address, or "" for a nil PID.
func (x *PID) GetAddress() string {
	if x != nil {
		return x.Address
	}
	return ""
}

// GetID returns the ID, or "" for a nil PID.
func (x *PID) GetID() string {
	if x != nil {
		return x.ID
	}
	return ""
}

// Ping is actor.proto's Ping.
type Ping struct {
	From *PID

	unknownFields []byte
}

// Reset clears the Ping.
func (x *Ping) Reset() { *x = Ping{} }

// GetFrom returns From.
func (x *Ping) GetFrom() *PID {
	if x != nil {
		return x.From
	}
	return nil
}

// Pong is actor.proto's Pong.
type Pong struct {
	From *PID

	unknownFields []byte
}

// Reset clears the Pong.
func (x *Pong) Reset() { *x = Pong{} }

// GetFrom returns From.
func (x *Pong) GetFrom() *PID {
	if x != nil {
		return x.From
	}
	return nil
}

// ProtoName is the protobuf name of PID ("actor.PID").
func (x *PID) ProtoName() string { return "actor.PID" }

// ProtoName is the protobuf name of Ping ("actor.Ping").
func (x *Ping) ProtoName() string { return "actor.Ping" }

// ProtoName is the protobuf name of Pong ("actor.Pong").
func (x *Pong) ProtoName() string { return "actor.Pong" }
