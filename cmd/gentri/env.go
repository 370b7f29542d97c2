package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/version"
)

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gentri's version",
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(s.Out, "gentri %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// envInfo is what `gentri env` reports: what a result depends on.
type envInfo struct {
	Version    string `json:"version"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	BLAS       string `json:"blas"`
	Kernels    string `json:"kernels"`
	Hint       string `json:"hint,omitempty"` // how to get the faster build; empty in the fastest one
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	MNIST      string `json:"mnist"`
}

// envOptions are the flags of `gentri env`.
type envOptions struct {
	JSON bool
}

func newEnvCmd(s streams) *cobra.Command {
	var o envOptions
	c := &cobra.Command{
		Use:   "env",
		Short: "Print the version, Go version, kernels, BLAS, GOMAXPROCS and where MNIST was found",
		RunE: func(*cobra.Command, []string) error {
			return runEnv(o, s)
		},
	}
	c.Flags().BoolVar(&o.JSON, "json", false, "print one JSON object")
	return c
}

func runEnv(o envOptions, s streams) error {
	info := envInfo{
		Version: version.Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		BLAS: nn.BLASName, Kernels: nn.KernelsName(), Hint: nn.BuildHint(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
	}
	if dir, err := data.FindMNIST(); err == nil {
		info.MNIST = dir
	} else {
		info.MNIST = "not found: " + err.Error()
	}
	if o.JSON {
		return json.NewEncoder(s.Out).Encode(info)
	}
	fmt.Fprintf(s.Out, "version     %s\ngo          %s %s/%s\nkernels     %s\nblas        %s\ngomaxprocs  %d (cpus %d)\nmnist       %s\n",
		info.Version, info.Go, info.OS, info.Arch, info.Kernels, info.BLAS, info.GOMAXPROCS, info.NumCPU, info.MNIST)
	if info.Hint != "" {
		fmt.Fprintln(s.Out, "hint: "+info.Hint)
	}
	return nil
}

// printBuild writes which kernels and BLAS this binary runs on, and the
// hint to a faster build where there is one: the first lines of `gentri
// train`, so a slow build shows itself before the first step.
func printBuild(w io.Writer) {
	fmt.Fprintf(w, "build: kernels %s; blas %s\n", nn.KernelsName(), nn.BLASName)
	if hint := nn.BuildHint(); hint != "" {
		fmt.Fprintln(w, "hint: "+hint)
	}
}
