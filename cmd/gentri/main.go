// Command gentri trains, samples and evaluates generative models (VAE,
// conditional GAN, DDPM) on MNIST and measures the generative learning
// trilemma: quality, speed and mode coverage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/train"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1 // runtime failure: I/O, a corrupted checkpoint, ...
	exitUsage   = 2 // bad flags or config
	exitNaN     = 3 // training stopped on a NaN/Inf loss; last good checkpoint kept
	// exitGate (4, eval.go): a --fail-if gate of `gentri eval` held.
	exitInterrupted = 130 // Ctrl-C or SIGTERM: a checkpoint of the current step was written
)

// usageError marks an error as the user's input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// streams are the command's I/O, injected so tests run commands without a terminal.
type streams struct {
	Out, Err io.Writer
	ErrTTY   bool // stderr is a terminal: show progress bars
}

func main() {
	// Gorgonia's GroupNorm logs every gradient through the standard logger
	// (gorgonia v0.9.18); gentri never uses it for its own messages.
	log.SetOutput(io.Discard)
	// Gorgonia's tape machine drops every intermediate value when it is reset
	// and allocates it again on the next step (half a gigabyte per DDPM step),
	// so the heap grows to twice the live set at the default GOGC=100. The
	// tensors hold no pointers, so collecting four times as often costs
	// little time (measured: none beyond noise on the DDPM step) and keeps the
	// heap within a quarter of the live set. GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := streams{Out: os.Stdout, Err: os.Stderr, ErrTTY: term.IsTerminal(int(os.Stderr.Fd()))}
	os.Exit(execute(ctx, os.Args[1:], s))
}

// execute runs the command line and returns the process exit code.
func execute(ctx context.Context, args []string, s streams) int {
	root := newRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(s.Err, "gentri: %v\n", err)
	var nan *train.NaNError
	var usage usageError
	var gate gateError
	switch {
	case errors.As(err, &gate):
		return exitGate
	case errors.Is(err, train.ErrInterrupted):
		return exitInterrupted
	case errors.As(err, &nan):
		return exitNaN
	case errors.As(err, &usage):
		return exitUsage
	}
	return exitFailure
}

func newRoot(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "gentri",
		Short:         "Train, sample and measure generative models (VAE, cGAN, DDPM) on MNIST",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newTrainCmd(s), newSampleCmd(s), newEvalCmd(s), newLatentCmd(s), newReportCmd(s), newVersionCmd(s), newEnvCmd(s))
	// Unknown subcommands and stray arguments are usage errors too.
	for _, c := range root.Commands() {
		if c.Args == nil {
			c.Args = noArgs
		}
	}
	root.Args = noArgs
	return root
}

// kindsHelp lists the model kinds of the registry, with what each can do,
// for the help texts of the commands that take --model.
func kindsHelp() string {
	var b strings.Builder
	b.WriteString("Model kinds (--model):\n")
	for _, k := range models.Kinds() {
		fmt.Fprintf(&b, "  %-11s %s", k.Name, k.Summary)
		if k.Caps != 0 {
			fmt.Fprintf(&b, " [%s]", k.Caps)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s: unexpected argument %q (see '%s --help')", c.CommandPath(), args[0], c.CommandPath())
	}
	return nil
}
