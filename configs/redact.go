package configs

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the configuration as YAML, keys in schema order, with
// every Secret shown as "<secret>", webhook header values hidden (they
// usually carry tokens) and passwords in URLs replaced. Durations print as
// "30s". The output parses back into the same Config, except that secrets
// then read "<secret>".
func (c *Config) Redacted() string {
	n := toNode(reflect.ValueOf(*c), "")
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return fmt.Sprintf("# cannot render config: %v\n", err)
	}
	_ = enc.Close()
	return buf.String()
}

const secretMark = "<secret>"

func scalar(tag, v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}
}

// toNode renders v; key is the koanf key of the field holding v (for the
// header and URL redaction).
func toNode(v reflect.Value, key string) *yaml.Node {
	switch v.Type() {
	case durationType:
		return scalar("!!str", FormatDuration(time.Duration(v.Int())))
	case timeType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return scalar("!!null", "null")
		}
		return scalar("!!str", t.Format(time.RFC3339))
	case secretType:
		return scalar("!!str", Secret(v.String()).String())
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return scalar("!!null", "null")
		}
		return toNode(v.Elem(), key)
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("koanf"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			n.Content = append(n.Content, scalar("!!str", tag), toNode(v.Field(i), tag))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		if v.Len() > 0 && v.Type().Elem().Kind() == reflect.Struct {
			n.Style = 0
		}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, toNode(v.Index(i), key))
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := toNode(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), k)
			if key == "headers" && val.Value != "" {
				val = scalar("!!str", secretMark)
			}
			n.Content = append(n.Content, scalar("!!str", k), val)
		}
		return n
	case reflect.String:
		s := v.String()
		if strings.HasSuffix(key, "url") {
			s = redactURL(s)
		}
		return scalar("!!str", s)
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Float32, reflect.Float64:
		return scalar("", strconv.FormatFloat(v.Float(), 'g', -1, 64))
	}
	return scalar("!!str", fmt.Sprint(v.Interface()))
}

// redactURL hides the password of a URL's user info.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return strings.Replace(u.String(), ":xxxxx@", ":"+secretMark+"@", 1)
	}
	return s
}

// FormatDuration prints d the way a person writes it in a config: whole
// days as "30d", otherwise time.Duration's form without zero units ("5m",
// "1h30m", "1.5s"). ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
