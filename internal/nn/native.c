//go:build openblas

// native.c: the float32 element-wise kernels of the native (openblas) build,
// written so that GCC vectorises them. Each computes exactly the operations
// of its Go twin in the same order (no FMA contraction, no reassociation), so
// the two builds agree bit for bit; native_test.go checks that.
//
// target_clones compiles each kernel for AVX-512, AVX2 and baseline x86-64
// and picks one at load time; the arithmetic is the same in all three.

#include <stdint.h>
#include <string.h>

#include "native.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KERNEL
#endif

// No FMA contraction (the Go kernels have none on amd64); no errno or trap
// semantics, which only stop sqrtf and the selects from vectorising; and no
// memset/memcpy calls for the short row loops of im2col, which cost more in
// calls than they save.
#pragma GCC optimize("fp-contract=off", "no-math-errno", "no-trapping-math", "no-tree-loop-distribute-patterns")

// exp32 mirrors exp32 in act.go step by step.
static inline float exp32(float x) {
	const float log2e = 1.44269504f, ln2hi = 0.693359375f, ln2lo = -2.12194440e-4f;
	const float round = 12582912.0f;
	x = x < -87.0f ? -87.0f : x;
	x = x > 87.0f ? 87.0f : x;
	float t = x * log2e + round;
	float k = t - round;
	float r = (x - k * ln2hi) - k * ln2lo;
	float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
	uint32_t b;
	memcpy(&b, &t, 4);
	b = (b - 0x4B400000u + 127u) << 23;
	float s;
	memcpy(&s, &b, 4);
	return p * s;
}

KERNEL void gentri_act_fwd(int kind, float alpha, const float *restrict x, float *restrict y, long n) {
	switch (kind) {
	case GENTRI_RELU:
		for (long i = 0; i < n; i++) {
			float v = x[i];
			y[i] = (v > 0.0f || v != v) ? v : 0.0f; // Go's max(v, 0): NaN stays NaN
		}
		break;
	case GENTRI_LEAKY_RELU:
		for (long i = 0; i < n; i++) {
			float v = x[i];
			y[i] = v > 0.0f ? v : alpha * v;
		}
		break;
	case GENTRI_SILU:
		for (long i = 0; i < n; i++) {
			float v = x[i];
			y[i] = v / (1.0f + exp32(-v));
		}
		break;
	case GENTRI_SIGMOID:
		for (long i = 0; i < n; i++)
			y[i] = 1.0f / (1.0f + exp32(-x[i]));
		break;
	}
}

KERNEL void gentri_act_bwd(int kind, float alpha, const float *restrict x, const float *restrict dy,
                           float *restrict dx, long n) {
	switch (kind) {
	case GENTRI_RELU:
		for (long i = 0; i < n; i++)
			dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
		break;
	case GENTRI_LEAKY_RELU:
		for (long i = 0; i < n; i++)
			dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
		break;
	case GENTRI_SILU:
		for (long i = 0; i < n; i++) {
			float v = x[i];
			float s = 1.0f / (1.0f + exp32(-v));
			dx[i] = dy[i] * s * (1.0f + v * (1.0f - s));
		}
		break;
	case GENTRI_SIGMOID:
		for (long i = 0; i < n; i++) {
			float s = 1.0f / (1.0f + exp32(-x[i]));
			dx[i] = dy[i] * s * (1.0f - s);
		}
		break;
	}
}

// gentri_adam32 mirrors adamKernel32 in adam.go.
KERNEL void gentri_adam32(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, long n,
                          float f1, float f2, float c1, float c2, float e, float st, float bc) {
	for (long j = 0; j < n; j++) {
		float gj = g[j];
		float mj = f1 * m[j] + c1 * gj;
		float vj = f2 * v[j] + c2 * gj * gj;
		m[j] = mj;
		v[j] = vj;
		w[j] -= st * mj / (__builtin_sqrtf(vj) / bc + e);
	}
}

