package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/train"
)

// reportOptions are the flags of `gentri report`.
type reportOptions struct {
	Records   []string
	Out       string // the tables' file; "" is stdout (without --plot)
	Targets   bool
	Plot      string // the trilemma figure's PNG
	PlotTitle string
	// A sweep's table (report_sweep.go).
	Sweep, Metric, X string
	JSON             bool
}

func newReportCmd(s streams) *cobra.Command {
	var o reportOptions
	c := &cobra.Command{
		Use:   "report [--plot OUT.png] RECORD.json... | report --sweep SWEEP.yaml [--json] [--plot OUT.png]",
		Short: "Turn `gentri eval --json` records into the trilemma's Markdown tables or its figure",
		Long: `Turn ` + "`gentri eval --json`" + ` records into the trilemma's Markdown tables (one row per model and
sampler, the real-data floor of each N, the Stacked-MNIST modes, the 2-D mode figures) or, with --plot,
its figure.

--plot draws every image record as one labelled point: sampling time (seconds per 100 samples,
log axis) across, FID (log axis, lower is better) up, recall as the marker's colour (colour bar
beside the plot). The points of one model and sampler that differ only in their step count (a
--sweep-steps run) are joined by a line. Records without FID, recall and speed (2-D models, likelihood-only records) are
left out, each with a note on stderr; if none is left the command fails. All points must come from
the same feature network (extractor_sha256): FIDs of different networks do not compare.

FID depends on N, the number of samples. The figure's N is the N of most records (the larger on a
tie): its points are circles. Records of another N are drawn with another marker and ", N=..." in
their label, and each N's real-data floor (the FID of N real images, from the records) is a dashed
line: read each point against the floor of its own N.

With --plot the tables are written only when --out names a file for them.

--sweep reads the record of each point of a sweep (its folder's eval.json, written by
` + "`gentri eval --sweep`" + `) and writes one table: a row per grid point with its values and each
figure as the mean ± sample standard deviation over its seeds, then the points that have no record.
--plot then draws a figure (--metric, default the first column) against the grid's numeric key (--x
where there are several), one line per combination of the other keys' values.`,
		Example: `  gentri report runs/trilemma/eval/*.json
  gentri report --out table.md a.json b.json
  gentri report --targets runs/trilemma/eval/*.json   # and whether the trilemma targets are met
  gentri report --plot trilemma.png runs/trilemma/eval/{vae,cgan,ddpm-ddim50,ddpm-1000}.json
  gentri report --sweep sweep.yaml --plot lr.png --metric fid`,
		Args: func(c *cobra.Command, args []string) error {
			if c.Flags().Changed("sweep") {
				return noArgs(c, args)
			}
			if len(args) == 0 {
				return usagef("%s: no record files given (see '%s --help')", c.CommandPath(), c.CommandPath())
			}
			return nil
		},
	}
	c.RunE = func(_ *cobra.Command, args []string) error {
		o.Records = args
		if o.Sweep != "" || o.JSON || o.Metric != "" || o.X != "" {
			return runReportSweep(o, s)
		}
		return runReport(o, s)
	}
	f := c.Flags()
	f.StringVar(&o.Out, "out", "", "write the tables to this file instead of stdout")
	f.BoolVar(&o.Targets, "targets", false, "add a table of the trilemma's targets for the default models and whether the records meet them")
	f.StringVar(&o.Plot, "plot", "", "draw the trilemma figure (FID against seconds per 100 samples, recall as colour) to this PNG")
	f.StringVar(&o.PlotTitle, "plot-title", "", "the figure's title (default \""+eval.DefaultTrilemmaTitle+"\")")
	f.StringVar(&o.Sweep, "sweep", "", "the table of this sweep file's points, from each point's eval.json")
	f.BoolVar(&o.JSON, "json", false, "with --sweep: the table as one JSON object")
	f.StringVar(&o.Metric, "metric", "", "with --sweep --plot: the figure to draw, e.g. fid, recall, modes.captured (default: the table's first)")
	f.StringVar(&o.X, "x", "", "with --sweep --plot: the grid key across (default: the only one with numeric values)")
	return c
}

// runReport writes the tables, the figure, or both.
func runReport(o reportOptions, s streams) error {
	if o.PlotTitle != "" && o.Plot == "" {
		return usagef("--plot-title needs --plot")
	}
	if o.Plot != "" && o.Targets && o.Out == "" {
		return usagef("--targets adds to the tables, which --plot writes only with --out: give --out too")
	}
	if o.Plot != "" {
		pts, skipped, err := eval.TrilemmaFigure(o.Records)
		for _, line := range skipped {
			fmt.Fprintf(s.Err, "report --plot: left out %s\n", line)
		}
		if err != nil {
			return usageError{err}
		}
		if err := eval.WriteTrilemmaPNG(o.Plot, pts, eval.TrilemmaPlotOptions{Title: o.PlotTitle}); err != nil {
			return err
		}
		fmt.Fprintf(s.Err, "wrote %s\n", o.Plot)
		if o.Out == "" {
			return nil
		}
	}
	recs, err := eval.ReadRecords(o.Records)
	if err != nil {
		return usageError{err}
	}
	err = writeOutput(s.Out, o.Out, func(w io.Writer) error {
		eval.MarkdownTables(w, recs, func(ckpt string, step int) float64 {
			return train.ElapsedAt(filepath.Dir(ckpt), step)
		})
		if o.Targets {
			eval.MarkdownTargets(w, eval.TrilemmaTargets(recs))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.Out != "" {
		fmt.Fprintf(s.Err, "wrote %s (%d records)\n", o.Out, len(recs))
	}
	return nil
}

// writeOutput renders a report with write: to stdout when path is "", else
// whole into path through a temporary file renamed into place, so a
// failed or interrupted report never leaves half a table behind.
func writeOutput(stdout io.Writer, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(stdout)
	}
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}
