package app

import (
	"fmt"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/rules"
)

// The one place where packages that configs cannot import add their checks
// to configuration validation (configs.ValidateHook), so `lookout
// check-config` and every start refuse what would only fail at run time.
func init() {
	configs.ValidateHook(func(c *configs.Config) []error {
		var errs []error
		for i, r := range c.Master.Rules {
			if r.Name != "" && !actors.RuleNameRE.MatchString(r.Name) {
				errs = append(errs, fmt.Errorf("master.rules[%d].name: %q: want letters, digits, '_', '.', '-' (max 64, starting with a letter or digit)", i, r.Name))
			}
			if r.Expr == "" {
				continue // configs reports the missing expr
			}
			if _, err := rules.Parse(r.Name, r.Expr); err != nil {
				errs = append(errs, fmt.Errorf("master.rules[%d].expr: %w", i, err))
			}
		}
		return errs
	})
}