// gentri_im2col mirrors im2col in conv.go for one image x (c, h, w) and
// column bounds lo[k], hi[k].
KERNEL void gentri_im2col(const float *restrict x, float *restrict col, const long *g, const long *lo, const long *hi) {
	long c = g[0], h = g[1], w = g[2], k = g[3], s = g[4], pad = g[5], oh = g[6], ow = g[7];
	long p = oh * ow, hw = h * w, r = 0;
	int same = s == 1 && oh == h && ow == w; // a "same" convolution: each row of col is the image shifted
	for (long ch = 0; ch < c; ch++) {
		const float *xc = x + ch * hw;
		for (long u = 0; u < k; u++) {
			for (long v = 0; v < k; v++, r++) {
				float *dst = col + r * p;
				long l = lo[v], hh = hi[v], off = v - pad;
				if (same) {
					// One contiguous copy of the plane shifted by (u-pad, v-pad), zeros where the
					// shift leaves it, then the columns that wrapped round a row edge zeroed.
					long shift = (u - pad) * w + off;
					long q0 = shift < 0 ? -shift : 0, q1 = hw - shift < p ? hw - shift : p;
					if (q1 < q0)
						q1 = q0;
					for (long q = 0; q < q0; q++)
						dst[q] = 0.0f;
					for (long q = q0; q < q1; q++)
						dst[q] = xc[q + shift];
					for (long q = q1; q < p; q++)
						dst[q] = 0.0f;
					for (long i = 0; i < oh; i++) {
						for (long j = 0; j < l; j++)
							dst[i * ow + j] = 0.0f;
						for (long j = hh; j < ow; j++)
							dst[i * ow + j] = 0.0f;
					}
					continue;
				}
				for (long i = 0; i < oh; i++) {
					float *row = dst + i * ow;
					long ih = i * s - pad + u;
					if (ih < 0 || ih >= h) {
						for (long j = 0; j < ow; j++)
							row[j] = 0.0f;
						continue;
					}
					const float *src = xc + ih * w;
					for (long j = 0; j < l; j++)
						row[j] = 0.0f;
					for (long j = hh; j < ow; j++)
						row[j] = 0.0f;
					if (s == 1) {
						for (long j = l; j < hh; j++)
							row[j] = src[j + off];
					} else {
						for (long j = l; j < hh; j++)
							row[j] = src[j * s + off];
					}
				}
			}
		}
	}
}

// gentri_col2im mirrors col2im in conv.go: it overwrites dx (c, h, w).
KERNEL void gentri_col2im(const float *restrict dcol, float *restrict dx, const long *g, const long *lo, const long *hi) {
	long c = g[0], h = g[1], w = g[2], k = g[3], s = g[4], pad = g[5], oh = g[6], ow = g[7];
	long p = oh * ow, hw = h * w, r = 0;
	for (long i = 0; i < c * hw; i++)
		dx[i] = 0.0f;
	for (long ch = 0; ch < c; ch++) {
		float *xc = dx + ch * hw;
		for (long u = 0; u < k; u++) {
			for (long v = 0; v < k; v++, r++) {
				const float *src = dcol + r * p;
				long l = lo[v], hh = hi[v], off = v - pad;
				for (long i = 0; i < oh; i++) {
					long ih = i * s - pad + u;
					if (ih < 0 || ih >= h)
						continue;
					const float *row = src + i * ow;
					float *dst = xc + ih * w;
					if (s == 1) {
						for (long j = l; j < hh; j++)
							dst[j + off] += row[j];
					} else {
						for (long j = l; j < hh; j++)
							dst[j * s + off] += row[j];
					}
				}
			}
		}
	}
}

