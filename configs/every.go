package configs

import (
	"fmt"
	"strings"
	"time"
)

// Every is a parsed recurring maintenance start ("daily 02:00",
// "sunday 03:00"): the window starts at Hour:Minute UTC every day
// (Daily) or on Weekday.
type Every struct {
	Daily   bool
	Weekday time.Weekday
	Hour    int
	Minute  int
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
	"sun":      time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseEvery parses MaintenanceConfig.Every: "daily HH:MM" or
// "<weekday> HH:MM" (full or three-letter English day name, any case).
// It is the one parser of this syntax; the maintenance code uses it too.
func ParseEvery(s string) (Every, error) {
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) != 2 {
		return Every{}, fmt.Errorf("invalid schedule %q: want \"daily HH:MM\" or \"<weekday> HH:MM\"", s)
	}
	var e Every
	if fields[0] == "daily" {
		e.Daily = true
	} else if wd, ok := weekdays[fields[0]]; ok {
		e.Weekday = wd
	} else {
		return Every{}, fmt.Errorf("invalid schedule %q: %q is not daily or a weekday name", s, fields[0])
	}
	t, err := time.Parse("15:04", fields[1])
	if err != nil {
		return Every{}, fmt.Errorf("invalid schedule %q: time must be HH:MM (24h)", s)
	}
	e.Hour, e.Minute = t.Hour(), t.Minute()
	return e, nil
}

// Next returns the first start of the schedule strictly after t, in t's
// location.
func (e Every) Next(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), e.Hour, e.Minute, 0, 0, t.Location())
	for i := 0; i < 9; i++ {
		if d.After(t) && (e.Daily || d.Weekday() == e.Weekday) {
			return d
		}
		d = time.Date(d.Year(), d.Month(), d.Day()+1, e.Hour, e.Minute, 0, 0, t.Location())
	}
	return d
}
