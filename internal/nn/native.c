//go:build cgo

// native.c: the float32 kernels of the native (openblas) build.
//
// The element-wise kernels (activations, the Bernoulli loss, im2col/col2im,
// the normalisations' statistics) are plain C that GCC vectorises, and Adam
// is AVX-512/AVX2 intrinsics. Each computes exactly the operations of its Go
// twin in the same order (no FMA contraction, no reassociation), so the two
// builds agree bit for bit; native_test.go checks that. target_clones
// compiles each for AVX-512, AVX2 and baseline x86-64 and picks one at load
// time; the arithmetic is the same in all three.
//
// The direct convolutions (from "Direct convolutions" on) are AVX2+FMA and
// AVX-512 intrinsics with a portable fmaf path that sums in the same order. They
// have no Go twin: the pure-Go build convolves by im2col and a matrix
// product, whose sums run in another order.

#include <stdint.h>
#include <string.h>

#include "native.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KERNEL
#endif

// No FMA contraction (the Go kernels have none on amd64); no trap semantics,
// which stop the selects from vectorising; and no memset/memcpy calls for
// the short row loops of im2col, which cost more in calls than they save.
// (no-math-errno here does not reach sqrtf: see Adam.)
#pragma GCC optimize("fp-contract=off", "no-math-errno", "no-trapping-math", "no-tree-loop-distribute-patterns")

// The activations and the Bernoulli loss (and exp32 with them, so that it
// still inlines) build without tree-pre: with it GCC splits SiLU's
// v/(1+exp32(−v)) on exp32's clamp and computes both halves, two divisions a
// vector (0.90 against 0.46 ns an element). The arithmetic of each element
// is the same either way.
#pragma GCC push_options
#pragma GCC optimize("no-tree-pre")

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

// softplus32 mirrors softplus32 in loss.go step by step.
static inline double softplus32(float v) {
	float a = v > 0.0f ? -v : v;
	double e = (double)exp32(a);
	double t = e / (2.0 + e);
	double t2 = t * t;
	double r = 2.0 * t *
	           (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (1.0 / 11 + t2 * (1.0 / 13 + t2 * (1.0 / 15 + t2 / 17.0))))))));
	if (v > 0.0f)
		r += (double)v;
	return r;
}

