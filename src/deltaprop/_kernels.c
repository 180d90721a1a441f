/* deltaprop._kernels: the compiled engine (see fast.py, which calls it).
 *
 * Each function runs in float64 and float32 (the loops are in _kernel.h, included once per type):
 *
 *   train(theta, spec, loss, X, Y, orders, batch, lrs, l2, Xv, Yv, g, Z, A, D, results, status,
 *         running=False, best=None, best_score=None, monitor=0)        small networks, whole epochs
 *   train_side_by_side(th, spec, loss, X, Y, orders, lrs, l2, Xv, Yv, results, status, running=False)
 *   plan(...), plan_step(plan, X, Y, idx, ...), plan_score(plan, X, Y, sums)
 *                                       larger networks: one mini-batch step (or the scores of a set)
 *                                       with BLAS's gemm, split between threads
 *   bias_act, output_delta_rows, act_backward, sgd, momentum, adam: the elementwise passes alone
 *
 * Arrays arrive through the buffer protocol (C-contiguous NumPy arrays; X and Y of plan_step in any
 * layout); their shapes, types and sizes are checked here, so a wrong call raises ValueError instead
 * of reading out of bounds. The GIL is released while the loops run. Built by setup.py when
 * deltaprop is installed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <stdatomic.h>
#ifndef _WIN32
#include <sched.h>
#endif

typedef int64_t i64;
#ifdef _MSC_VER
#define restrict __restrict
#endif

enum { IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX };
enum { SQUARED_ERROR, CROSS_ENTROPY, BINARY_CROSS_ENTROPY };
#define DIVERGED 1e8               /* as training.DIVERGED */
#define SPEC_COLUMNS 8             /* n_in, n_out, W offset, b offset, activation, input offset, output offset, frozen */

typedef struct { i64 n_in, n_out, w, b, act, a0, u0, frozen; } Layer;

/* exp(x) for x <= 0 (and NaN), in plain arithmetic that a compiler can run on a whole vector of x at
 * once, unlike a call of libm's exp: exp(x) = 2^k e^r, k = round(x / ln 2), |r| <= ln 2 / 2, e^r by
 * its Taylor series to r^13 (truncation below 5e-18), 2^k built in the exponent bits. Within 2 ulp of
 * libm's exp; below EXP_MIN (where libm's result is subnormal) it returns 0. Used where K networks
 * side by side compute the sigmoids of one unit at once, and for sigmoid and tanh layers.
 * vexp_parts gives 2^k and e^r - 1; vexp_d and vexpm1_d put them together. */
#define EXP_MIN (-0x1.6232bdd7abcd2p+9)    /* ln(DBL_MIN) = -708.396...: exp(x) is normal from here up */

static inline double vexp_parts(double x, double *scale)
{
    const double shift = 0x1.8p52, inv_ln2 = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    double xc = x < EXP_MIN ? EXP_MIN : x;
    double u = xc * inv_ln2 + shift;                 /* round to nearest: k sits in the low bits of u */
    double kd = u - shift;
    double r = (xc - kd * ln2_hi) - kd * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    uint64_t bits;
    memcpy(&bits, &u, sizeof bits);
    bits = (bits + 1023) << 52;                      /* 2^k: the low bits of u hold 2^51 + k */
    memcpy(scale, &bits, sizeof *scale);
    return p * r * r + r;                            /* e^r - 1 */
}

static inline double vexp_d(double x)
{
    double scale, p = vexp_parts(x, &scale);
    double e = scale + scale * p;
    return x < EXP_MIN ? 0.0 : e;
}

/* exp(x) - 1 for x <= 0 (and NaN): 2^k - 1 + 2^k (e^r - 1), which is e^r - 1 itself where k = 0
 * (|x| <= ln 2 / 2), so it keeps its relative accuracy near 0; -1 below EXP_MIN */
static inline double vexpm1_d(double x)
{
    double scale, p = vexp_parts(x, &scale);
    double e = (scale - 1.0) + scale * p;
    return x < EXP_MIN ? -1.0 : e;
}

/* tanh z = -expm1(-2|z|) / (2 + expm1(-2|z|)), its sign z's (NaN stays NaN): within a few ulp of
 * libm's tanh, and a loop of it vectorizes */
static inline double vtanh_d(double z)
{
    double e = vexpm1_d(-2.0 * fabs(z));
    return copysign(-e / (2.0 + e), z);
}

static inline float vexp_f(float x) { return (float)vexp_d((double)x); }
static inline float vtanh_f(float z) { return (float)vtanh_d((double)z); }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* the loops over K networks, compiled for AVX-512, AVX2 + FMA and plain x86-64; the best one the
 * processor runs is chosen when the module loads */
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif
#define KB 8                       /* networks side by side in one block of train_side_by_side */

/* ---- a batched step driven from C (see step_part in _kernel.h and plan_step below) -------- */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };            /* the CBLAS enums */
enum { OPT_SGD, OPT_MOMENTUM, OPT_ADAM };
#define MAX_THREADS 64

typedef struct {                       /* one layer: W (or W^T, when wt) and dW in the same layout */
    void *W, *b, *dW, *db, *Z, *A, *D;
    i64 n_in, n_out, act;
    int wt, by_rows;                   /* wt: W^T is the C-contiguous array; by_rows: split the batch's rows */
    int wq;                            /* the parameter that is this W (with dW its gradient), or -1 (frozen) */
} PLayer;

typedef struct {                       /* a layer's W or b as 1-d views; s1, s2: its optimizer state */
    void *p, *g, *s1, *s2;
    i64 count, layer;
    int is_w;                          /* W (takes l2) or b */
} PParam;

typedef struct {                       /* sense-reversing barrier of T threads */
    _Atomic int count, sense;
    int T;
} Barrier;

typedef struct {
    int L, P, T, threads, ilp64;         /* T: threads of this step; threads: the plan's */
    i64 loss, batch, rows_max, itemsize;   /* batch: rows a step; rows_max: a scoring call's (>= batch) */
    PLayer *layer;
    PParam *param;
    void *Xb, *Yb, *gemm;
    void (*set_threads)(int);          /* BLAS's thread count, set to 1 while T threads call it (or NULL) */
    int (*get_threads)(void);
    double *rows_buf;
    Py_buffer *views;
    int n_views;
    /* this step */
    const char *X, *Y;
    i64 xs0, xs1, ys0, ys1, start, m;
    const i64 *idx;
    int gather, train, opt, nesterov;
    double *rows;                      /* [loss, right, squared error] of each row, or NULL */
    double lr, l2, mu, b1, c1, b2, c2, eta_t, eps_t;
    double adam_t, eps;                 /* Adam: the next step's number, and epsilon (eta_t, eps_t are made from them) */
    Barrier bar;
} Plan;

