// native.h: the C kernels of the native (openblas) build; see native.c.
#ifndef GENTRI_NATIVE_H
#define GENTRI_NATIVE_H

// Activation kinds, in the order of actKind in act.go.
enum { GENTRI_RELU, GENTRI_LEAKY_RELU, GENTRI_SILU, GENTRI_SIGMOID };

void gentri_act_fwd(int kind, float alpha, const float *x, float *y, long n);
void gentri_act_bwd(int kind, float alpha, const float *x, const float *dy, float *dx, long n);
double gentri_bernoulli_sum(const float *l, const float *x, long n);
void gentri_bernoulli_grad(const float *l, const float *x, float *r, float g, long n);
void gentri_adam32(float *w, const float *g, float *m, float *v, long n,
                   float f1, float f2, float c1, float c2, float e, float st, float bc, int path);
void gentri_im2col(const float *x, float *col, const long *geom, const long *lo, const long *hi);
void gentri_col2im(const float *dcol, float *dx, const long *geom, const long *lo, const long *hi);
void gentri_moments(const float *x, long outer, long k, long s, long lo, long hi, double *mean, double *variance);
void gentri_norm_affine(const float *x, const float *gamma, const float *beta, float *y, const double *mean,
                        const double *inv_std, long c, long s, long per_sample, long per_stat, long lo, long hi);
void gentri_gn_param_grads(int wrt, const float *x, const float *dy, float *r, const double *mean,
                           const double *inv_std, long n, long c, long s, long groups, long lo, long hi);
void gentri_gn_dx(const float *x, const float *gamma, const float *dy, float *r, const double *mean,
                  const double *inv_std, long c, long s, long groups, long lo, long hi);
int gentri_have_avx2_fma(void);
int gentri_have_avx512(void);
long gentri_conv3x3_scratch(long c, long h, long w);
void gentri_conv3x3(const float *x, const float *w, const float *b, float *y, float *scratch, long n0, long n1,
                    long c, long h, long wd, long o, int generic);
long gentri_conv_dw_scratch(long c, long h, long w, long pad, long o, long oh, long ow);
void gentri_conv_dw(const float *x, const float *dy, float *dw, float *scratch, long n0, long n1, long c, long h,
                    long w, long pad, long o, long k, long s, long oh, long ow, int generic);
void gentri_conv_dw_sum(const float *partial, long parts, long size, long o, long taps, float *dw, long t0,
                        long t1);
long gentri_cv_lanes(long o, long k, int generic);
void gentri_cv_lay(const float *w, long base, long so, long sc, long su, long sv, long o, long c, long k, long lanes,
                   float *wt);
void gentri_conv_cv(const float *x, const float *wt, const float *bp, float *y, float *scratch, long n0, long n1,
                    long c, long h, long w, long pad, long o, long k, long s, long start, long oh, long ow,
                    long ych, long yrow, long ycol, long yoff, long yimg, long lanes, int generic);

#endif