// gentri_bernoulli_sum mirrors bernoulliSum32 in loss.go: Σ softplus32(l) − x·l
// over n elements in 8 float64 lanes (element i in lane i mod 8), folded in
// a fixed order.
KERNEL double gentri_bernoulli_sum(const float *restrict l, const float *restrict x, long n) {
	double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			a[k] += softplus32(l[i + k]) - (double)x[i + k] * (double)l[i + k];
	for (int k = 0; i + k < n; k++)
		a[k] += softplus32(l[i + k]) - (double)x[i + k] * (double)l[i + k];
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// gentri_bernoulli_grad mirrors bernoulliGrad32 in loss.go: r = g·(σ(l) − x).
KERNEL void gentri_bernoulli_grad(const float *restrict l, const float *restrict x, float *restrict r, float g,
                                  long n) {
	for (long i = 0; i < n; i++)
		r[i] = g * (1.0f / (1.0f + exp32(-l[i])) - x[i]);
}

#pragma GCC pop_options

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

// ---- Direct convolutions ----
//
// im2col copies every input value nine times and the GEMM then reads the
// copy again; for the U-Net's 16-64 channels that traffic, not arithmetic,
// bounds the convolution. The direct kernels keep a tile of outputs in vector
// registers and stream the zero-padded input through it: 8 output channels
// to an AVX2 vector (16 to an AVX-512 one) where the channel count is a
// multiple of 8 (native_tiles.h: any kernel size and stride), else 8 columns of
// one output row (conv3_rows_*: 3×3 only). Each output is
// b + Σ_c Σ_u Σ_v w·x accumulated with fused multiply-adds in the order
// (c, u, v) on every path: AVX-512, AVX2 and the portable fmaf one agree bit
// for bit.

// The vector paths are x86-64 intrinsics; elsewhere (or built with
// -DGENTRI_PORTABLE, which the tests can use) only the portable paths exist
// and gentri_have_avx2_fma reports 0, so the Go side never asks for them.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(GENTRI_PORTABLE)
#define GENTRI_X86 1
#include <immintrin.h>
#else
#define GENTRI_X86 0
#endif
#include <math.h>

// ---- Adam ----
//
// gentri_adam32 mirrors adamKernel32 in adam.go. Its vector paths are
// intrinsics, not a loop for GCC: with errno semantics GCC keeps a branch
// around each sqrtf and no loop with one vectorises, and neither the
// optimize pragma nor attribute lifts it (3.2 ns an element, against 0.47
// with -fno-math-errno, which cgo does not pass). Each lane does the scalar
// loop's operations in its order, no fused multiply-adds.
#if GENTRI_X86
#define ADAM_LANES(V, LOAD, STORE, SET1, ADD, SUB, MUL, DIV, SQRT, L)                                            \
	V F1 = SET1(f1), F2 = SET1(f2), C1 = SET1(c1), C2 = SET1(c2), E = SET1(e), ST = SET1(st), BC = SET1(bc); \
	long j = 0;                                                                                              \
	for (; j + L <= n; j += L) {                                                                             \
		V gj = LOAD(g + j);                                                                                  \
		V mj = ADD(MUL(F1, LOAD(m + j)), MUL(C1, gj));                                                       \
		V vj = ADD(MUL(F2, LOAD(v + j)), MUL(MUL(C2, gj), gj));                                              \
		STORE(m + j, mj);                                                                                    \
		STORE(v + j, vj);                                                                                    \
		STORE(w + j, SUB(LOAD(w + j), DIV(MUL(ST, mj), ADD(DIV(SQRT(vj), BC), E))));                         \
	}                                                                                                        \
	return j;

__attribute__((target("avx512f"))) static long adam16(float *restrict w, const float *restrict g, float *restrict m,
                                                      float *restrict v, long n, float f1, float f2, float c1,
                                                      float c2, float e, float st, float bc) {
	ADAM_LANES(__m512, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_sub_ps,
	           _mm512_mul_ps, _mm512_div_ps, _mm512_sqrt_ps, 16)
}

__attribute__((target("avx2"))) static long adam8(float *restrict w, const float *restrict g, float *restrict m,
                                                  float *restrict v, long n, float f1, float f2, float c1, float c2,
                                                  float e, float st, float bc) {
	ADAM_LANES(__m256, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_sub_ps,
	           _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps, 8)
}
#undef ADAM_LANES
#endif

// path picks the vector width: 16, 8, or 0 for the scalar loop alone; −1,
// the widest the CPU has. (The tests run each path the CPU has.)
void gentri_adam32(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, long n,
                   float f1, float f2, float c1, float c2, float e, float st, float bc, int path) {
	long j = 0;
#if GENTRI_X86
	if (path < 0)
		path = gentri_have_avx512() ? 16 : __builtin_cpu_supports("avx2") ? 8 : 0;
	if (path == 16 && gentri_have_avx512())
		j = adam16(w, g, m, v, n, f1, f2, c1, c2, e, st, bc);
	else if (path == 8 && __builtin_cpu_supports("avx2"))
		j = adam8(w, g, m, v, n, f1, f2, c1, c2, e, st, bc);
#else
	(void)path;
#endif
	for (; j < n; j++) {
		float gj = g[j];
		float mj = f1 * m[j] + c1 * gj;
		float vj = f2 * v[j] + c2 * gj * gj;
		m[j] = mj;
		v[j] = vj;
		w[j] -= st * mj / (__builtin_sqrtf(vj) / bc + e);
	}
}

// conv3_pw is the padded row stride: NV·8 columns plus the two borders.
static long conv3_nv(long w) { return (w + 7) / 8; }
static long conv3_pw(long w) { return conv3_nv(w) * 8 + 2; }

// pad_planes writes image x (c, h, w) into xp (c, h+2p, pw) with zeros
// around it, pw ≥ w+2p (the row kernels read whole vectors past the image).
static void pad_planes(const float *restrict x, float *restrict xp, long c, long h, long w, long p, long pw) {
	long ph = h + 2 * p;
	for (long ch = 0; ch < c; ch++) {
		float *plane = xp + ch * ph * pw;
		for (long q = 0; q < p * pw; q++)
			plane[q] = 0.0f, plane[(h + p) * pw + q] = 0.0f;
		for (long r = 0; r < h; r++) {
			float *row = plane + (r + p) * pw;
			const float *src = x + (ch * h + r) * w;
			for (long q = 0; q < p; q++)
				row[q] = 0.0f;
			for (long q = 0; q < w; q++)
				row[q + p] = src[q];
			for (long q = w + p; q < pw; q++)
				row[q] = 0.0f;
		}
	}
}

#if GENTRI_X86
__attribute__((target("avx2,fma"), always_inline)) static inline void
conv3_tile(const float *restrict xp, const float *restrict w, const float *restrict b, float *restrict y,
           long o0, long i, long c, long h, long wd, long pw, const int OB, const int NV) {
	__m256 acc[12];
#pragma GCC unroll 12
	for (int ob = 0; ob < OB; ob++)
#pragma GCC unroll 4
		for (int n = 0; n < NV; n++)
			acc[ob * NV + n] = _mm256_set1_ps(b[o0 + ob]);
	long wstride = c * 9;
	const float *wo = w + o0 * wstride;
	for (long ch = 0; ch < c; ch++) {
		const float *xc = xp + (ch * (h + 2) + i) * pw;
		const float *wc = wo + ch * 9;
#pragma GCC unroll 3
		for (int u = 0; u < 3; u++) {
#pragma GCC unroll 3
			for (int v = 0; v < 3; v++) {
				__m256 xv[4];
#pragma GCC unroll 4
				for (int n = 0; n < NV; n++)
					xv[n] = _mm256_loadu_ps(xc + u * pw + v + 8 * n);
#pragma GCC unroll 12
				for (int ob = 0; ob < OB; ob++) {
					__m256 wv = _mm256_broadcast_ss(wc + ob * wstride + u * 3 + v);
#pragma GCC unroll 4
					for (int n = 0; n < NV; n++)
						acc[ob * NV + n] = _mm256_fmadd_ps(wv, xv[n], acc[ob * NV + n]);
				}
			}
		}
	}
#pragma GCC unroll 12
	for (int ob = 0; ob < OB; ob++) {
		float *yr = y + ((o0 + ob) * h + i) * wd;
#pragma GCC unroll 4
		for (int n = 0; n < NV; n++) {
			if (8 * n + 8 <= wd) {
				_mm256_storeu_ps(yr + 8 * n, acc[ob * NV + n]);
			} else {
				float tmp[8];
				_mm256_storeu_ps(tmp, acc[ob * NV + n]);
				for (long q = 8 * n; q < wd; q++)
					yr[q] = tmp[q - 8 * n];
			}
		}
	}
}

// conv3_rows_NV runs the tiles of one image for a fixed vector count NV,
// with OB = 12/NV output channels per tile and a smaller last tile. T(k)
// clamps k to OBMAX so that the cases that never run still compile.
#define T(k) conv3_tile(xp, w, b, y, o0, i, c, h, wd, pw, (k) <= OBMAX ? (k) : 1, NVC)
#define CONV3_ROWS(NV)                                                                                   \
	__attribute__((target("avx2,fma"))) static void conv3_rows_##NV(                                    \
	    const float *xp, const float *w, const float *b, float *y, long c, long h, long wd, long o, long pw) { \
		const int NVC = NV, OBMAX = 12 / NV;                                                             \
		for (long i = 0; i < h; i++) {                                                                  \
			long o0 = 0;                                                                                \
			for (; o0 + OBMAX <= o; o0 += OBMAX)                                                        \
				T(OBMAX);                                                                               \
			switch (o - o0) {                                                                           \
			case 0: break;                                                                              \
			case 1: T(1); break;                                                                        \
			case 2: T(2); break;                                                                        \
			case 3: T(3); break;                                                                        \
			case 4: T(4); break;                                                                        \
			case 5: T(5); break;                                                                        \
			case 6: T(6); break;                                                                        \
			case 7: T(7); break;                                                                        \
			case 8: T(8); break;                                                                        \
			case 9: T(9); break;                                                                        \
			case 10: T(10); break;                                                                      \
			default: T(11); break;                                                                      \
			}                                                                                           \
		}                                                                                               \
	}