static inline void split(i64 n, int T, int t, i64 *lo, i64 *hi)
{
    *lo = n * t / T;
    *hi = n * (t + 1) / T;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void yield_cpu(void)
{
#ifndef _WIN32
    sched_yield();
#endif
}

static void barrier(Barrier *b, int *sense)
{
    if (b->T == 1) return;
    const int s = !*sense;
    *sense = s;
    if (atomic_fetch_add(&b->count, 1) == b->T - 1) {
        atomic_store(&b->count, 0);
        atomic_store(&b->sense, s);
    } else {
        for (long spin = 0; atomic_load(&b->sense) != s; spin++) {
            cpu_relax();
            if (spin > 20000) yield_cpu();   /* the other thread is not running: let it */
        }
    }
}

#define real double
#define SUFFIX _d
#define VEXP vexp_d
#define EXP exp
#define LOG log
#define LOG1P log1p
#define TANH_V vtanh_d
#define FABS fabs
#define SQRT sqrt
#include "_kernel.h"
#undef real
#undef SUFFIX
#undef EXP
#undef LOG
#undef LOG1P
#undef TANH_V
#undef FABS
#undef SQRT

#undef VEXP
#define real float
#define SUFFIX _f
#define VEXP vexp_f
#define EXP expf
#define LOG logf
#define LOG1P log1pf
#define TANH_V vtanh_f
#define FABS fabsf
#define SQRT sqrtf
#include "_kernel.h"

/* ---- argument checking ------------------------------------------------------------------- */
typedef struct { Py_buffer view; int held; } Arg;

static int get(PyObject *obj, Arg *arg, const char *name, int ndim, char kind, int writable)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &arg->view, flags) < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous%s array", name, writable ? " writable" : "");
        return -1;
    }
    arg->held = 1;
    const char *f = arg->view.format ? arg->view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    char got = (f[0] && !f[1]) ? f[0] : '?';
    int ok;
    if (kind == 'i') ok = (got == 'l' || got == 'q') && arg->view.itemsize == 8;
    else if (kind == 'd') ok = got == 'd' && arg->view.itemsize == 8;
    else ok = (got == 'd' && arg->view.itemsize == 8) || (got == 'f' && arg->view.itemsize == 4);
    if (!ok || arg->view.ndim != ndim) {
        PyErr_Format(PyExc_ValueError, "%s must be a %d-d %s array; received a %d-d array of format '%s'", name, ndim,
                     kind == 'i' ? "int64" : kind == 'd' ? "float64" : "float64 or float32", arg->view.ndim, f);
        return -1;
    }
    return 0;
}

static i64 dim(Arg *a, int i) { return (i64)a->view.shape[i]; }

static void release(Arg *args, int n)
{
    for (int i = 0; i < n; i++)
        if (args[i].held) PyBuffer_Release(&args[i].view);
}

#define FAIL(...) do { PyErr_Format(PyExc_ValueError, __VA_ARGS__); goto done; } while (0)

/* The layers of spec, checked against a parameter vector of P entries and scratch rows of `width`. */
static Layer *read_spec(Arg *spec, i64 P, i64 width, i64 *L_out)
{
    i64 L = dim(spec, 0);
    if (L < 1 || dim(spec, 1) != SPEC_COLUMNS) {
        PyErr_Format(PyExc_ValueError, "spec must have shape (L >= 1, %d)", SPEC_COLUMNS);
        return NULL;
    }
    Layer *net = malloc(sizeof(Layer) * L);
    if (!net) { PyErr_NoMemory(); return NULL; }
    memcpy(net, spec->view.buf, sizeof(Layer) * L);
    for (i64 l = 0; l < L; l++) {
        Layer s = net[l];
        int ok = s.n_in > 0 && s.n_out > 0 && s.w >= 0 && s.b == s.w + s.n_in * s.n_out && s.b + s.n_out <= P
                 && s.a0 >= 0 && s.a0 + s.n_in <= width && s.u0 >= 0 && s.u0 + s.n_out <= width
                 && s.act >= IDENTITY && s.act <= SOFTMAX && (l == 0 || s.n_in == net[l - 1].n_out);
        if (!ok) {
            free(net);
            PyErr_Format(PyExc_ValueError, "spec row %lld does not fit %lld parameters and rows of width %lld", (long long)l, (long long)P, (long long)width);
            return NULL;
        }
    }
    *L_out = L;
    return net;
}

static int same_type(Arg *args, int n, Py_ssize_t itemsize)
{
    for (int i = 0; i < n; i++)
        if (args[i].view.itemsize != itemsize) {
            PyErr_SetString(PyExc_ValueError, "the parameter, data and scratch arrays must share one float type");
            return 0;
        }
    return 1;
}

