package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// DefaultYAML is the embedded configuration of `lookout run`: master, local
// agent and dashboard in one process on 127.0.0.1, plaintext allowed only
// because everything is on loopback, a starter rule set and no notifiers.
//
//go:embed default.yaml
var DefaultYAML []byte

// EnvPrefix starts every environment variable that overrides a config key.
// A double underscore separates nesting levels and a single underscore stays
// part of the key, which is lower-cased:
//
//	LOOKOUT_MASTER__HOST_TIMEOUT=30s                     -> master.host_timeout
//	LOOKOUT_AGENT__MASTERS=10.0.0.1:7450,10.0.0.2:7450   -> agent.masters (comma list)
//	LOOKOUT_MASTER__NOTIFIERS__MAIL__0__PASSWORD=...     -> master.notifiers.mail[0].password
//
// A numeric segment indexes an existing list entry (it cannot add entries).
// Variables without a double underscore (LOOKOUT_CONFIG, ...) are ignored:
// every config key is at least two levels deep.
const EnvPrefix = "LOOKOUT_"

const envNest = "__"

// maxConfigBytes caps a config file; anything larger is a mistake.
const maxConfigBytes = 4 << 20

// Load reads the configuration. With path == "" it is DefaultYAML; otherwise
// the file at path is parsed over Defaults() (DefaultYAML is not used: a
// file states the whole deployment). env
// (os.Environ() style, "KEY=value") then overrides keys, see EnvPrefix. Zero
// values get their defaults and the result is validated: every problem is
// reported, joined, each prefixed with its key path.
func Load(path string, env []string) (*Config, error) {
	if path == "" {
		return load("embedded default config", rawbytes.Provider(DefaultYAML), env)
	}
	return load(path, file.Provider(path), env)
}

// LoadAgent is Load for a process that runs only the agent
// (lookout-agent): the file is parsed and decoded as Load does (unknown
// keys and wrong types anywhere are still errors), then checked with
// ValidateAgent instead of Validate.
func LoadAgent(path string, env []string) (*Config, error) {
	cfg, err := parse(path, file.Provider(path), env)
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateAgent(); err != nil {
		return nil, fmt.Errorf("%s: invalid configuration:\n%w", path, err)
	}
	return cfg, nil
}

// LoadBytes is Load for a config held in memory: b is parsed over Defaults().
func LoadBytes(b []byte, env []string) (*Config, error) {
	return load("config", rawbytes.Provider(b), env)
}

// load does the work of Load and LoadBytes; src names the source in errors.
func load(src string, p koanf.Provider, env []string) (*Config, error) {
	cfg, err := parse(src, p, env)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid configuration:\n%w", src, err)
	}
	return cfg, nil
}

// parse reads, decodes and applies defaults, without Validate.
func parse(src string, p koanf.Provider, env []string) (*Config, error) {
	b, err := p.ReadBytes()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("read %s: %d bytes is larger than the %d byte limit", src, len(b), maxConfigBytes)
	}
	yp := &yamlParser{}
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(b), yp); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	origins, err := applyEnv(k, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}

	// Decode over a zero Config, then ApplyDefaults: the result is what
	// decoding over Defaults() gives, except that derived defaults
	// (agent.name from node.name, agent.key_file from node.data_dir,
	// watchdog.agent_silence from host_timeout) follow the file's values.
	var cfg Config
	raw := k.Raw()
	var errs []error
	checkKeys(raw, reflect.TypeOf(cfg), "", yp.pos, origins, &errs)
	if err := decode(raw, &cfg, len(errs) == 0); err != nil {
		errs = append(errs, decodeErrors(err, yp.pos, origins)...)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", src, errors.Join(errs...))
	}
	cfg.ApplyDefaults()
	return &cfg, nil
}

// pos is a position in the YAML text.
type pos struct{ line, col int }

// yamlParser is a koanf.Parser that also records the position of every key
// and value (by key path, e.g. "master.agents[0].name"), so errors found
// after decoding can point at the line.
type yamlParser struct {
	pos map[string]pos
}

// Unmarshal implements koanf.Parser.
func (p *yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("YAML syntax: %w", err)
	}
	out := map[string]any{}
	if len(doc.Content) == 0 { // empty document
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			return out, nil
		}
		return nil, fmt.Errorf("line %d, column %d: the top level must be a mapping of sections (node:, master:, ...)", root.Line, root.Column)
	}
	if err := root.Decode(&out); err != nil {
		return nil, fmt.Errorf("YAML: %w", err)
	}
	p.pos = map[string]pos{}
	p.walk(root, "", 0)
	return out, nil
}

// Marshal implements koanf.Parser.
func (p *yamlParser) Marshal(m map[string]any) ([]byte, error) { return yaml.Marshal(m) }

