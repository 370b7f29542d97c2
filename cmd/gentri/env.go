package main

import (
	"encoding/json"
	"fmt"
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
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	MNIST      string `json:"mnist"`
}

func newEnvCmd(s streams) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "env",
		Short: "Print the version, Go version, BLAS, kernels, GOMAXPROCS and where MNIST was found",
		RunE: func(*cobra.Command, []string) error {
			info := envInfo{
				Version: version.Version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
				BLAS: nn.BLASName, Kernels: nn.KernelsName(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
			}
			if dir, err := data.FindMNIST(); err == nil {
				info.MNIST = dir
			} else {
				info.MNIST = "not found: " + err.Error()
			}
			if asJSON {
				return json.NewEncoder(s.Out).Encode(info)
			}
			fmt.Fprintf(s.Out, "version     %s\ngo          %s %s/%s\nblas        %s\nkernels     %s\ngomaxprocs  %d (cpus %d)\nmnist       %s\n",
				info.Version, info.Go, info.OS, info.Arch, info.BLAS, info.Kernels, info.GOMAXPROCS, info.NumCPU, info.MNIST)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}