static PyObject *py_train(PyObject *self, PyObject *args)
{
    PyObject *o[16] = {NULL};
    long loss, batch, monitor = 0;
    double l2;
    int running = 0;
    if (!PyArg_ParseTuple(args, "OOlOOOlOdOOOOOOOO|pOOl", &o[0], &o[1], &loss, &o[2], &o[3], &o[4], &batch, &o[5], &l2,
                          &o[6], &o[7], &o[8], &o[9], &o[10], &o[11], &o[12], &o[13], &running, &o[14], &o[15],
                          &monitor))
        return NULL;
    enum { THETA, SPEC, X, Y, ORDERS, LRS, XV, YV, G, Z, A, D, RESULTS, STATUS, BEST, BEST_SCORE, N };
    Arg a[N] = {0};
    PyObject *ret = NULL;
    Layer *net = NULL;
    void *rows = NULL;                 /* scratch for evaluating KB rows at once */
    static const char *names[N] = {"theta", "spec", "X", "Y", "orders", "lrs", "Xv", "Yv", "g", "Z", "A", "D",
                                   "results", "status", "best", "best_score"};
    static const int ndims[N] = {2, 2, 3, 3, 3, 2, 3, 3, 1, 2, 2, 2, 3, 1, 2, 1};
    static const char kinds[N] = {'r', 'i', 'r', 'r', 'i', 'd', 'r', 'r', 'r', 'r', 'r', 'r', 'd', 'i', 'r', 'd'};
    static const int writes[N] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    const int tracked = o[BEST] != NULL && o[BEST] != Py_None;  /* best and best_score: optional, together */
    for (int i = 0; i < N; i++)
        if ((i < BEST || tracked) && get(o[i], &a[i], names[i], ndims[i], kinds[i], writes[i]) < 0) goto done;
    {
        Arg reals[] = {a[THETA], a[X], a[Y], a[XV], a[YV], a[G], a[Z], a[A], a[D], tracked ? a[BEST] : a[THETA]};
        if (!same_type(reals, 10, a[THETA].view.itemsize)) goto done;
    }
    i64 K = dim(&a[THETA], 0), P = dim(&a[THETA], 1), E = dim(&a[ORDERS], 1), m = dim(&a[ORDERS], 2);
    i64 width = dim(&a[Z], 1), L;
    if (!(net = read_spec(&a[SPEC], P, width, &L))) goto done;
    i64 n0 = net[0].n_in, nL = net[L - 1].n_out, mv = dim(&a[XV], 1);
    if (loss < SQUARED_ERROR || loss > BINARY_CROSS_ENTROPY) FAIL("unknown loss code %ld", loss);
    if (batch < 1) FAIL("batch must be >= 1; received %ld", batch);
    if (dim(&a[ORDERS], 0) != K || dim(&a[X], 0) != K || dim(&a[X], 1) != m || dim(&a[X], 2) != n0
        || dim(&a[Y], 0) != K || dim(&a[Y], 1) != m || dim(&a[Y], 2) != nL)
        FAIL("X, Y and orders do not match theta's %lld networks, %lld rows and the spec", (long long)K, (long long)m);
    if (dim(&a[XV], 0) != K || dim(&a[XV], 2) != n0 || dim(&a[YV], 0) != K || dim(&a[YV], 1) != mv || dim(&a[YV], 2) != nL)
        FAIL("Xv and Yv do not match X and Y");
    if (dim(&a[LRS], 0) != K || dim(&a[LRS], 1) != E || dim(&a[RESULTS], 0) != K || dim(&a[RESULTS], 1) != E
        || dim(&a[RESULTS], 2) != 7 || dim(&a[STATUS], 0) != K || dim(&a[G], 0) != P)
        FAIL("lrs, results, status or g do not match theta and orders");
    if (tracked && (dim(&a[BEST], 0) != K || dim(&a[BEST], 1) != P || dim(&a[BEST_SCORE], 0) != K))
        FAIL("best must have theta's shape and best_score one entry a network");
    if (monitor != 0 && !(monitor == 3 && mv > 0)) FAIL("monitor must be 0 (loss) or 3 (val_loss, with validation rows)");
    for (int i = Z; i <= D; i++)
        if (dim(&a[i], 0) < (batch < m ? batch : m) || dim(&a[i], 1) != width) FAIL("%s must have shape (batch, width)", names[i]);
    const i64 *orders = a[ORDERS].view.buf;
    for (i64 r = 0; r < K * E * m; r++)
        if (orders[r] < 0 || orders[r] >= m) FAIL("orders must hold row numbers 0..%lld", (long long)(m - 1));
    if (!(rows = calloc((size_t)(2 * width + nL) * KB, a[THETA].view.itemsize))) { PyErr_NoMemory(); goto done; }
    if (a[THETA].view.itemsize == 8) {
        Py_BEGIN_ALLOW_THREADS
        train_d(a[THETA].view.buf, net, L, P, loss, a[X].view.buf, a[Y].view.buf, m, n0, nL, orders, E, K, batch,
                a[LRS].view.buf, l2, a[XV].view.buf, a[YV].view.buf, mv, a[G].view.buf, a[Z].view.buf, a[A].view.buf,
                a[D].view.buf, width, a[RESULTS].view.buf, a[STATUS].view.buf, running,
                tracked ? a[BEST].view.buf : NULL, tracked ? a[BEST_SCORE].view.buf : NULL, monitor, rows);
        Py_END_ALLOW_THREADS
    } else {
        Py_BEGIN_ALLOW_THREADS
        train_f(a[THETA].view.buf, net, L, P, loss, a[X].view.buf, a[Y].view.buf, m, n0, nL, orders, E, K, batch,
                a[LRS].view.buf, l2, a[XV].view.buf, a[YV].view.buf, mv, a[G].view.buf, a[Z].view.buf, a[A].view.buf,
                a[D].view.buf, width, a[RESULTS].view.buf, a[STATUS].view.buf, running,
                tracked ? a[BEST].view.buf : NULL, tracked ? a[BEST_SCORE].view.buf : NULL, monitor, rows);
        Py_END_ALLOW_THREADS
    }
    ret = Py_NewRef(Py_None);
done:
    free(rows);
    free(net);
    release(a, N);
    return ret;
}

static PyObject *py_train_side_by_side(PyObject *self, PyObject *args)
{
    PyObject *o[11];
    long loss;
    double l2;
    int running = 0;
    if (!PyArg_ParseTuple(args, "OOlOOOOdOOOO|p", &o[0], &o[1], &loss, &o[2], &o[3], &o[4], &o[5], &l2, &o[6], &o[7],
                          &o[8], &o[9], &running))
        return NULL;
    enum { TH, SPEC, X, Y, ORDERS, LRS, XV, YV, RESULTS, STATUS, N };
    Arg a[N] = {0};
    PyObject *ret = NULL;
    Layer *net = NULL;
    void *scratch = NULL;
    static const char *names[N] = {"th", "spec", "X", "Y", "orders", "lrs", "Xv", "Yv", "results", "status"};
    static const int ndims[N] = {2, 2, 3, 3, 3, 2, 3, 3, 3, 1};
    static const char kinds[N] = {'r', 'i', 'r', 'r', 'i', 'd', 'r', 'r', 'd', 'i'};
    static const int writes[N] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    for (int i = 0; i < N; i++)
        if (get(o[i], &a[i], names[i], ndims[i], kinds[i], writes[i]) < 0) goto done;
    {
        Arg reals[] = {a[TH], a[X], a[Y], a[XV], a[YV]};
        if (!same_type(reals, 5, a[TH].view.itemsize)) goto done;
    }
    i64 P = dim(&a[TH], 0), K = dim(&a[TH], 1), E = dim(&a[ORDERS], 1), m = dim(&a[ORDERS], 2), L;
    if (!(net = read_spec(&a[SPEC], P, INT64_MAX, &L))) goto done;
    i64 width = net[L - 1].u0 + net[L - 1].n_out;
    for (i64 l = 0; l < L; l++)
        if (net[l].u0 + net[l].n_out > width) width = net[l].u0 + net[l].n_out;
    i64 n0 = net[0].n_in, nL = net[L - 1].n_out, mv = dim(&a[XV], 1);
    if (loss < SQUARED_ERROR || loss > BINARY_CROSS_ENTROPY) FAIL("unknown loss code %ld", loss);
    for (i64 l = 0; l < L; l++)
        if (net[l].act == SOFTMAX) FAIL("train_side_by_side runs elementwise activations only (no softmax)");
    if (dim(&a[ORDERS], 0) != K || dim(&a[X], 0) != K || dim(&a[X], 1) != m || dim(&a[X], 2) != n0
        || dim(&a[Y], 0) != K || dim(&a[Y], 1) != m || dim(&a[Y], 2) != nL)
        FAIL("X, Y and orders do not match th's %lld networks, %lld rows and the spec", (long long)K, (long long)m);
    if (dim(&a[XV], 0) != K || dim(&a[XV], 2) != n0 || dim(&a[YV], 0) != K || dim(&a[YV], 1) != mv || dim(&a[YV], 2) != nL)
        FAIL("Xv and Yv do not match X and Y");
    if (dim(&a[LRS], 0) != K || dim(&a[LRS], 1) != E || dim(&a[RESULTS], 0) != K || dim(&a[RESULTS], 1) != E
        || dim(&a[RESULTS], 2) != 7 || dim(&a[STATUS], 0) != K)
        FAIL("lrs, results or status do not match th and orders");
    const i64 *orders = a[ORDERS].view.buf;
    for (i64 r = 0; r < K * E * m; r++)
        if (orders[r] < 0 || orders[r] >= m) FAIL("orders must hold row numbers 0..%lld", (long long)(m - 1));
    size_t n_scratch = (size_t)(P + 3 * width + nL) * KB;
    if (!(scratch = calloc(n_scratch, a[TH].view.itemsize))) { PyErr_NoMemory(); goto done; }
    if (a[TH].view.itemsize == 8) {
        Py_BEGIN_ALLOW_THREADS
        train_k_d(a[TH].view.buf, net, L, P, loss, a[X].view.buf, a[Y].view.buf, m, n0, nL, orders, E, K,
                  a[LRS].view.buf, l2, a[XV].view.buf, a[YV].view.buf, mv, width, a[RESULTS].view.buf,
                  a[STATUS].view.buf, scratch, running);
        Py_END_ALLOW_THREADS
    } else {
        Py_BEGIN_ALLOW_THREADS
        train_k_f(a[TH].view.buf, net, L, P, loss, a[X].view.buf, a[Y].view.buf, m, n0, nL, orders, E, K,
                  a[LRS].view.buf, l2, a[XV].view.buf, a[YV].view.buf, mv, width, a[RESULTS].view.buf,
                  a[STATUS].view.buf, scratch, running);
        Py_END_ALLOW_THREADS
    }
    ret = Py_NewRef(Py_None);
done:
    free(scratch);
    free(net);
    release(a, N);
    return ret;
}