// walk records node positions under path; depth stops alias bombs.
func (p *yamlParser) walk(n *yaml.Node, path string, depth int) {
	if depth > 32 || len(p.pos) > 100000 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			kp := joinPath(path, kn.Value)
			p.pos[kp] = pos{kn.Line, kn.Column}
			p.walk(vn, kp, depth+1)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ip := path + "[" + strconv.Itoa(i) + "]"
			p.pos[ip] = pos{c.Line, c.Column}
			p.walk(c, ip, depth+1)
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// where returns " (line L, column C)" or " (from LOOKOUT_X)" for a key path,
// or "" when its origin is unknown.
func where(path string, ps map[string]pos, origins map[string]string) string {
	if v, ok := origins[path]; ok {
		return " (set by " + v + ")"
	}
	if p, ok := ps[path]; ok {
		return fmt.Sprintf(" (line %d, column %d)", p.line, p.col)
	}
	return ""
}

// mapProvider is a koanf.Provider over an in-memory map.
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return m, nil }
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("mapProvider does not support ReadBytes")
}

// applyEnv merges the LOOKOUT_* overrides of env into k. It returns the key
// path each variable set, for error messages.
func applyEnv(k *koanf.Koanf, environ []string) (map[string]string, error) {
	origins := map[string]string{}
	type indexed struct {
		name, value string
		segs        []string
	}
	var idx []indexed
	var errs []error
	prov := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			rest := strings.TrimPrefix(name, EnvPrefix)
			if !strings.Contains(rest, envNest) {
				return "", nil
			}
			segs := strings.Split(strings.ToLower(rest), envNest)
			numeric := false
			for _, s := range segs {
				if s == "" || strings.Contains(s, ".") {
					errs = append(errs, fmt.Errorf("environment variable %s: empty or dotted key segment", name))
					return "", nil
				}
				if _, err := strconv.Atoi(s); err == nil {
					numeric = true
				}
			}
			if numeric {
				idx = append(idx, indexed{name, value, segs})
				return "", nil
			}
			key := strings.Join(segs, ".")
			origins[key] = name
			return key, value
		},
	})
	if err := k.Load(prov, nil); err != nil {
		return nil, fmt.Errorf("environment overrides: %w", err)
	}
	if len(idx) == 0 {
		return origins, errors.Join(errs...)
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i].name < idx[j].name })
	raw := k.Raw()
	for _, e := range idx {
		path, err := setIndexed(raw, e.segs, e.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", e.name, err))
			continue
		}
		origins[path] = e.name
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	k.Delete("")
	if err := k.Load(mapProvider(raw), nil); err != nil {
		return nil, fmt.Errorf("environment overrides: %w", err)
	}
	return origins, nil
}

// setIndexed sets segs (map keys and list indexes) to value in raw, creating
// missing map levels but never list entries. It returns the key path.
func setIndexed(raw map[string]any, segs []string, value string) (string, error) {
	var cur any = raw
	path := ""
	for i, s := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			path = joinPath(path, s)
			if last {
				c[s] = value
				return path, nil
			}
			next, ok := c[s]
			if !ok || next == nil {
				if _, err := strconv.Atoi(segs[i+1]); err == nil {
					return "", fmt.Errorf("%s is not a list in the config file, so entry %s cannot be overridden", path, segs[i+1])
				}
				next = map[string]any{}
				c[s] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(s)
			if err != nil {
				return "", fmt.Errorf("%s is a list: want a numeric index, got %q", path, s)
			}
			if n < 0 || n >= len(c) {
				return "", fmt.Errorf("%s[%d] does not exist (the list has %d entries); env overrides cannot add entries", path, n, len(c))
			}
			path += "[" + s + "]"
			if last {
				c[n] = value
				return path, nil
			}
			if c[n] == nil {
				c[n] = map[string]any{}
			}
			cur = c[n]
		default:
			return "", fmt.Errorf("%s is a single value, not a section or list", path)
		}
	}
	return path, nil
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
	secretType   = reflect.TypeOf(Secret(""))
)

