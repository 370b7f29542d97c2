// native_tiles.h: the register-tiled kernels of the direct convolutions,
// written once and included by native.c for each vector width: AVX2 (8 lanes,
// 16 registers) and AVX-512 (16 lanes, 32 registers). Not a header to include
// elsewhere. The includer defines:
//
//	LANES              8 or 16: output channels to a vector
//	V, VLOAD, VSTORE   the vector type, its unaligned load and store
//	VSET1(x), VFMA     a broadcast of the float x, and fused a·b + c
//	TGT                the target attribute string
//	PMAX               pixels per forward tile (acc = 2·PMAX registers)
//
// and gets cv_image<LANES>_<K> (K = 2, 3, 4) and dw_image<LANES>. Every output
// is summed in the same order whatever LANES is, and as the portable paths in
// native.c sum it, so all agree bit for bit.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define CV_TILE CAT(cv_tile, LANES)
#define CV_IMAGE(K) CAT(CAT(cv_image, LANES), CAT(_, K))
#define DW_ROWS CAT(dw_rows, LANES)
#define DW_IMAGE CAT(dw_image, LANES)

// CV_TILE computes OBV blocks of LANES output channels × P output pixels
// (raster order, possibly spanning rows) of one image: bias, then for each
// input channel and tap (u, v) one fused multiply-add per accumulator. Weights
// are [o/LANES][c][K][K][LANES]; o is a multiple of LANES.
__attribute__((target(TGT), always_inline)) static inline void
CV_TILE(const float *restrict xp, const float *restrict wt, const float *restrict bp, float *restrict y,
        const cvgeom *g, long q0, long blk0, const int K, const int OBV, const int P) {
	V acc[2 * PMAX];
#pragma GCC unroll 2
	for (int kb = 0; kb < OBV; kb++) {
		V bv = VLOAD(bp + (blk0 + kb) * LANES);
#pragma GCC unroll 12
		for (int p = 0; p < P; p++)
			acc[kb * P + p] = bv;
	}
	long in[PMAX], out[PMAX];
#pragma GCC unroll 12
	for (int p = 0; p < P; p++) {
		long i = (q0 + p) / g->ow, j = (q0 + p) % g->ow;
		in[p] = g->start + i * g->s * g->pw + j * g->s;
		out[p] = g->yoff + i * g->yrow + j * g->ycol;
	}
	long c = g->c, pw = g->pw, taps = K * K, bstride = c * taps * LANES;
	for (long ch = 0; ch < c; ch++) {
		const float *xc = xp + ch * g->plane;
		const float *wc = wt + (blk0 * c + ch) * taps * LANES;
		// One pointer per pixel into the current window row, so that each
		// broadcast is that pointer plus a constant (v): with every (u, v, p)
		// offset precomputed, GCC ran out of registers and reloaded them.
		const float *row[PMAX];
#pragma GCC unroll 12
		for (int p = 0; p < P; p++)
			row[p] = xc + in[p];
#pragma GCC unroll 1
		for (int u = 0; u < K; u++, wc += K * LANES) {
#pragma GCC unroll 4
			for (int v = 0; v < K; v++) {
				V wv[2];
#pragma GCC unroll 2
				for (int kb = 0; kb < OBV; kb++)
					wv[kb] = VLOAD(wc + kb * bstride + v * LANES);
#pragma GCC unroll 12
				for (int p = 0; p < P; p++) {
					V xb = VSET1(row[p][v]);
#pragma GCC unroll 2
					for (int kb = 0; kb < OBV; kb++)
						acc[kb * P + p] = VFMA(wv[kb], xb, acc[kb * P + p]);
				}
			}
#pragma GCC unroll 12
			for (int p = 0; p < P; p++)
				row[p] += pw;
		}
	}
#pragma GCC unroll 2
	for (int kb = 0; kb < OBV; kb++)
#pragma GCC unroll 12
		for (int p = 0; p < P; p++) {
			float tmp[LANES];
			VSTORE(tmp, acc[kb * P + p]);
			for (int l = 0; l < LANES; l++)
				y[((blk0 + kb) * LANES + l) * g->ych + out[p]] = tmp[l];
		}
}

// CV_IMAGE(K) runs the tiles over one padded image: pairs of channel blocks
// (one for an odd last block) × PMAX pixels, then a shorter last pixel tile.
// T(k) clamps the tile width to PMAX so that cases that never run compile.
#define T(OBV, k) CV_TILE(xp, wt, bp, y, g, q, blk, KC, OBV, (k) < PMAX ? (k) : 1)
#define REM(k)                                                                                           \
	case k:                                                                                              \
		if (two)                                                                                         \
			T(2, k);                                                                                     \
		else                                                                                             \
			T(1, k);                                                                                     \
		break;