/* ---- the elementwise passes of a batched step ---------------------------------------------
 * Each takes its arrays in the order of the C function, checks that they share one float type and
 * have the sizes the function will touch, and runs with the GIL released. */
static int reals(Arg *a, int n)
{
    for (int i = 1; i < n; i++)
        if (a[i].view.itemsize != a[0].view.itemsize) {
            PyErr_SetString(PyExc_ValueError, "the arrays must share one float type");
            return 0;
        }
    return 1;
}

static i64 count(Arg *a) { return (i64)(a->view.len / a->view.itemsize); }

static PyObject *py_bias_act(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    long act;
    if (!PyArg_ParseTuple(args, "OOOl", &o[0], &o[1], &o[2], &act)) return NULL;
    Arg a[3] = {0};
    PyObject *ret = NULL;
    if (get(o[0], &a[0], "z", 2, 'r', 1) < 0 || get(o[1], &a[1], "b", 1, 'r', 0) < 0 || get(o[2], &a[2], "a", 2, 'r', 1) < 0
        || !reals(a, 3))
        goto done;
    i64 m = dim(&a[0], 0), n = dim(&a[0], 1);
    if (dim(&a[1], 0) != n || dim(&a[2], 0) != m || dim(&a[2], 1) != n) FAIL("b and a must match z (m, n)");
    if (act < IDENTITY || act > SOFTMAX) FAIL("unknown activation code %ld", act);
    Py_BEGIN_ALLOW_THREADS
    if (a[0].view.itemsize == 8) bias_act_d(a[0].view.buf, a[1].view.buf, a[2].view.buf, m, n, n, act);
    else bias_act_f(a[0].view.buf, a[1].view.buf, a[2].view.buf, m, n, n, act);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    release(a, 3);
    return ret;
}

static PyObject *py_output_delta_rows(PyObject *self, PyObject *args)
{
    PyObject *o[6] = {NULL};
    long act, loss;
    if (!PyArg_ParseTuple(args, "OOOOOll|O", &o[0], &o[1], &o[2], &o[3], &o[4], &act, &loss, &o[5])) return NULL;
    Arg a[6] = {0};
    PyObject *ret = NULL;
    static const char *names[5] = {"z", "a", "y", "delta", "db"};
    for (int i = 0; i < 5; i++)
        if (get(o[i], &a[i], names[i], i == 4 ? 1 : 2, 'r', i >= 3) < 0) goto done;
    const int summed = o[5] != NULL && o[5] != Py_None;
    if (!reals(a, 5) || (summed && get(o[5], &a[5], "sums", 1, 'd', 1) < 0)) goto done;
    i64 m = dim(&a[0], 0), n = dim(&a[0], 1);
    for (int i = 1; i < 4; i++)
        if (dim(&a[i], 0) != m || dim(&a[i], 1) != n) FAIL("a, y and delta must match z (m, n)");
    if (dim(&a[4], 0) != n) FAIL("db must hold one number a column of z");
    if (summed && dim(&a[5], 0) != 3) FAIL("sums must hold 3 numbers");
    if (act < IDENTITY || act > SOFTMAX || loss < SQUARED_ERROR || loss > BINARY_CROSS_ENTROPY)
        FAIL("unknown activation or loss code");
    double *sums = summed ? a[5].view.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (a[0].view.itemsize == 8)
        output_delta_rows_d(a[0].view.buf, a[1].view.buf, a[2].view.buf, a[3].view.buf, a[4].view.buf, m, n, act, loss, sums);
    else
        output_delta_rows_f(a[0].view.buf, a[1].view.buf, a[2].view.buf, a[3].view.buf, a[4].view.buf, m, n, act, loss, sums);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    release(a, 6);
    return ret;
}

static PyObject *py_act_backward(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    long act;
    if (!PyArg_ParseTuple(args, "OOOOl", &o[0], &o[1], &o[2], &o[3], &act)) return NULL;
    Arg a[4] = {0};
    PyObject *ret = NULL;
    if (get(o[0], &a[0], "grad", 2, 'r', 1) < 0 || get(o[1], &a[1], "z", 2, 'r', 0) < 0 || get(o[2], &a[2], "a", 2, 'r', 0) < 0
        || get(o[3], &a[3], "db", 1, 'r', 1) < 0 || !reals(a, 4))
        goto done;
    i64 m = dim(&a[0], 0), n = dim(&a[0], 1);
    for (int i = 1; i < 3; i++)
        if (dim(&a[i], 0) != m || dim(&a[i], 1) != n) FAIL("z and a must match grad (m, n)");
    if (dim(&a[3], 0) != n) FAIL("db must hold one number a column of grad");
    if (act < IDENTITY || act >= SOFTMAX) FAIL("act_backward runs elementwise activations only");
    Py_BEGIN_ALLOW_THREADS
    if (a[0].view.itemsize == 8) act_backward_d(a[0].view.buf, a[1].view.buf, a[2].view.buf, a[3].view.buf, m, n, n, act);
    else act_backward_f(a[0].view.buf, a[1].view.buf, a[2].view.buf, a[3].view.buf, m, n, n, act);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    release(a, 4);
    return ret;
}

