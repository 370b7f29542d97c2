package models

import (
	"math"

	"github.com/gentri/gentri/internal/nn"
)

// updateEMA moves each average in dst towards its source in src,
//
//	e ← d·e + (1 − d)·w,   d = min(decay, (1 + t)/(10 + t)),
//
// t the number of optimizer steps taken: the warm-up of TensorFlow's
// ExponentialMovingAverage, so early samples are not dominated by the random
// initial weights. decay = 0 copies src.
func updateEMA(dst, src []*nn.Param, decay float64, step int64) {
	if decay == 0 {
		copyState(dst, src)
		return
	}
	t := float64(step)
	d := math.Min(decay, (1+t)/(10+t))
	for i, p := range dst {
		e, w := p.Value.Data().([]float32), src[i].Value.Data().([]float32)
		for j := range e {
			e[j] = float32(d*float64(e[j]) + (1-d)*float64(w[j]))
		}
	}
}
