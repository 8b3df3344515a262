// Package acceptance holds Lookout's end-to-end acceptance tests: they build
// the real lookout binary, start real master and agent processes on loopback
// ports, and check what arrives at real (in-test) mail, IRC, SMS and webhook
// endpoints. The package has no non-test code besides this comment; run it
// with `go test ./acceptance` (skipped with -short);
// LOOKOUT_ACCEPTANCE_RACE=1 builds the binary with the race detector.
package acceptance