static PyObject *py_sgd(PyObject *self, PyObject *args)
{
    PyObject *o[2];
    double lr, l2;
    if (!PyArg_ParseTuple(args, "OOdd", &o[0], &o[1], &lr, &l2)) return NULL;
    Arg a[2] = {0};
    PyObject *ret = NULL;
    if (get(o[0], &a[0], "param", 1, 'r', 1) < 0 || get(o[1], &a[1], "grad", 1, 'r', 0) < 0 || !reals(a, 2)) goto done;
    if (count(&a[1]) != count(&a[0])) FAIL("grad must have param's size");
    Py_BEGIN_ALLOW_THREADS
    if (a[0].view.itemsize == 8) sgd_d(a[0].view.buf, a[1].view.buf, count(&a[0]), lr, l2);
    else sgd_f(a[0].view.buf, a[1].view.buf, count(&a[0]), (float)lr, (float)l2);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    release(a, 2);
    return ret;
}

/* the parameter and its gradient, then `n_state` state arrays of the same size (1-d views) */
static int update_args(PyObject **o, Arg *a, int n)
{
    static const char *names[4] = {"param", "grad", "state", "state"};
    for (int i = 0; i < n; i++)
        if (get(o[i], &a[i], names[i], 1, 'r', i != 1) < 0) return 0;
    if (!reals(a, n)) return 0;
    for (int i = 1; i < n; i++)
        if (count(&a[i]) != count(&a[0])) {
            PyErr_SetString(PyExc_ValueError, "grad and the optimizer's state must have param's size");
            return 0;
        }
    return 1;
}

static PyObject *py_momentum(PyObject *self, PyObject *args)
{
    PyObject *o[3];
    double lr, l2, mu;
    int nesterov;
    if (!PyArg_ParseTuple(args, "OOOdddp", &o[0], &o[1], &o[2], &lr, &l2, &mu, &nesterov)) return NULL;
    Arg a[3] = {0};
    PyObject *ret = NULL;
    if (!update_args(o, a, 3)) goto done;
    Py_BEGIN_ALLOW_THREADS
    if (a[0].view.itemsize == 8) momentum_d(a[0].view.buf, a[1].view.buf, a[2].view.buf, count(&a[0]), lr, l2, mu, nesterov);
    else momentum_f(a[0].view.buf, a[1].view.buf, a[2].view.buf, count(&a[0]), (float)lr, (float)l2, (float)mu, nesterov);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    release(a, 3);
    return ret;
}

static PyObject *py_adam(PyObject *self, PyObject *args)
{
    PyObject *o[4];
    double l2, b1, c1, b2, c2, eta_t, eps_t;
    if (!PyArg_ParseTuple(args, "OOOOddddddd", &o[0], &o[1], &o[2], &o[3], &l2, &b1, &c1, &b2, &c2, &eta_t, &eps_t))
        return NULL;
    Arg a[4] = {0};
    PyObject *ret = NULL;
    if (!update_args(o, a, 4)) goto done;
    Py_BEGIN_ALLOW_THREADS
    if (a[0].view.itemsize == 8)
        adam_d(a[0].view.buf, a[1].view.buf, a[2].view.buf, a[3].view.buf, count(&a[0]), l2, b1, c1, b2, c2, eta_t, eps_t);
    else
        adam_f(a[0].view.buf, a[1].view.buf, a[2].view.buf, a[3].view.buf, count(&a[0]), (float)l2, (float)b1, (float)c1,
               (float)b2, (float)c2, (float)eta_t, (float)eps_t);
    Py_END_ALLOW_THREADS
    ret = Py_NewRef(Py_None);
done:
    release(a, 4);
    return ret;
}

/* ---- the threads of a batched step ------------------------------------------------------
 * T - 1 worker threads, started when first needed and kept; a step wakes them (a generation
 * counter), every thread runs its part, and the caller waits until all are done. Between steps a
 * worker spins for about a millisecond, then sleeps on a condition variable. One step at a time
 * uses the workers (another thread's step meanwhile runs on its own thread alone). */
#ifndef _WIN32
#include <pthread.h>
#include <signal.h>
#define SPIN_WAIT (1L << 16)

static struct {
    pthread_mutex_t mu, busy;
    pthread_cond_t cv;
    _Atomic long gen;
    _Atomic int done;
    int started;
    long start_gen[MAX_THREADS];
    Plan *plan;
    void (*part)(Plan *, int);
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void *worker(void *arg)
{
    const int t = (int)(intptr_t)arg;
    long seen = pool.start_gen[t], g;
    for (;;) {
        for (long spin = 0; (g = atomic_load(&pool.gen)) == seen; spin++) {
            cpu_relax();
            if (spin > SPIN_WAIT) {
                pthread_mutex_lock(&pool.mu);
                while ((g = atomic_load(&pool.gen)) == seen) pthread_cond_wait(&pool.cv, &pool.mu);
                pthread_mutex_unlock(&pool.mu);
                break;
            }
        }
        seen = g;
        if (t < pool.plan->T) pool.part(pool.plan, t);
        atomic_fetch_add(&pool.done, 1);
    }
    return NULL;
}

/* at least n workers (threads 1..n); returns how many there are. They block every signal, so that
 * Ctrl-C and the like reach the thread that runs Python. */
static int start_workers(int n)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool.started < n && pool.started < MAX_THREADS - 1) {
        const int t = pool.started + 1;
        pthread_t th;
        pool.start_gen[t] = atomic_load(&pool.gen);
        if (pthread_create(&th, NULL, worker, (void *)(intptr_t)t) != 0) break;
        pthread_detach(th);
        pool.started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool.started;
}

static void pool_after_fork(void)      /* a forked child has none of the parent's workers */
{
    pool.started = 0;
    pthread_mutex_init(&pool.mu, NULL);
    pthread_mutex_init(&pool.busy, NULL);
    pthread_cond_init(&pool.cv, NULL);
}

/* Run part(p, t) for t = 0..p->T - 1; called with the GIL released, after start_workers(p->T - 1). */
static void run_parts(Plan *p, void (*part)(Plan *, int))
{
    if (p->T == 1) { part(p, 0); return; }
    pool.plan = p;
    pool.part = part;
    atomic_store(&pool.done, 0);
    pthread_mutex_lock(&pool.mu);
    atomic_fetch_add(&pool.gen, 1);
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    part(p, 0);
    for (long spin = 0; atomic_load(&pool.done) < pool.started; spin++) {
        cpu_relax();
        if (spin > 20000) yield_cpu();
    }
}
#endif

