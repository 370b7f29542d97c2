package main

import (
	"fmt"
	"io"

	"github.com/gentri/gentri/internal/sweep"
)

// runReportSweep writes a sweep's table (Markdown, or JSON) and, with
// --plot, its figure. Points without a record are in the table's list
// and named on stderr; they do not fail the command, since a report of a
// sweep still running is worth reading.
func runReportSweep(o reportOptions, s streams) error {
	switch {
	case o.Sweep == "":
		return usagef("--json, --metric and --x are options of a sweep's report: give --sweep FILE")
	case o.Targets:
		return usagef("--targets judges the default models' records; a sweep's report has no targets")
	case (o.Metric != "" || o.X != "") && o.Plot == "":
		return usagef("--metric and --x choose what --plot draws: give --plot OUT.png")
	}
	sw, err := sweep.Load(o.Sweep)
	if err != nil {
		return usageError{err}
	}
	rep := sweep.NewReport(sw)
	if n := len(rep.Missing); n > 0 {
		fmt.Fprintf(s.Err, "report: %d of %d points have no record:\n", n, len(sw.Points))
		for _, m := range rep.Missing {
			fmt.Fprintf(s.Err, "  point %d (%s): %s\n", m.Index, m.Dir, m.Reason)
		}
	}
	if o.Plot != "" {
		if err := rep.WritePlot(o.Plot, o.Metric, o.X, o.PlotTitle); err != nil {
			return usageError{err}
		}
		fmt.Fprintf(s.Err, "wrote %s\n", o.Plot)
		if o.Out == "" && !o.JSON {
			return nil
		}
	}
	err = writeOutput(s.Out, o.Out, func(w io.Writer) error {
		if o.JSON {
			return rep.JSON(w)
		}
		rep.Markdown(w)
		return nil
	})
	if err == nil && o.Out != "" {
		fmt.Fprintf(s.Err, "wrote %s (%d rows)\n", o.Out, len(rep.Rows))
	}
	return err
}
