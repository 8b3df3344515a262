package agent

import (
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

func seqs(o *outbox) []uint64 {
	var out []uint64
	for _, e := range o.entries {
		out = append(out, e.rep.Seq)
	}
	return out
}

func eq(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOutbox(t *testing.T) {
	tests := []struct {
		name        string
		max         int
		add         []uint64
		ack         []uint64
		wantSeqs    []uint64
		wantDropped uint64
		wantOldest  uint64
	}{
		{"in order", 10, []uint64{1, 2, 3}, nil, []uint64{1, 2, 3}, 0, 1},
		{"out of order insert sorted", 10, []uint64{5, 3, 4}, nil, []uint64{3, 4, 5}, 0, 3},
		{"duplicate replaces", 10, []uint64{1, 2, 2}, nil, []uint64{1, 2}, 0, 1},
		{"cumulative ack", 10, []uint64{1, 2, 3, 4, 5}, []uint64{3}, []uint64{4, 5}, 0, 4},
		{"ack beyond all", 10, []uint64{1, 2}, []uint64{99}, nil, 0, 0},
		{"stale ack no-op", 10, []uint64{4, 5}, []uint64{5, 2}, nil, 0, 0},
		{"ack gap seq", 10, []uint64{2, 4, 6}, []uint64{5}, []uint64{6}, 0, 6},
		{"drop oldest exact", 3, []uint64{1, 2, 3, 4, 5, 6, 7}, nil, []uint64{5, 6, 7}, 4, 5},
		{"size 1", 1, []uint64{1, 2}, nil, []uint64{2}, 1, 2},
		{"size 0 treated as 1", 0, []uint64{1, 2}, nil, []uint64{2}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutbox(tt.max)
			var dropped int
			for _, s := range tt.add {
				dropped += o.Add(&model.Report{Seq: s})
			}
			for _, a := range tt.ack {
				o.Ack(a)
			}
			if got := seqs(o); !eq(got, tt.wantSeqs) {
				t.Errorf("seqs = %v, want %v", got, tt.wantSeqs)
			}
			if o.dropped != tt.wantDropped || uint64(dropped) != tt.wantDropped {
				t.Errorf("dropped = %d (returned %d), want %d", o.dropped, dropped, tt.wantDropped)
			}
			if o.Oldest() != tt.wantOldest {
				t.Errorf("Oldest = %d, want %d", o.Oldest(), tt.wantOldest)
			}
		})
	}
}

func TestOutboxDue(t *testing.T) {
	o := newOutbox(100)
	t0 := time.Unix(100, 0)
	for s := uint64(1); s <= 5; s++ {
		o.Add(&model.Report{Seq: s})
		o.MarkSent(s, t0.Add(time.Duration(s)*time.Second))
	}
	o.Add(&model.Report{Seq: 6}) // never sent
	after := 2 * time.Second
	tests := []struct {
		at    time.Duration
		limit int
		want  []uint64
	}{
		{at: 2 * time.Second, limit: 10, want: nil},                        // oldest (1) sent 1s ago
		{at: 3 * time.Second, limit: 10, want: []uint64{1, 2, 3, 4, 5, 6}}, // whole run from the oldest
		{at: 4 * time.Second, limit: 10, want: nil},                        // just resent
		{at: 5 * time.Second, limit: 2, want: []uint64{1, 2}},              // batch limit
		{at: 5 * time.Second, limit: 10, want: nil},
	}
	for i, tt := range tests {
		var got []uint64
		for _, r := range o.Due(t0.Add(tt.at), after, tt.limit) {
			got = append(got, r.Seq)
		}
		if !eq(got, tt.want) {
			t.Errorf("step %d (t+%v): due %v, want %v", i, tt.at, got, tt.want)
		}
	}
}

func TestOutboxDueNeverSentOldest(t *testing.T) {
	o := newOutbox(10)
	o.Add(&model.Report{Seq: 7})
	if got := o.Due(time.Unix(5, 0), time.Hour, 10); len(got) != 1 || got[0].Seq != 7 {
		t.Fatalf("a never-sent oldest report must be due: %v", got)
	}
	if got := o.Due(time.Unix(6, 0), time.Hour, 10); len(got) != 0 {
		t.Fatalf("due again within the resend delay: %v", got)
	}
}