static void plan_free(PyObject *capsule)
{
    Plan *p = PyCapsule_GetPointer(capsule, "deltaprop.plan");
    if (!p) return;
    for (int i = 0; i < p->n_views; i++) PyBuffer_Release(&p->views[i]);
    free(p->views);
    free(p->layer);
    free(p->param);
    free(p->rows_buf);
    free(p);
}

/* a buffer the plan keeps: C-contiguous, of the plan's float type, shape (d0,) or (d0, d1) */
static void *keep(Plan *p, PyObject *obj, const char *name, int ndim, i64 d0, i64 d1, int writable)
{
    Arg a = {0};
    if (get(obj, &a, name, ndim, 'r', writable) < 0) return NULL;
    p->views[p->n_views++] = a.view;
    if (a.view.itemsize != p->itemsize) {
        PyErr_Format(PyExc_ValueError, "%s must be float%d like the first layer's W", name, (int)(8 * p->itemsize));
        return NULL;
    }
    if (dim(&a, 0) != d0 || (ndim == 2 && dim(&a, 1) != d1)) {
        PyErr_Format(PyExc_ValueError, "%s must have %lld x %lld entries; received shape (%lld, %lld)", name,
                     (long long)d0, (long long)(ndim == 2 ? d1 : 1), (long long)dim(&a, 0),
                     (long long)(ndim == 2 ? dim(&a, 1) : 1));
        return NULL;
    }
    return a.view.buf;
}

static PyObject *py_plan(PyObject *self, PyObject *args)
{
    PyObject *layers, *params, *xb, *yb;
    long loss, T;
    unsigned long long gemm, set_threads, get_threads;
    int ilp64;
    if (!PyArg_ParseTuple(args, "O!O!OOlKplKK", &PyTuple_Type, &layers, &PyTuple_Type, &params, &xb, &yb, &loss, &gemm,
                          &ilp64, &T, &set_threads, &get_threads))
        return NULL;
    const Py_ssize_t L = PyTuple_GET_SIZE(layers), P = PyTuple_GET_SIZE(params);
    if (L < 1 || L > 1000 || P > 2 * L) {
        PyErr_SetString(PyExc_ValueError, "plan needs 1 to 1000 layers and at most two parameters a layer");
        return NULL;
    }
    if (T < 1 || T > MAX_THREADS || !gemm || loss < SQUARED_ERROR || loss > BINARY_CROSS_ENTROPY) {
        PyErr_SetString(PyExc_ValueError, "plan needs 1 to 64 threads, a gemm address and a known loss code");
        return NULL;
    }
    Plan *p = calloc(1, sizeof(Plan));
    if (!p) return PyErr_NoMemory();
    p->views = calloc((size_t)(7 * L + 4 * P + 2), sizeof(Py_buffer));
    p->layer = calloc((size_t)L, sizeof(PLayer));
    p->param = calloc((size_t)(P ? P : 1), sizeof(PParam));
    PyObject *capsule = PyCapsule_New(p, "deltaprop.plan", plan_free);
    if (!capsule) { free(p->views); free(p->layer); free(p->param); free(p); return NULL; }
    if (!p->views || !p->layer || !p->param) goto nomem;
    p->L = (int)L; p->P = (int)P; p->threads = (int)T; p->ilp64 = ilp64; p->loss = loss; p->gemm = (void *)(uintptr_t)gemm;
    if (set_threads && get_threads) {
        p->set_threads = (void (*)(int))(uintptr_t)set_threads;
        p->get_threads = (int (*)(void))(uintptr_t)get_threads;
    }
    for (Py_ssize_t l = 0; l < L; l++) {
        PyObject *t = PyTuple_GET_ITEM(layers, l), *o[7];
        PLayer *y = &p->layer[l];
        long act;
        int wt, by_rows;
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "OOOOOOOlpp", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &act,
                                                   &wt, &by_rows))
            goto fail_msg;
        Arg w = {0};
        if (get(o[0], &w, "W", 2, 'r', 1) < 0) goto fail;
        p->views[p->n_views++] = w.view;
        if (l == 0) p->itemsize = w.view.itemsize;
        y->wt = wt; y->by_rows = by_rows; y->act = act; y->W = w.view.buf;
        y->n_out = dim(&w, wt ? 1 : 0); y->n_in = dim(&w, wt ? 0 : 1);
        if (w.view.itemsize != p->itemsize || (l && y->n_in != p->layer[l - 1].n_out) || act < IDENTITY || act > SOFTMAX
            || (act == SOFTMAX && !by_rows)) {
            PyErr_Format(PyExc_ValueError, "layer %lld: W does not follow the layer below, or its activation is unknown",
                         (long long)l);
            goto fail;
        }
        if (l == 0) {   /* the rows of a step, from the first layer's delta; of a scoring chunk, from its z */
            Arg z = {0}, d = {0};
            const int ok = get(o[4], &z, "z", 2, 'r', 1) == 0 && get(o[6], &d, "delta", 2, 'r', 1) == 0;
            if (ok) {
                p->rows_max = dim(&z, 0);
                p->batch = dim(&d, 0);
            }
            if (z.held) PyBuffer_Release(&z.view);
            if (d.held) PyBuffer_Release(&d.view);
            if (!ok) goto fail;
            if (p->batch < 1 || p->rows_max < p->batch) {
                PyErr_SetString(PyExc_ValueError, "z and a must have at least as many rows as delta, and delta one or more");
                goto fail;
            }
        }
        const i64 r = wt ? y->n_in : y->n_out, c = wt ? y->n_out : y->n_in;
        if (!(y->b = keep(p, o[1], "b", 1, y->n_out, 0, 1)) || !(y->dW = keep(p, o[2], "dW", 2, r, c, 1))
            || !(y->db = keep(p, o[3], "db", 1, y->n_out, 0, 1)) || !(y->Z = keep(p, o[4], "z", 2, p->rows_max, y->n_out, 1))
            || !(y->A = keep(p, o[5], "a", 2, p->rows_max, y->n_out, 1)) || !(y->D = keep(p, o[6], "delta", 2, p->batch, y->n_out, 1)))
            goto fail;
    }
    if (!(p->Xb = keep(p, xb, "xb", 2, p->rows_max, p->layer[0].n_in, 1))
        || !(p->Yb = keep(p, yb, "yb", 2, p->rows_max, p->layer[L - 1].n_out, 1)))
        goto fail;
    for (Py_ssize_t q = 0; q < P; q++) {
        PyObject *t = PyTuple_GET_ITEM(params, q), *o[4];
        PParam *u = &p->param[q];
        long long layer;
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "OOOOLp", &o[0], &o[1], &o[2], &o[3], &layer, &u->is_w)) goto fail_msg;
        if (layer < 0 || layer >= L) {
            PyErr_Format(PyExc_ValueError, "parameter %lld names layer %lld of %lld", (long long)q, layer, (long long)L);
            goto fail;
        }
        const PLayer *y = &p->layer[layer];
        u->layer = layer;
        u->count = u->is_w ? y->n_out * y->n_in : y->n_out;
        if (!(u->p = keep(p, o[0], "param", 1, u->count, 0, 1))) goto fail;
        if (!(u->g = keep(p, o[1], "grad", 1, u->count, 0, 1))) goto fail;
        if (o[2] != Py_None && !(u->s1 = keep(p, o[2], "optimizer state", 1, u->count, 0, 1))) goto fail;
        if (o[3] != Py_None && !(u->s2 = keep(p, o[3], "optimizer state", 1, u->count, 0, 1))) goto fail;
    }
    for (int l = 0; l < L; l++) p->layer[l].wq = -1;
    for (int q = 0; q < P; q++) {
        PLayer *y = &p->layer[p->param[q].layer];
        if (p->param[q].is_w && p->param[q].p == y->W && p->param[q].g == y->dW) y->wq = q;
    }
    if (!(p->rows_buf = calloc((size_t)(3 * p->rows_max), sizeof(double)))) goto nomem;
    return capsule;
