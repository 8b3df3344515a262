// Package e2e holds Lookout's process-level end-to-end tests: they build
// the lookout binary once, start real master, agent and `lookout run`
// processes on 127.0.0.1 with generated configs, and check what an operator
// would see: the dashboard and JSON API, `lookout query`, webhook
// notifications, and delivery across master crashes (SIGKILL).
//
// Values are pushed through the real agent processes with the agent's
// textfile collector (agent.textfile_dir). The browser test needs Chromium
// (/usr/bin/chromium or $LOOKOUT_CHROMIUM) and skips without it. Run with
//
//	go test ./e2e/
//
// -short shortens the master outage to 3s, runs one kill -9 round instead
// of three, and skips the browser. LOOKOUT_E2E_RACE=1 builds the binary
// with -race.
package e2e
