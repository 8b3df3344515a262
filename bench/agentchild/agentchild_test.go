package agentchild

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestArgsRoundTrip(t *testing.T) {
	o := Options{Master: "127.0.0.1:7450", KeyFile: "/k/agent.key", DataDir: "/d", Interval: 25 * time.Millisecond}
	args := o.Args()
	if args[0] != Command {
		t.Fatalf("Args()[0] = %q, want %q", args[0], Command)
	}
	got, err := ParseArgs(args[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o) {
		t.Errorf("ParseArgs(Args()) = %+v, want %+v", got, o)
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"nothing", nil, "required"},
		{"no key", []string{"--master", "a:1", "--dir", "/d"}, "required"},
		{"zero interval", []string{"--master", "a:1", "--key", "k", "--dir", "/d", "--interval", "0s"}, "not positive"},
		{"bad interval", []string{"--master", "a:1", "--key", "k", "--dir", "/d", "--interval", "soon"}, "interval"},
		{"unknown flag", []string{"--fast"}, "fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseArgs(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseArgs(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}