// checkKeys reports every key of raw that names no field of t (typo
// protection), with its position and a suggestion.
func checkKeys(raw any, t reflect.Type, path string, ps map[string]pos, origins map[string]string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType || t == timeType {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return // the decoder reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		keys := make([]string, 0, len(m))
		for key := range m {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			kp := joinPath(path, key)
			ft, ok := fields[key]
			if !ok {
				msg := "unknown key"
				if s := closest(key, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else {
					msg += fmt.Sprintf(" (valid keys: %s)", strings.Join(names, ", "))
				}
				*errs = append(*errs, fmt.Errorf("%s: %s%s", kp, msg, where(kp, ps, origins)))
				continue
			}
			checkKeys(m[key], ft, kp, ps, origins, errs)
		}
	case reflect.Slice:
		l, ok := raw.([]any)
		if !ok {
			return
		}
		for i, v := range l {
			checkKeys(v, t.Elem(), path+"["+strconv.Itoa(i)+"]", ps, origins, errs)
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for key, v := range m {
			checkKeys(v, t.Elem(), joinPath(path, key), ps, origins, errs)
		}
	}
}

// closest returns the name within edit distance 2 of key (or sharing a
// long prefix), if any.
func closest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (short strings).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decode decodes raw over cfg with the hooks below. strict turns on
// mapstructure's ErrorUnused (checkKeys already reports unknown keys with
// better messages; strict is the backstop).
func decode(raw map[string]any, cfg *Config, strict bool) error {
	dc := &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			durationHook, timeHook, toStringHook, fromStringHook, commaListHook,
		),
		ErrorUnused: strict,
		TagName:     "koanf",
		MatchName:   func(mapKey, fieldName string) bool { return mapKey == fieldName },
		Result:      cfg,
	}
	d, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return fmt.Errorf("build config decoder: %w", err)
	}
	return d.Decode(raw)
}

// errTypeNames turns mapstructure's Go type names into YAML words.
var errTypeNames = strings.NewReplacer(
	"source data must be an array or slice, got map", "must be a list, got a mapping",
	"source data must be an array or slice, got", "must be a list, got",
	"[]interface {}", "list", "map[string]interface {}", "mapping", "configs.Secret", "string",
)

// decodeErrors flattens mapstructure's joined errors into one error per key
// path: "master.host_timeout: ... (line 3, column 17)".
func decodeErrors(err error, ps map[string]pos, origins map[string]string) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		de, ok := e.(*mapstructure.DecodeError)
		if !ok {
			// The top level is "decoding failed due to...: %w" around the
			// joined per-key errors.
			if inner := errors.Unwrap(e); inner != nil {
				walk(inner)
				return
			}
			out = append(out, e)
			return
		}
		inner := de.Unwrap()
		if j, ok := inner.(interface{ Unwrap() []error }); ok {
			walk(j.(error))
			return
		}
		name := de.Name()
		msg := errTypeNames.Replace(inner.Error())
		out = append(out, fmt.Errorf("%s: %s%s", name, msg, where(name, ps, origins)))
	}
	walk(err)
	return out
}

var dayRe = regexp.MustCompile(`(\d+)d`)

// ParseDuration is time.ParseDuration plus whole days ("30d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var overflow bool
	x := dayRe.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.Atoi(strings.TrimSuffix(m, "d"))
		if err != nil || n > 100000 {
			overflow = true
			return m
		}
		return strconv.Itoa(n*24) + "h"
	})
	if overflow {
		return 0, fmt.Errorf("invalid duration %q: too many days", s)
	}
	d, err := time.ParseDuration(x)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 2h, 30d)", s)
	}
	return d, nil
}

// durationHook parses "30s"/"30d" and refuses bare numbers other than 0
// (YAML `timeout: 30` would otherwise be 30 nanoseconds).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return ParseDuration(v)
	case int, int64, uint64, float64:
		if reflect.ValueOf(v).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("a duration needs a unit: got the bare number %v (write e.g. \"%vs\")", v, v)
	}
	return data, nil
}

// timeHook parses RFC3339 strings into time.Time (YAML timestamps that the
// YAML decoder already turned into time.Time pass through).
func timeHook(from, to reflect.Type, data any) (any, error) {
	if to != timeType {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return data, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("invalid time %q (want RFC3339, e.g. 2026-01-31T22:00:00Z)", s)
	}
	return t, nil
}

// toStringHook lets numbers and booleans fill string (and Secret) fields:
// `password: 12345` is the string "12345". Secrets never echo their value
// in errors.
func toStringHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	if to == secretType {
		return nil, fmt.Errorf("must be a string, got a %s", kindName(data))
	}
	return data, nil
}

// fromStringHook parses strings (from the environment, or quoted in YAML)
// into bool and number fields.
func fromStringHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok {
		return data, nil
	}
	s = strings.TrimSpace(s)
	switch to.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("invalid boolean %q (want true or false)", s)
		}
		return b, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if to == durationType {
			return data, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", s)
		}
		return n, nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", s)
		}
		return f, nil
	}
	return data, nil
}

// commaListHook splits a string into a []string: the environment form of a
// list ("a,b,c"). An empty string is an empty list.
func commaListHook(from, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	out := []any{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

func kindName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	case nil:
		return "null"
	}
	return reflect.TypeOf(v).Kind().String()
}
