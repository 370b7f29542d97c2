package models

import (
	"fmt"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/nn"
)

// paramTensors exports float32 parameters under their PyTorch names.
func paramTensors(ps []*nn.Param) []checkpoint.Tensor {
	ts := make([]checkpoint.Tensor, len(ps))
	for i, p := range ps {
		ts[i] = checkpoint.Float32s(p.Name, p.Shape(), p.Value.Data().([]float32))
	}
	return ts
}

// loadParams copies each parameter's tensor into its existing backing array,
// keeping the pointer every graph has bound.
func loadParams(f *checkpoint.File, ps []*nn.Param) error {
	for _, p := range ps {
		if err := f.Float32Into(p.Name, p.Shape(), p.Value.Data().([]float32)); err != nil {
			return err
		}
	}
	return nil
}

// adamTensors exports an optimizer's moments as prefix.<param>.exp_avg and
// .exp_avg_sq (PyTorch's names) and its step count as prefix.step.
func adamTensors(prefix string, a *nn.Adam) []checkpoint.Tensor {
	var ts []checkpoint.Tensor
	for i, p := range a.Params() {
		ts = append(ts,
			checkpoint.Float32s(prefix+"."+p.Name+".exp_avg", p.Shape(), a.M[i]),
			checkpoint.Float32s(prefix+"."+p.Name+".exp_avg_sq", p.Shape(), a.V[i]))
	}
	return append(ts, checkpoint.Int64s(prefix+".step", []int{1}, []int64{a.Step}))
}

func loadAdam(f *checkpoint.File, prefix string, a *nn.Adam) error {
	for i, p := range a.Params() {
		for _, mv := range []struct {
			suffix string
			dst    []float32
		}{{".exp_avg", a.M[i]}, {".exp_avg_sq", a.V[i]}} {
			if err := f.Float32Into(prefix+"."+p.Name+mv.suffix, p.Shape(), mv.dst); err != nil {
				return fmt.Errorf("optimizer state: %w", err)
			}
		}
	}
	t, ok := f.Get(prefix + ".step")
	if !ok {
		return fmt.Errorf("optimizer state %q missing", prefix+".step")
	}
	step, err := t.AsInt64s()
	if err != nil || len(step) != 1 {
		return fmt.Errorf("optimizer state %q: want one int64", prefix+".step")
	}
	a.Step = step[0]
	return nil
}

// namedAdam is an optimizer and the prefix of its state in a checkpoint.
type namedAdam struct {
	prefix string
	opt    *nn.Adam
}

// modelState is a model's checkpoint: each list of weights in order and,
// with train, each optimizer's state in order. Every State method is one
// call of it, so a model's tensors and their order are stated once.
func modelState(train bool, weights [][]*nn.Param, opts ...namedAdam) []checkpoint.Tensor {
	var ts []checkpoint.Tensor
	for _, ps := range weights {
		ts = append(ts, paramTensors(ps)...)
	}
	if train {
		for _, o := range opts {
			ts = append(ts, adamTensors(o.prefix, o.opt)...)
		}
	}
	return ts
}

// loadModelState restores what modelState wrote, given the same lists.
func loadModelState(f *checkpoint.File, train bool, weights [][]*nn.Param, opts ...namedAdam) error {
	for _, ps := range weights {
		if err := loadParams(f, ps); err != nil {
			return err
		}
	}
	if train {
		for _, o := range opts {
			if err := loadAdam(f, o.prefix, o.opt); err != nil {
				return err
			}
		}
	}
	return nil
}

// netState is the checkpoint of a single network trained by one Adam:
// its weights and, with train, the optimizer state under "optim.".
func netState(ps []*nn.Param, opt *nn.Adam, train bool) []checkpoint.Tensor {
	return modelState(train, [][]*nn.Param{ps}, namedAdam{"optim", opt})
}

// loadNetState restores what netState wrote.
func loadNetState(f *checkpoint.File, ps []*nn.Param, opt *nn.Adam, train bool) error {
	return loadModelState(f, train, [][]*nn.Param{ps}, namedAdam{"optim", opt})
}