// The float64 reductions mirror laneSum, laneSumSq and laneDot in norm.go:
// eight interleaved partial sums, the tail into the first lanes, added
// pairwise in a fixed order.
static inline double lane_fold(const double *a) {
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static inline double lane_sum(const float *x, long n) {
	double a[8] = {0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			a[l] += (double)x[i + l];
	for (int l = 0; i < n; i++, l++)
		a[l] += (double)x[i];
	return lane_fold(a);
}

static inline double lane_sum_sq(const float *x, long n, double mu) {
	double a[8] = {0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++) {
			double d = (double)x[i + l] - mu;
			a[l] += d * d;
		}
	for (int l = 0; i < n; i++, l++) {
		double d = (double)x[i] - mu;
		a[l] += d * d;
	}
	return lane_fold(a);
}

static inline double lane_dot(const float *dy, const float *x, long n, double mu) {
	double a[8] = {0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			a[l] += (double)dy[i + l] * ((double)x[i + l] - mu);
	for (int l = 0; i < n; i++, l++)
		a[l] += (double)dy[i] * ((double)x[i] - mu);
	return lane_fold(a);
}

// gentri_moments mirrors momentsRange in norm.go.
KERNEL void gentri_moments(const float *restrict x, long outer, long k, long s, long lo, long hi,
                           double *restrict mean, double *restrict variance) {
	double m = (double)(outer * s);
	for (long j = lo; j < hi; j++) {
		double sum = 0;
		for (long o = 0; o < outer; o++)
			sum += lane_sum(x + (o * k + j) * s, s);
		double mu = sum / m, sq = 0;
		for (long o = 0; o < outer; o++)
			sq += lane_sum_sq(x + (o * k + j) * s, s, mu);
		mean[j] = mu;
		variance[j] = sq / m;
	}
}

// gentri_norm_affine mirrors normAffineRange in norm.go.
KERNEL void gentri_norm_affine(const float *restrict x, const float *restrict gamma, const float *restrict beta,
                               float *restrict y, const double *mean, const double *inv_std, long c, long s,
                               long per_sample, long per_stat, long lo, long hi) {
	for (long r = lo; r < hi; r++) {
		long n = r / c, ch = r % c, st = n * per_sample + ch / per_stat;
		double scale = (double)gamma[ch] * inv_std[st];
		float a = (float)scale, sh = (float)((double)beta[ch] - mean[st] * scale);
		const float *xr = x + r * s;
		float *yr = y + r * s;
		for (long i = 0; i < s; i++)
			yr[i] = a * xr[i] + sh;
	}
}

// gentri_gn_param_grads mirrors gnParamGradsRange in norm.go.
KERNEL void gentri_gn_param_grads(int wrt, const float *restrict x, const float *restrict dy, float *restrict r,
                                  const double *mean, const double *inv_std, long n, long c, long s, long groups,
                                  long lo, long hi) {
	long cpg = c / groups;
	for (long ch = lo; ch < hi; ch++) {
		double sum = 0;
		for (long i = 0; i < n; i++) {
			long off = (i * c + ch) * s;
			if (wrt == 2) {
				sum += lane_sum(dy + off, s);
				continue;
			}
			long st = i * groups + ch / cpg;
			sum += lane_dot(dy + off, x + off, s, mean[st]) * inv_std[st];
		}
		r[ch] = (float)sum;
	}
}

// gentri_gn_dx mirrors gnDxRange in norm.go.
KERNEL void gentri_gn_dx(const float *restrict x, const float *restrict gamma, const float *restrict dy,
                         float *restrict r, const double *mean, const double *inv_std, long c, long s, long groups,
                         long lo, long hi) {
	long cpg = c / groups;
	double m = (double)(cpg * s);
	for (long st = lo; st < hi; st++) {
		long base = st * cpg * s;
		double mu = mean[st], is = inv_std[st], sg = 0, sgx = 0;
		for (long k = 0; k < cpg; k++) {
			double gk = (double)gamma[(st % groups) * cpg + k];
			long off = base + k * s;
			sg += gk * lane_sum(dy + off, s);
			sgx += gk * lane_dot(dy + off, x + off, s, mu);
		}
		sg = sg / m;
		sgx = sgx * is / m;
		for (long k = 0; k < cpg; k++) {
			double gk = (double)gamma[(st % groups) * cpg + k];
			long off = base + k * s;
			const float *xs = x + off, *ds = dy + off;
			float *rs = r + off;
			for (long j = 0; j < s; j++) {
				double xhat = ((double)xs[j] - mu) * is;
				rs[j] = (float)(is * (gk * (double)ds[j] - sg - xhat * sgx));
			}
		}
	}
}