fail_msg:
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "plan: layers are (W, b, dW, db, z, a, delta, act, wt, by_rows), params are "
                                          "(param, grad, state1, state2, layer, is_w)");
fail:
    Py_DECREF(capsule);
    return NULL;
nomem:
    Py_DECREF(capsule);
    return PyErr_NoMemory();
}

/* a 2-d array of the plan's float type in any memory layout (the training data) */
static int get_strided(PyObject *obj, Py_buffer *view, const char *name, const Plan *p, i64 cols)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_STRIDES | PyBUF_FORMAT) < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be an array", name);
        return -1;
    }
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    const char want = p->itemsize == 8 ? 'd' : 'f';
    if (view->ndim != 2 || f[0] != want || f[1] || view->shape[1] != cols) {
        PyErr_Format(PyExc_ValueError, "%s must be a 2-d float%d array of %lld columns", name, (int)(8 * p->itemsize),
                     (long long)cols);
        PyBuffer_Release(view);
        view->obj = NULL;
        return -1;
    }
    return 0;
}

/* Take this call's data (X, Y: the training rows) and its rows: idx (row numbers) or start .. start + m */
static int take_rows(Plan *p, Py_buffer *x, Py_buffer *y, PyObject *ox, PyObject *oy, PyObject *oidx, Arg *aidx,
                     long long start, long long m, long long most)
{
    const i64 n0 = p->layer[0].n_in, nL = p->layer[p->L - 1].n_out;
    if (get_strided(ox, x, "X", p, n0) < 0 || get_strided(oy, y, "Y", p, nL) < 0) return -1;
    const i64 N = x->shape[0];
    if (y->shape[0] != N) {
        PyErr_SetString(PyExc_ValueError, "X and Y must have the same number of rows");
        return -1;
    }
    if (m < 1 || m > most) {
        PyErr_Format(PyExc_ValueError, "a call takes 1 to %lld rows; received %lld", most, m);
        return -1;
    }
    p->idx = NULL;
    if (oidx != Py_None) {
        if (get(oidx, aidx, "idx", 1, 'i', 0) < 0) return -1;
        if (dim(aidx, 0) != m) {
            PyErr_Format(PyExc_ValueError, "idx must hold m = %lld row numbers", m);
            return -1;
        }
        p->idx = aidx->view.buf;
        for (i64 i = 0; i < m; i++)
            if (p->idx[i] < 0 || p->idx[i] >= N) {
                PyErr_Format(PyExc_ValueError, "idx must hold row numbers 0..%lld", (long long)(N - 1));
                return -1;
            }
    } else if (start < 0 || start + m > N) {
        PyErr_Format(PyExc_ValueError, "rows %lld..%lld are not rows of X (%lld)", start, start + m - 1, (long long)N);
        return -1;
    }
    p->X = x->buf; p->xs0 = x->strides[0]; p->xs1 = x->strides[1];
    p->Y = y->buf; p->ys0 = y->strides[0]; p->ys1 = y->strides[1];
    p->start = start;
    p->gather = p->idx || p->xs1 != p->itemsize || p->xs0 != n0 * p->itemsize;
    return 0;
}

/* Run step_part for rows start .. start + m (or idx) on the plan's threads, the GIL released,
 * BLAS's own threads set to one meanwhile; then again for the next `chunks - 1` runs of m rows
 * (scoring: the sums of every row, in order, into sums) */
static void run_step(Plan *p, i64 m, i64 total, double *sums)
{
    p->T = 1;
#ifndef _WIN32
    int locked = 0;
    if (p->threads > 1 && pthread_mutex_trylock(&pool.busy) == 0) {
        locked = 1;
        p->T = 1 + (start_workers(p->threads - 1) < p->threads - 1 ? pool.started : p->threads - 1);
    }
#endif
    int blas_threads = 0;
    if (p->T > 1 && p->set_threads) {
        blas_threads = p->get_threads();
        p->set_threads(1);
    }
    double s[3] = {0, 0, 0};
    Py_BEGIN_ALLOW_THREADS
    for (i64 done = 0; done < total; done += m) {
        p->m = total - done < m ? total - done : m;
        if (p->train && p->opt == OPT_ADAM) {   /* the bias corrections of step t, as optimizers.Adam */
            const double t = p->adam_t++;
            p->eta_t = p->lr * sqrt(1 - pow(p->b2, t)) / (1 - pow(p->b1, t));
            p->eps_t = p->eps * sqrt(1 - pow(p->b2, t));
        }
        p->bar.T = p->T;
        atomic_store(&p->bar.count, 0);
        atomic_store(&p->bar.sense, 0);
#ifndef _WIN32
        run_parts(p, p->itemsize == 8 ? step_part_d : step_part_f);
#else
        (p->itemsize == 8 ? step_part_d : step_part_f)(p, 0);
#endif
        if (sums && p->train) {   /* a step's sums, row after row, added to the running ones */
            double t[3] = {0, 0, 0};
            for (i64 i = 0; i < p->m; i++)
                for (int k = 0; k < 3; k++) t[k] += p->rows_buf[3 * i + k];
            for (int k = 0; k < 3; k++) sums[k] += t[k];
        } else if (sums) {        /* scoring: the sums of every row, row after row */
            for (i64 i = 0; i < p->m; i++)
                for (int k = 0; k < 3; k++) s[k] += p->rows_buf[3 * i + k];
        }
        if (p->idx) p->idx += p->m;
        else p->start += p->m;
    }
    Py_END_ALLOW_THREADS
    if (blas_threads) p->set_threads(blas_threads);
#ifndef _WIN32
    if (locked) pthread_mutex_unlock(&pool.busy);
#endif
    if (sums && !p->train)
        for (int k = 0; k < 3; k++) sums[k] = s[k];
}

