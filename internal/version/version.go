// Package version holds gentri's version, recorded in every checkpoint.
package version

// Version is set at build time with -ldflags "-X github.com/gentri/gentri/internal/version.Version=...".
var Version = "0.1.0-dev"