#define IMAGE(K)                                                                                         \
	__attribute__((target(TGT))) static void CV_IMAGE(K)(const float *xp, const float *wt, const float *bp, \
	                                                     float *y, const cvgeom *g) {                    \
		const int KC = K;                                                                                \
		long blocks = g->o / LANES, hw = g->oh * g->ow;                                                  \
		for (long blk = 0; blk < blocks; blk += 2) {                                                    \
			int two = blk + 1 < blocks;                                                                 \
			long q = 0;                                                                                 \
			for (; q + PMAX <= hw; q += PMAX) {                                                         \
				if (two)                                                                                \
					CV_TILE(xp, wt, bp, y, g, q, blk, KC, 2, PMAX);                                     \
				else                                                                                    \
					CV_TILE(xp, wt, bp, y, g, q, blk, KC, 1, PMAX);                                     \
			}                                                                                           \
			switch (hw - q) {                                                                           \
				REM(1) REM(2) REM(3) REM(4) REM(5) REM(6) REM(7) REM(8) REM(9) REM(10) REM(11)          \
			default: break;                                                                             \
			}                                                                                           \
		}                                                                                               \
	}
IMAGE(2)
IMAGE(3)
IMAGE(4)
#undef IMAGE
#undef REM
#undef T

// DW_ROWS adds, for NB blocks of LANES output channels (from ob) and input
// channel ch, the taps of kernel rows U0..U0+NU−1 over every output pixel in
// order: one vector of dy per pixel and block, one broadcast of x per tap.
// dwt is (c, K, K, o) and dyt (pixels, o).
__attribute__((target(TGT), always_inline)) static inline void
DW_ROWS(const float *restrict xc, const float *restrict dyt, float *restrict dwt, long ob, long ch, long o,
        long oh, long ow, long s, long pw, const int K, const int U0, const int NU, const int NB) {
	V acc[24];
	const int T = NU * K;
	float *dt = dwt + (ch * K * K + U0 * K) * o + ob;
#pragma GCC unroll 2
	for (int nb = 0; nb < NB; nb++)
#pragma GCC unroll 16
		for (int t = 0; t < T; t++)
			acc[nb * T + t] = VLOAD(dt + t * o + nb * LANES);
	for (long i = 0; i < oh; i++) {
		// One pointer per kernel row, so that each broadcast is that pointer
		// plus a constant (v): with (uu·pw + v) offsets GCC kept them on the
		// stack and reloaded one per multiply-add.
		const float *xr[4];
#pragma GCC unroll 4
		for (int uu = 0; uu < NU; uu++)
			xr[uu] = xc + (i * s + U0 + uu) * pw;
		const float *dr = dyt + i * ow * o + ob;
		for (long j = 0; j < ow; j++) {
			V d[2];
#pragma GCC unroll 2
			for (int nb = 0; nb < NB; nb++)
				d[nb] = VLOAD(dr + j * o + nb * LANES);
#pragma GCC unroll 4
			for (int uu = 0; uu < NU; uu++)
#pragma GCC unroll 4
				for (int v = 0; v < K; v++) {
					V xb = VSET1(xr[uu][v]);
#pragma GCC unroll 2
					for (int nb = 0; nb < NB; nb++)
						acc[nb * T + uu * K + v] = VFMA(d[nb], xb, acc[nb * T + uu * K + v]);
				}
#pragma GCC unroll 4
			for (int uu = 0; uu < NU; uu++)
				xr[uu] += s;
		}
	}
#pragma GCC unroll 2
	for (int nb = 0; nb < NB; nb++)
#pragma GCC unroll 16
		for (int t = 0; t < T; t++)
			VSTORE(dt + t * o + nb * LANES, acc[nb * T + t]);
}

// DW_IMAGE runs DW_ROWS over one image; o is a multiple of LANES. With 16
// registers (AVX2) a tile holds one block and at most nine taps (a 4×4 takes
// two passes of two kernel rows); with 32 (AVX-512), two blocks of a 3×3 or
// 2×2, or one block and all sixteen taps of a 4×4.
__attribute__((target(TGT))) static void DW_IMAGE(const float *xp, const float *dyt, float *dwt, long c, long o,
                                                  long k, long oh, long ow, long s, long pw, long plane) {
	const int wide = LANES == 16;
	for (long ch = 0; ch < c; ch++) {
		const float *xc = xp + ch * plane;
		long ob = 0;
		if (k == 4) {
			for (; ob < o; ob += LANES) {
				if (wide) {
					DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 4, 0, 4, 1);
				} else {
					DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 4, 0, 2, 1);
					DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 4, 2, 2, 1);
				}
			}
			continue;
		}
		if (wide)
			for (; ob + 2 * LANES <= o; ob += 2 * LANES) {
				if (k == 3)
					DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 3, 0, 3, 2);
				else
					DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 2, 0, 2, 2);
			}
		for (; ob < o; ob += LANES) {
			if (k == 3)
				DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 3, 0, 3, 1);
			else
				DW_ROWS(xc, dyt, dwt, ob, ch, o, oh, ow, s, pw, 2, 0, 2, 1);
		}
	}
}

#undef CV_TILE
#undef CV_IMAGE
#undef DW_ROWS
#undef DW_IMAGE
#undef CAT
#undef CAT_
// The includer's parameters, so that the next include can set them anew.
#undef V
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef TGT
#undef LANES
#undef PMAX