/* sums: a writable float64 array of 3 numbers */
static double *get_sums(PyObject *obj, Arg *arg)
{
    if (get(obj, arg, "sums", 1, 'd', 1) < 0) return NULL;
    if (dim(arg, 0) != 3) {
        PyErr_SetString(PyExc_ValueError, "sums must hold 3 numbers");
        return NULL;
    }
    return arg->view.buf;
}

static PyObject *release_data(Py_buffer *x, Py_buffer *y, Arg *a, PyObject *ret)
{
    if (x->obj) PyBuffer_Release(x);
    if (y->obj) PyBuffer_Release(y);
    release(a, 2);
    return ret;
}

static PyObject *py_plan_step(PyObject *self, PyObject *args)
{
    PyObject *capsule, *ox, *oy, *oidx, *osums;
    long long start, rows, m, t;
    int opt, nesterov;
    double lr, l2, mu, b1, b2, eps;
    if (!PyArg_ParseTuple(args, "OOOOLLLOidddpddLd", &capsule, &ox, &oy, &oidx, &start, &rows, &m, &osums, &opt, &lr,
                          &l2, &mu, &nesterov, &b1, &b2, &t, &eps))
        return NULL;
    Plan *p = PyCapsule_GetPointer(capsule, "deltaprop.plan");
    if (!p) return NULL;
    Py_buffer x = {0}, y = {0};
    Arg a[2] = {0};
    PyObject *ret = NULL;
    if (m < 1 || m > p->batch) FAIL("a step takes 1 to %lld rows; received %lld", (long long)p->batch, m);
    if (rows < 1) FAIL("no rows to train on");
    if (take_rows(p, &x, &y, ox, oy, oidx, &a[0], start, rows, LLONG_MAX) < 0) goto done;
    double *sums = NULL;
    if (osums != Py_None && !(sums = get_sums(osums, &a[1]))) goto done;
    if (opt < OPT_SGD || opt > OPT_ADAM) FAIL("unknown optimizer code %d", opt);
    for (int q = 0; q < p->P; q++)
        if ((opt != OPT_SGD && !p->param[q].s1) || (opt == OPT_ADAM && !p->param[q].s2))
            FAIL("the optimizer's state was not given to the plan");
    p->train = 1;
    p->rows = sums ? p->rows_buf : NULL;
    p->opt = opt; p->lr = lr; p->l2 = l2; p->mu = mu; p->nesterov = nesterov;
    p->b1 = b1; p->c1 = 1 - b1; p->b2 = b2; p->c2 = 1 - b2; p->adam_t = (double)t; p->eps = eps;
    run_step(p, m, rows, sums);
    ret = Py_NewRef(Py_None);
done:
    return release_data(&x, &y, a, ret);
}

static PyObject *py_plan_score(PyObject *self, PyObject *args)
{
    PyObject *capsule, *ox, *oy, *osums;
    if (!PyArg_ParseTuple(args, "OOOO", &capsule, &ox, &oy, &osums)) return NULL;
    Plan *p = PyCapsule_GetPointer(capsule, "deltaprop.plan");
    if (!p) return NULL;
    Py_buffer x = {0}, y = {0};
    Arg a[2] = {0};
    PyObject *ret = NULL;
    if (PyObject_Length(ox) < 1) FAIL("X has no rows to score");
    const long long N = (long long)PyObject_Length(ox);
    if (take_rows(p, &x, &y, ox, oy, Py_None, &a[0], 0, N, N) < 0) goto done;
    double *sums = get_sums(osums, &a[1]);
    if (!sums) goto done;
    p->train = 0;
    p->rows = p->rows_buf;
    run_step(p, p->rows_max, N, sums);
    ret = Py_NewRef(Py_None);
done:
    return release_data(&x, &y, a, ret);
}

static PyMethodDef methods[] = {
    {"plan", py_plan, METH_VARARGS,
     "plan(layers, params, xb, yb, loss, gemm, ilp64, threads, set_threads, get_threads): the arrays of a batched\n"
     "step (see fast.Batched), kept for plan_step."},
    {"plan_step", py_plan_step, METH_VARARGS,
     "plan_step(plan, X, Y, idx, start, rows, m, sums, opt, lr, l2, mu, nesterov, b1, b2, t, eps): training steps\n"
     "of m rows each (the last may be shorter) on the rows idx (or start .. start + rows) of X and Y, each split\n"
     "between the plan's threads; sums += each step's [loss, right, squared errors]; Adam's first step is number t."},
    {"plan_score", py_plan_score, METH_VARARGS,
     "plan_score(plan, X, Y, sums): sums = [loss sum, rows right, sum of squared errors] over every row of X."},
    {"momentum", py_momentum, METH_VARARGS,
     "momentum(param, grad, velocity, lr, l2, mu, nesterov): one momentum or Nesterov step, in place (1-d views)."},
    {"adam", py_adam, METH_VARARGS,
     "adam(param, grad, m, s, l2, b1, 1 - b1, b2, 1 - b2, eta_t, eps_t): one Adam step, in place (1-d views)."},
    {"bias_act", py_bias_act, METH_VARARGS, "bias_act(z, b, a, act): z += b, a = f(z), in place (one pass)."},
    {"output_delta_rows", py_output_delta_rows, METH_VARARGS,
     "output_delta_rows(z, a, y, delta, db, act, loss, sums=None): the output delta of a batch, its column sums\n"
     "and its running sums."},
    {"act_backward", py_act_backward, METH_VARARGS,
     "act_backward(grad, z, a, db, act): grad *= f'(z) in place, db = its column sums."},
    {"sgd", py_sgd, METH_VARARGS, "sgd(param, grad, lr, l2): param -= lr * (grad + l2 * param), in place (1-d views)."},
    {"train", py_train, METH_VARARGS,
     "train(theta, spec, loss, X, Y, orders, batch, lrs, l2, Xv, Yv, g, Z, A, D, results, status,\n"
     "      running=False, best=None, best_score=None, monitor=0)\n"
     "Epochs of mini-batch SGD for K same-shape networks (see deltaprop.fast)."},
    {"train_side_by_side", py_train_side_by_side, METH_VARARGS,
     "train_side_by_side(th, spec, loss, X, Y, orders, lrs, l2, Xv, Yv, results, status, running=False)\n"
     "Per-sample SGD for K same-shape networks, the networks in the innermost loop."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "The compiled engine for small networks (see deltaprop.fast).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "BLOCK", KB) < 0) Py_CLEAR(m);
#ifndef _WIN32
    static int forked;
    if (m && !forked++) pthread_atfork(NULL, NULL, pool_after_fork);
#endif
    return m;
}