CONV3_ROWS(1)
CONV3_ROWS(2)
CONV3_ROWS(3)
CONV3_ROWS(4)
#undef T
#else
#define conv3_rows_1(...) ((void)0)
#define conv3_rows_2(...) ((void)0)
#define conv3_rows_3(...) ((void)0)
#define conv3_rows_4(...) ((void)0)
#endif

// conv3_generic is the fallback for CPUs without AVX2 and FMA (and for
// rows wider than 32): the same sums, in the same order, with fmaf.
static void conv3_generic(const float *xp, const float *w, const float *b, float *y, long c, long h, long wd,
                          long o, long pw) {
	for (long oc = 0; oc < o; oc++)
		for (long i = 0; i < h; i++)
			for (long j = 0; j < wd; j++) {
				float acc = b[oc];
				for (long ch = 0; ch < c; ch++)
					for (int u = 0; u < 3; u++)
						for (int v = 0; v < 3; v++)
							acc = fmaf(w[(oc * c + ch) * 9 + u * 3 + v], xp[(ch * (h + 2) + i + u) * pw + j + v], acc);
				y[(oc * h + i) * wd + j] = acc;
			}
}

// gentri_have_avx2_fma says whether this CPU runs the direct convolutions'
// vector paths; without them the portable paths' fmaf is far slower than
// im2col, and the Go side does not call them.
// gentri_have_avx512 says whether the dW kernel's 16-channel path can run.
int gentri_have_avx512(void) {
#if GENTRI_X86
	return __builtin_cpu_supports("avx512f");
#else
	return 0;
#endif
}

