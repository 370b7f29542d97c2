package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/train"
)

func newReportCmd(s streams) *cobra.Command {
	var (
		out     string
		targets bool
	)
	c := &cobra.Command{
		Use:   "report RECORD.json...",
		Short: "Turn `gentri eval --json` records into the trilemma's Markdown tables",
		Example: `  gentri report runs/trilemma/eval/*.json
  gentri report --out table.md a.json b.json
  gentri report --targets runs/trilemma/eval/*.json   # and whether the trilemma targets are met`,
		Args: cobra.MinimumNArgs(1),
	}
	c.RunE = func(_ *cobra.Command, args []string) error {
		recs, err := eval.ReadRecords(args)
		if err != nil {
			return usageError{err}
		}
		w := s.Out
		if out != "" {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		eval.MarkdownTables(w, recs, func(ckpt string, step int) float64 {
			return train.ElapsedAt(filepath.Dir(ckpt), step)
		})
		if targets {
			eval.MarkdownTargets(w, eval.TrilemmaTargets(recs))
		}
		if out != "" {
			fmt.Fprintf(s.Err, "wrote %s (%d records)\n", out, len(recs))
		}
		return nil
	}
	c.Flags().StringVar(&out, "out", "", "write the tables to this file instead of stdout")
	c.Flags().BoolVar(&targets, "targets", false, "add a table of the trilemma's targets for the default models and whether the records meet them")
	return c
}
