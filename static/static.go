// Package static embeds the dashboard's assets (stylesheet and the small
// hand-written live-update script) so the binary serves them without any
// file on disk or CDN.
package static

import "embed"

// FS holds app.js and style.css, served under /static/ by package web.
//
//go:embed app.js style.css
var FS embed.FS
