package remote

import (
	"context"
	"errors"
	"log/slog"

	"github.com/anthdm/hollywood/actor"
)

type streamReader struct {
	DRPCRemoteUnimplementedServer

	remote       *Remote
	deserializer Deserializer
}

func newStreamReader(r *Remote) *streamReader {
	return &streamReader{
		remote:       r,
		deserializer: defaultSerializer{}, // Lookout patch 6
	}
}

func (r *streamReader) Receive(stream DRPCRemote_ReceiveStream) error {
	defer slog.Debug("streamreader terminated")

	for {
		envelope, err := stream.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			slog.Error("streamReader receive", "err", err)
			return err
		}

		for _, msg := range envelope.Messages {
			// Lookout patch: the indexes come from the peer. Unchecked, an
			// out-of-range index panicked this goroutine and killed the
			// process; a malformed envelope now ends only this stream.
			if msg == nil || !inRange(msg.TypeNameIndex, len(envelope.TypeNames)) ||
				!inRange(msg.TargetIndex, len(envelope.Targets)) || envelope.Targets[msg.TargetIndex] == nil ||
				(len(envelope.Senders) > 0 && !inRange(msg.SenderIndex, len(envelope.Senders))) {
				slog.Error("streamReader: malformed envelope (index out of range); closing stream")
				return errors.New("remote: malformed envelope")
			}
			tname := envelope.TypeNames[msg.TypeNameIndex]
			payload, err := r.deserializer.Deserialize(msg.Data, tname)

			if err != nil {
				slog.Error("streamReader deserialize", "err", err)
				return err
			}
			target := envelope.Targets[msg.TargetIndex]
			var sender *actor.PID
			if len(envelope.Senders) > 0 {
				sender = envelope.Senders[msg.SenderIndex]
			}
			r.remote.engine.SendLocal(target, payload, sender)
		}
	}

	return nil
}

// inRange reports whether i indexes a slice of length n (Lookout patch).
func inRange(i int32, n int) bool { return i >= 0 && int(i) < n }