int gentri_have_avx2_fma(void) {
#if GENTRI_X86
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

// gentri_conv3x3_scratch is the scratch gentri_conv3x3 needs, in floats.
long gentri_conv3x3_scratch(long c, long h, long w) { return c * (h + 2) * conv3_pw(w); }

// gentri_conv3x3 computes y_n = conv(x_n, w) + b for images [n0, n1) of x
// (n, c, h, w), w (o, c, 3, 3), into y (n, o, h, w), with the row kernels
// (for output channels not in whole blocks of 8; gentri_conv_cv takes those).
// generic forces the portable path (for the tests).
void gentri_conv3x3(const float *x, const float *w, const float *b, float *y, float *scratch, long n0, long n1,
                    long c, long h, long wd, long o, int generic) {
	long pw = conv3_pw(wd), nv = conv3_nv(wd), hw = h * wd;
	int fast = !generic && nv <= 4 && gentri_have_avx2_fma();
	for (long n = n0; n < n1; n++) {
		float *yn = y + n * o * hw;
		pad_planes(x + n * c * hw, scratch, c, h, wd, 1, pw);
		if (!fast) {
			conv3_generic(scratch, w, b, yn, c, h, wd, o, pw);
			continue;
		}
		switch (nv) {
		case 1: conv3_rows_1(scratch, w, b, yn, c, h, wd, o, pw); break;
		case 2: conv3_rows_2(scratch, w, b, yn, c, h, wd, o, pw); break;
		case 3: conv3_rows_3(scratch, w, b, yn, c, h, wd, o, pw); break;
		default: conv3_rows_4(scratch, w, b, yn, c, h, wd, o, pw); break;
		}
	}
}

// ---- Channel-vectorised direct convolution, any kernel size and stride ----
//
// Along a row, a vector wastes lanes on widths that are not a multiple of 8
// (28, 14, 7), and the U-Net's 7×7 maps gave it too little to do; here the
// lanes run along 8 output channels instead. A tile is OBV blocks of 8
// channels × P output pixels taken in raster order (a tile may span rows),
// the weights re-laid as wt[block][c][k][k][8]. Output pixel (i, j) reads the
// k×k window at start + i·s·pw + j·s of each padded input plane and is
// written to y[oc·ych + yoff + i·yrow + j·ycol]. Besides plain convolutions
// this runs the dx of the 4×4 stride-2 convolution as four 2×2 stride-1
// ones, one per output parity class (see convK4S2Grad in native.go).

typedef struct {
	long c, o, k, s, pw, plane, start, oh, ow, ych, yrow, ycol, yoff;
} cvgeom;

#if GENTRI_X86
// The tile kernels, once for AVX2 and once for AVX-512 (native_tiles.h).
#define V __m256
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define TGT "avx2,fma"
#define LANES 8
#define PMAX 6
#include "native_tiles.h"
#define V __m512
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define TGT "avx512f"
#define LANES 16
#define PMAX 12
#include "native_tiles.h"
#else
#define cv_image8_2(...) ((void)0)
#define cv_image8_3(...) ((void)0)
#define cv_image8_4(...) ((void)0)
#define cv_image16_2(...) ((void)0)
#define cv_image16_3(...) ((void)0)
#define cv_image16_4(...) ((void)0)
#define dw_image8(...) ((void)0)
#define dw_image16(...) ((void)0)
#endif

// cv_generic is the portable path: the same sums in the same order, fmaf.
static void cv_generic(const float *xp, const float *wt, const float *bp, float *y, const cvgeom *g) {
	long taps = g->k * g->k;
	for (long oc = 0; oc < g->o; oc++) {
		long blk = oc / 8, l = oc % 8;
		for (long i = 0; i < g->oh; i++)
			for (long j = 0; j < g->ow; j++) {
				float acc = bp[oc];
				long in = g->start + i * g->s * g->pw + j * g->s;
				for (long ch = 0; ch < g->c; ch++)
					for (long u = 0; u < g->k; u++)
						for (long v = 0; v < g->k; v++)
							acc = fmaf(wt[((blk * g->c + ch) * taps + u * g->k + v) * 8 + l],
							           xp[ch * g->plane + in + u * g->pw + v], acc);
				y[oc * g->ych + g->yoff + i * g->yrow + j * g->ycol] = acc;
			}
	}
}

// gentri_cv_lanes is the number of output channels to a vector that
// gentri_conv_cv takes for o output channels and a k×k window: 16 where the
// CPU has AVX-512 and o is a multiple of 16, else 8 (also on the portable
// path, which generic forces).
long gentri_cv_lanes(long o, long k, int generic) {
	int fast = !generic && k >= 2 && k <= 4 && gentri_have_avx2_fma();
	return fast && o % 16 == 0 && gentri_have_avx512() ? 16 : 8;
}

// gentri_cv_lay re-lays weights for gentri_conv_cv as wt[o/L][c][k][k][L]
// (L = lanes, o rounded up to L with zeros), tap (oc, ch, u, v) read from
// w[base + oc·so + ch·sc + u·su + v·sv]: so one call serves W itself, its
// transpose and its flips.
void gentri_cv_lay(const float *w, long base, long so, long sc, long su, long sv, long o, long c, long k, long lanes,
                   float *wt) {
	long ol = (o + lanes - 1) / lanes * lanes;
	for (long oc = 0; oc < ol; oc++)
		for (long ch = 0; ch < c; ch++)
			for (long u = 0; u < k; u++)
				for (long v = 0; v < k; v++)
					wt[(((oc / lanes * c + ch) * k + u) * k + v) * lanes + oc % lanes] =
					    oc < o ? w[base + oc * so + ch * sc + u * su + v * sv] : 0.0f;
}

// gentri_conv_cv runs the channel-vectorised convolution on images [n0, n1)
// of x (n, c, h, w), padded by pad, with weights wt as gentri_cv_lay lays
// them for lanes = gentri_cv_lanes(o, k, generic) and bias bp (o rounded up
// to lanes), writing image n's output at y + n·yimg (see cvgeom for the
// window and output geometry; pw is w + 2·pad). scratch holds
// c·(h+2·pad)·(w+2·pad) floats. generic forces the portable path (for the
// tests).
void gentri_conv_cv(const float *x, const float *wt, const float *bp, float *y, float *scratch, long n0, long n1,
                    long c, long h, long w, long pad, long o, long k, long s, long start, long oh, long ow,
                    long ych, long yrow, long ycol, long yoff, long yimg, long lanes, int generic) {
	cvgeom g = {c, o, k, s, w + 2 * pad, (h + 2 * pad) * (w + 2 * pad), start, oh, ow, ych, yrow, ycol, yoff};
	int fast = !generic && k >= 2 && k <= 4 && gentri_have_avx2_fma();
	int wide = lanes == 16;
	for (long n = n0; n < n1; n++) {
		pad_planes(x + n * c * h * w, scratch, c, h, w, pad, w + 2 * pad);
		float *yn = y + n * yimg;
		if (!fast)
			cv_generic(scratch, wt, bp, yn, &g);
		else if (wide && k == 2)
			cv_image16_2(scratch, wt, bp, yn, &g);
		else if (wide && k == 3)
			cv_image16_3(scratch, wt, bp, yn, &g);
		else if (wide)
			cv_image16_4(scratch, wt, bp, yn, &g);
		else if (k == 2)
			cv_image8_2(scratch, wt, bp, yn, &g);
		else if (k == 3)
			cv_image8_3(scratch, wt, bp, yn, &g);
		else
			cv_image8_4(scratch, wt, bp, yn, &g);
	}
}

// ---- dW of the direct convolutions ----
//
// dW[o,c,u,v] += Σ_q dy[o,q]·x[c, i·s−p+u, j·s−p+v] over the output pixels
// q = (i, j) of each image in turn, accumulated with fused multiply-adds in
// that order. The vector paths (native_tiles.h) run 8 or 16 output channels
// to a vector (dy transposed to pixel-major first) and keep the taps of one
// input channel in registers; the portable path does the same sums with fmaf.

static void dw_generic(const float *xp, const float *dy, float *dwt, long c, long o, long k, long oh, long ow, long s,
                       long pw, long plane) {
	for (long oc = 0; oc < o; oc++)
		for (long ch = 0; ch < c; ch++)
			for (long u = 0; u < k; u++)
				for (long v = 0; v < k; v++) {
					float acc = dwt[((ch * k + u) * k + v) * o + oc];
					const float *xs = xp + ch * plane + u * pw + v;
					for (long i = 0; i < oh; i++)
						for (long j = 0; j < ow; j++)
							acc = fmaf(dy[(oc * oh + i) * ow + j], xs[i * s * pw + j * s], acc);
					dwt[((ch * k + u) * k + v) * o + oc] = acc;
				}
}

// gentri_conv_dw_scratch is the scratch gentri_conv_dw needs, in floats.
long gentri_conv_dw_scratch(long c, long h, long w, long pad, long o, long oh, long ow) {
	return c * (h + 2 * pad) * (w + 2 * pad) + oh * ow * o;
}

// gentri_conv_dw adds to dwt the weight gradient of images [n0, n1) of x
// (n, c, h, w), padded by pad, with upstream gradient dy (n, o, oh, ow), for
// k in 2..4 with stride s. dwt is laid out (c, k, k, o), so that a tile's
// output channels are one vector load; gentri_conv_dw_sum adds the partial
// sums and transposes them to (o, c, k, k). The vector path needs o in whole
// blocks of 8; generic forces the portable path (for the tests).
void gentri_conv_dw(const float *x, const float *dy, float *dwt, float *scratch, long n0, long n1, long c, long h,
                    long w, long pad, long o, long k, long s, long oh, long ow, int generic) {
	long pw = w + 2 * pad, plane = (h + 2 * pad) * pw, ohw = oh * ow;
	int fast = !generic && o % 8 == 0 && k >= 2 && k <= 4 && gentri_have_avx2_fma();
	int wide = fast && o % 16 == 0 && gentri_have_avx512();
	float *dyt = scratch + c * plane;
	for (long n = n0; n < n1; n++) {
		const float *dyn = dy + n * o * ohw;
		pad_planes(x + n * c * h * w, scratch, c, h, w, pad, w + 2 * pad);
		if (!fast) {
			dw_generic(scratch, dyn, dwt, c, o, k, oh, ow, s, pw, plane);
			continue;
		}
		for (long oc = 0; oc < o; oc++)
			for (long q = 0; q < ohw; q++)
				dyt[q * o + oc] = dyn[oc * ohw + q];
		if (wide)
			dw_image16(scratch, dyt, dwt, c, o, k, oh, ow, s, pw, plane);
		else
			dw_image8(scratch, dyt, dwt, c, o, k, oh, ow, s, pw, plane);
	}
}

// gentri_conv_dw_sum writes dw[oc][t] = p_0[t][oc] + p_1[t][oc] + … for t in
// [t0, t1): the parts partial sums at parts·size floats, each (taps, o),
// added in order.
void gentri_conv_dw_sum(const float *partial, long parts, long size, long o, long taps, float *dw, long t0,
                        long t1) {
	for (long t = t0; t < t1; t++)
		for (long oc = 0; oc < o; oc++) {
			float acc = partial[t * o + oc];
			for (long p = 1; p < parts; p++)
				acc += partial[p * size + t * o + oc];
			dw[oc * taps + t] = acc;
		}
}
