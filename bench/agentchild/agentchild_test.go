package agentchild

import (
	"os"
	"path/filepath"
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

// TestProfiles: without lookout_noproto every profile variable gives its
// file; with it (the slim agent, no runtime/pprof) each one makes the
// child fail at start, naming the variable.
func TestProfiles(t *testing.T) {
	tests := []struct {
		env   string
		files []string // written, relative to the variable's path
	}{
		{EnvCPUProfile, []string{""}},
		{EnvTrace, []string{""}},
		{EnvMemProfile, []string{"", ".txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prof")
			t.Setenv(tt.env, path)
			stop, err := startProfiles()
			if !Profiling {
				if err == nil || !strings.Contains(err.Error(), tt.env) {
					t.Fatalf("startProfiles() with %s set in a slim build = %v, want an error naming it", tt.env, err)
				}
				if err := writeHeapProfile(path); err == nil {
					t.Fatal("writeHeapProfile in a slim build succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			busy := 0
			for i := range 100000 {
				busy += i % 7
			}
			_ = busy
			stop()
			if tt.env == EnvMemProfile {
				if err := writeHeapProfile(path); err != nil {
					t.Fatal(err)
				}
			}
			for _, suffix := range tt.files {
				st, err := os.Stat(path + suffix)
				if err != nil {
					t.Fatalf("%s set: %v", tt.env, err)
				}
				if st.Size() == 0 {
					t.Errorf("%s set: %s is empty", tt.env, path+suffix)
				}
			}
		})
	}
	t.Run("none set", func(t *testing.T) {
		for _, env := range []string{EnvCPUProfile, EnvMemProfile, EnvTrace} {
			t.Setenv(env, "")
		}
		stop, err := startProfiles()
		if err != nil {
			t.Fatalf("startProfiles() with no variable set: %v", err)
		}
		stop()
	})
	t.Run("unwritable path", func(t *testing.T) {
		if !Profiling {
			t.Skip("slim build writes no profile")
		}
		t.Setenv(EnvCPUProfile, filepath.Join(t.TempDir(), "no-such-dir", "cpu"))
		if _, err := startProfiles(); err == nil || !strings.Contains(err.Error(), "cpu profile") {
			t.Fatalf("startProfiles() = %v, want a cpu profile error", err)
		}
	})
}
