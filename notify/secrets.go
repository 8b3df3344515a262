package notify

import (
	"encoding/base64"
	"net/url"
)

// minURLSecret is the shortest query value treated as a secret: shorter
// values ("1", "json") are parameters, and redacting them would garble
// every message.
const minURLSecret = 6

// URLSecrets returns the parts of a configured URL that may be
// credentials: the userinfo password and every query value of at least
// minURLSecret bytes (webhook and SMS gateway URLs often carry a token
// there). Pass them to Redact with the notifier's other secrets.
func URLSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		out = append(out, pw, url.QueryEscape(pw))
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= minURLSecret {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	return out
}

// BasicAuthSecret returns the base64 form of HTTP basic credentials as sent
// in an Authorization header, which providers sometimes echo back.
func BasicAuthSecret(user, password string) string {
	if password == "" {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
