/* The compiled engine's loops, written once for a floating-point type `real`; _kernels.c includes
 * this file twice, with real = double (suffix _d) and real = float (suffix _f).
 *
 * The same equations as deltaprop/layers.py and deltaprop/losses.py, one sample at a time and in
 * the same order of operations as the NumPy engine (see fast.py for the layout of the arguments):
 *
 *     z_j = sum_k w_jk a_k + b_j          a = f(z)
 *     delta^(L) = dC/dz (fused pair, or f'(z) * dC/da), divided by the batch size m
 *     dW_jk = sum_i delta_ij a_ik         db_j = sum_i delta_ij       (summed over the batch)
 *     grad_a_k = sum_j delta_j w_jk       delta^(l) = f'(z^(l)) * grad_a
 *     W <- W - eta (dW + l2 W)            b <- b - eta db
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)

/* ---- scalars: one activation, its derivative, log-sigmoid --------------------------------- */
static inline real FN(act_f)(i64 code, real z)
{
    switch (code) {
    case SIGMOID: {
        real e = EXP(-FABS(z));           /* as activations._sigmoid: exp never overflows */
        return z >= 0 ? (real)1 / ((real)1 + e) : e / ((real)1 + e);
    }
    case TANH: return TANH_V(z);
    case RELU: return z > 0 ? z : (real)0 * z;        /* 0 * z keeps a NaN a NaN, as np.maximum */
    case LEAKY_RELU: return z > 0 ? z : z * (real)0.01;
    default: return z;
    }
}

/* the sigmoid of activations._sigmoid with an exp that vectorizes (x <= 0 here) */
static inline real FN(sigmoid_v)(real z)
{
    real e = VEXP(-FABS(z)), d = (real)1 + e;
    return (z >= 0 ? (real)1 : e) / d;     /* one division for both branches, each as NumPy computes it */
}

static inline real FN(act_df)(i64 code, real z, real a)
{
    switch (code) {
    case SIGMOID: return a * ((real)1 - a);
    case TANH: return (real)1 - a * a;
    case RELU: return z > 0 ? (real)1 : (real)0;
    case LEAKY_RELU: return z > 0 ? (real)1 : (real)0.01;
    default: return (real)1;
    }
}

static inline double FN(log_sigmoid)(real z)
{
    real t = -z;  /* log sigmoid(z) = -logaddexp(0, -z), in NumPy's order of operations */
    if (t == 0) return -LOG((real)2);
    return t > 0 ? -(t + LOG1P(EXP(-t))) : -LOG1P(EXP(t));
}

/* ---- one sample: forward, backward --------------------------------------------------------- */
static inline void FN(forward)(const real *restrict p, const Layer *net, i64 L, const real *restrict x,
                               real *restrict Z, real *restrict A)
{
    for (i64 q = 0; q < net[0].n_in; q++) A[q] = x[q];
    for (i64 l = 0; l < L; l++) {
        const Layer s = net[l];
        const real *a_prev = A + s.a0, *W = p + s.w, *b = p + s.b;
        for (i64 j = 0; j < s.n_out; j++) {
            const real *row = W + j * s.n_in;
            real acc = 0;
            for (i64 q = 0; q < s.n_in; q++) acc += a_prev[q] * row[q];
            real z = acc + b[j];                               /* z_j = sum_k w_jk a_k + b_j */
            Z[s.u0 + j] = z;
            if (s.act != SOFTMAX) A[s.u0 + j] = FN(act_f)(s.act, z);
        }
        if (s.act == SOFTMAX) {                                /* shifted by the max, as activations._softmax */
            real top = Z[s.u0], total = 0;
            for (i64 j = 1; j < s.n_out; j++) top = Z[s.u0 + j] > top ? Z[s.u0 + j] : top;
            for (i64 j = 0; j < s.n_out; j++) { A[s.u0 + j] = EXP(Z[s.u0 + j] - top); total += A[s.u0 + j]; }
            for (i64 j = 0; j < s.n_out; j++) A[s.u0 + j] /= total;
        }
    }
}

/* delta of the output layer for one sample of a batch of m: D[u0 .. u0 + n) */
static inline void FN(output_delta)(const Layer *out, i64 loss, const real *restrict y, real m,
                                    const real *restrict Z, const real *restrict A, real *restrict D)
{
    const i64 n = out->n_out, act = out->act;
    const real *a = A + out->u0, *z = Z + out->u0;
    real *d = D + out->u0;
    if (act == SOFTMAX && loss == CROSS_ENTROPY) {             /* the fused pairs of losses.FUSED */
        real ysum = 0;
        for (i64 j = 0; j < n; j++) ysum += y[j];
        for (i64 j = 0; j < n; j++) d[j] = (a[j] * ysum - y[j]) / m;
    } else if (act == SIGMOID && loss == BINARY_CROSS_ENTROPY) {
        for (i64 j = 0; j < n; j++) d[j] = (a[j] - y[j]) / m;
    } else if (act == SIGMOID && loss == CROSS_ENTROPY) {
        for (i64 j = 0; j < n; j++) d[j] = ((a[j] - 1) * y[j]) / m;
    } else {
        for (i64 j = 0; j < n; j++) {                          /* dC/da, then the chain rule through f */
            if (loss == SQUARED_ERROR) d[j] = (a[j] - y[j]) / m;
            else if (loss == CROSS_ENTROPY) d[j] = (-y[j] / a[j]) / m;
            else d[j] = ((a[j] - y[j]) / (a[j] * ((real)1 - a[j]))) / m;
        }
        if (act == SOFTMAX) {                                   /* J^T g = a * (g - <g, a>) */
            real ga = 0;
            for (i64 j = 0; j < n; j++) ga += d[j] * a[j];
            for (i64 j = 0; j < n; j++) d[j] = a[j] * (d[j] - ga);
        } else {
            for (i64 j = 0; j < n; j++) d[j] = d[j] * FN(act_df)(act, z[j], a[j]);
        }
    }
}

/* case 2 of the lecture: delta^(l) = f'(z^(l)) * (delta^(l+1) W^(l+1)), the delta of the layer
 * below layer s (whose activation is `below`), from s's delta and its W before any step */
static inline void FN(delta_below)(const Layer *s, i64 below, const real *restrict W, const real *restrict Z,
                                   const real *restrict A, real *restrict D)
{
    const real *d = D + s->u0;
    for (i64 q = 0; q < s->n_in; q++) {
        real acc = 0;
        for (i64 j = 0; j < s->n_out; j++) acc += d[j] * W[j * s->n_in + q];
        D[s->a0 + q] = acc * FN(act_df)(below, Z[s->a0 + q], A[s->a0 + q]);
    }
}

/* Add one sample's dW, db to g, backpropagating its output delta through the layers. */
static inline void FN(backward)(const real *restrict p, const Layer *net, i64 L, const real *restrict Z,
                                const real *restrict A, real *restrict D, real *restrict g)
{
    for (i64 l = L - 1; l >= 0; l--) {
        const Layer s = net[l];
        const real *d = D + s.u0, *a_prev = A + s.a0, *W = p + s.w;
        real *gW = g + s.w, *gb = g + s.b;
        for (i64 j = 0; j < s.n_out; j++) gb[j] += d[j];                  /* db = delta */
        for (i64 j = 0; j < s.n_out; j++) {
            real dj = d[j], *row = gW + j * s.n_in;
            for (i64 q = 0; q < s.n_in; q++) row[q] += dj * a_prev[q];    /* dW = delta a_prev^T */
        }
        if (l > 0) FN(delta_below)(&s, net[l - 1].act, W, Z, A, D);
    }
}

/* Batch of one: backpropagate and take the SGD step layer by layer, from the output down. Each
 * layer's delta for the layer below is taken before its own W moves, so this is backward() then
 * update() with g = delta a_prev^T, without g: the same numbers in fewer passes over memory. */
static inline void FN(backward_update)(real *restrict p, const Layer *net, i64 L, const real *restrict Z,
                                       const real *restrict A, real *restrict D, real lr, real l2)
{
    for (i64 l = L - 1; l >= 0; l--) {
        const Layer s = net[l];
        const real *d = D + s.u0, *a_prev = A + s.a0;
        real *W = p + s.w, *b = p + s.b;
        if (l > 0) FN(delta_below)(&s, net[l - 1].act, W, Z, A, D);
        if (!(s.frozen & 1)) {
            for (i64 j = 0; j < s.n_out; j++) {
                real dj = d[j], *row = W + j * s.n_in;
                if (l2 != 0) for (i64 q = 0; q < s.n_in; q++) row[q] -= lr * (dj * a_prev[q] + l2 * row[q]);
                else for (i64 q = 0; q < s.n_in; q++) row[q] -= lr * (dj * a_prev[q]);   /* W -= eta dW */
            }
        }
        if (!(s.frozen & 2)) {
            for (i64 j = 0; j < s.n_out; j++) b[j] -= lr * d[j];                      /* b -= eta db */
        }
    }
}

/* SGD: W <- W - eta (dW + l2 W), b <- b - eta db; frozen parameters stay. */
static inline void FN(update)(real *restrict p, const Layer *net, i64 L, const real *restrict g, real lr, real l2)
{
    for (i64 l = 0; l < L; l++) {
        const Layer s = net[l];
        if (!(s.frozen & 1)) {
            for (i64 r = s.w; r < s.w + s.n_in * s.n_out; r++)
                p[r] -= lr * (l2 != 0 ? g[r] + l2 * p[r] : g[r]);
        }
        if (!(s.frozen & 2)) {
            for (i64 r = s.b; r < s.b + s.n_out; r++) p[r] -= lr * g[r];
        }
    }
}

/* 0 while every |w| < DIVERGED (NaN counts as exploded); else the 1-based layer number. Parameter r
 * is p[r * stride]: stride 1 for one network's vector, KB for a lane of a side-by-side block. */
static i64 FN(exploded)(const real *p, i64 stride, const Layer *net, i64 L)
{
    for (i64 l = 0; l < L; l++)
        for (i64 r = net[l].w; r < net[l].w + net[l].n_in * net[l].n_out; r++)
            if (!(FABS(p[r * stride]) < DIVERGED)) return l + 1;
    return 0;
}

/* sum ||W||^2 over the layers (the L2 term of the logged loss); parameter r is p[r * stride] */
static double FN(squared_weights)(const real *p, i64 stride, const Layer *net, i64 L)
{
    double total = 0;
    for (i64 l = 0; l < L; l++)
        for (i64 r = net[l].w; r < net[l].w + net[l].n_in * net[l].n_out; r++)
            total += (double)p[r * stride] * p[r * stride];
    return total;
}

/* One sample's [loss, right (0 or 1), squared error], its output row already computed. */
static inline void FN(sample_sums)(const Layer *out, i64 loss, const real *restrict y, const real *restrict Z,
                                   const real *restrict A, double *sums)
{
    const i64 n = out->n_out;
    const real *a = A + out->u0, *z = Z + out->u0;
    double c = 0, e2 = 0;
    for (i64 j = 0; j < n; j++) e2 += ((double)a[j] - y[j]) * ((double)a[j] - y[j]);
    if (loss == SQUARED_ERROR) {
        c = 0.5 * e2;
    } else if (out->act == SOFTMAX) {        /* log a = (z - max z) - log sum exp(z - max z), as log_softmax */
        real top = z[0], se = 0;
        for (i64 j = 1; j < n; j++) top = z[j] > top ? z[j] : top;
        for (i64 j = 0; j < n; j++) se += EXP(z[j] - top);
        real lse = LOG(se);
        for (i64 j = 0; j < n; j++) {
            c -= y[j] * (double)((z[j] - top) - lse);
            if (loss == BINARY_CROSS_ENTROPY) c -= (1 - y[j]) * (double)LOG1P(-a[j]);
        }
    } else {
        for (i64 j = 0; j < n; j++) {
            c -= y[j] * FN(log_sigmoid)(z[j]);
            if (loss == BINARY_CROSS_ENTROPY) c -= (1 - y[j]) * FN(log_sigmoid)(-z[j]);
        }
    }
    i64 right;
    if (n == 1) {
        right = (a[0] >= 0.5) == (y[0] >= 0.5);
    } else {                                 /* argmax, the first index winning ties as numpy.argmax */
        i64 ba = 0, by = 0;
        for (i64 j = 1; j < n; j++) { if (a[j] > a[ba]) ba = j; if (y[j] > y[by]) by = j; }
        right = ba == by;
    }
    sums[0] += c; sums[1] += (double)right; sums[2] += e2;
}

/* out = [sum of per-sample losses, number classified right, sum of squared errors] over the rows
 * (below, with the side-by-side helpers: it takes the rows eight at a time) */
VECTOR_CLONES static void FN(evaluate)(const real *p, const Layer *net, i64 L, i64 loss, const real *X,
                                       const real *Y, i64 m, i64 n0, i64 nL, real *scratch, i64 width, double *out);

/* Epochs of mini-batch SGD for K networks of one shape, each evaluated after every epoch (see fast.train). */
static void FN(train)(real *theta, const Layer *net, i64 L, i64 P, i64 loss,
                      const real *X, const real *Y, i64 m, i64 n0, i64 nL, const i64 *orders, i64 E, i64 K,
                      i64 batch, const double *lrs, double l2, const real *Xv, const real *Yv, i64 mv,
                      real *g, real *Z, real *A, real *D, i64 width, double *results, i64 *status, int running,
                      real *best, double *best_score, i64 monitor, real *rows)
{
    const Layer *out = &net[L - 1];
    for (i64 e = 0; e < E; e++) {
        for (i64 k = 0; k < K; k++) {
            if (status[k]) continue;
            real *p = theta + k * P;
            const real *x = X + k * m * n0, *y = Y + k * m * nL;
            const i64 *order = orders + (k * E + e) * m;
            double *res = results + (k * E + e) * 7;
            const real lr = (real)lrs[k * E + e], l2r = (real)l2;
            i64 bad = 0, step = 0;
            if (running) res[0] = res[1] = res[2] = 0;
            for (i64 start = 0; start < m; start += batch) {
                const i64 n = batch < m - start ? batch : m - start;
                if (n == 1) {                                       /* per-sample SGD, the seed's way */
                    const i64 row = order[start];
                    FN(forward)(p, net, L, x + row * n0, Z, A);
                    if (running) FN(sample_sums)(out, loss, y + row * nL, Z, A, res);
                    FN(output_delta)(out, loss, y + row * nL, (real)1, Z, A, D);
                    FN(backward_update)(p, net, L, Z, A, D, lr, l2r);
                    if (step % 64 == 63 && (bad = FN(exploded)(p, 1, net, L))) break;
                    step++;
                    continue;
                }
                for (i64 r = 0; r < P; r++) g[r] = 0;
                for (i64 i = 0; i < n; i++) {
                    const i64 row = order[start + i];
                    real *z = Z + i * width, *a = A + i * width, *d = D + i * width;
                    FN(forward)(p, net, L, x + row * n0, z, a);
                    if (running) FN(sample_sums)(out, loss, y + row * nL, z, a, res);  /* before the step */
                    FN(output_delta)(out, loss, y + row * nL, (real)n, z, a, d);
                    FN(backward)(p, net, L, z, a, d, g);
                }
                FN(update)(p, net, L, g, lr, l2r);
                if (step % 64 == 63 && (bad = FN(exploded)(p, 1, net, L))) break;  /* as training._run_epoch */
                step++;
            }
            if (!bad) bad = FN(exploded)(p, 1, net, L);
            if (bad) { status[k] = (e + 1) * 1000 + bad; continue; }
            if (!running) FN(evaluate)(p, net, L, loss, x, y, m, n0, nL, rows, width, res);
            if (mv) FN(evaluate)(p, net, L, loss, Xv + k * mv * n0, Yv + k * mv * nL, mv, n0, nL, rows, width, res + 3);
            res[6] = FN(squared_weights)(p, 1, net, L);
            /* the logged loss, as training._logs_from_sums: a non-finite one stops this network */
            double penalty = l2 != 0 ? 0.5 * l2 * res[6] : 0.0;
            if (!isfinite(res[0] / (double)m + penalty)) { status[k] = (e + 1) * 1000; continue; }
            if (best) {                     /* keep the weights of the best epoch so far (monitor: loss or val_loss) */
                double score = res[monitor] / (double)(monitor ? mv : m) + penalty;
                if (score < best_score[k]) {
                    best_score[k] = score;
                    for (i64 r = 0; r < P; r++) best[k * P + r] = p[r];
                }
            }
        }
    }
}

/* ---- the elementwise passes of a batched step (the matrix products stay in BLAS) -------------
 * For networks large enough that BLAS does the arithmetic, NumPy's cost is its elementwise
 * passes: z + b, then f(z), then the delta, each a separate sweep with a temporary. These do
 * each in one sweep, in place, the same operations in the same order per element. */

/* z += b, a = f(z), row by row (m rows of n units, rows ld apart); softmax over each (whole) row.
 * bias_act calls it with the activation's code a constant where it can, so that each copy of the
 * loop vectorizes (a switch inside the loop would keep it one number at a time) */
static ALWAYS_INLINE void FN(bias_act_rows)(real *restrict Z, const real *restrict b, real *restrict A, i64 m, i64 n,
                                            i64 ld, i64 act)
{
    for (i64 i = 0; i < m; i++) {
        real *z = Z + i * ld, *a = A + i * ld;
        for (i64 j = 0; j < n; j++) z[j] = z[j] + b[j];
        if (act == SOFTMAX) {
            real top = z[0], total = 0;
            for (i64 j = 1; j < n; j++) top = z[j] > top ? z[j] : top;
            for (i64 j = 0; j < n; j++) { a[j] = EXP(z[j] - top); total += a[j]; }
            for (i64 j = 0; j < n; j++) a[j] /= total;
        } else if (act == SIGMOID) {
            for (i64 j = 0; j < n; j++) a[j] = FN(sigmoid_v)(z[j]);
        } else {
            for (i64 j = 0; j < n; j++) a[j] = FN(act_f)(act, z[j]);
        }
    }
}

VECTOR_CLONES static void FN(bias_act)(real *restrict Z, const real *restrict b, real *restrict A, i64 m, i64 n, i64 ld,
                                       i64 act)
{
    switch (act) {
    case RELU: FN(bias_act_rows)(Z, b, A, m, n, ld, RELU); break;
    case LEAKY_RELU: FN(bias_act_rows)(Z, b, A, m, n, ld, LEAKY_RELU); break;
    case IDENTITY: FN(bias_act_rows)(Z, b, A, m, n, ld, IDENTITY); break;
    case TANH: FN(bias_act_rows)(Z, b, A, m, n, ld, TANH); break;
    default: FN(bias_act_rows)(Z, b, A, m, n, ld, act);   /* sigmoid, softmax */
    }
}

/* db = delta.sum(0): the column sums of the m rows of n (ld apart), added row after row as NumPy does */
static inline void FN(column_sums)(const real *restrict D, i64 m, i64 n, i64 ld, real *restrict db)
{
    for (i64 j = 0; j < n; j++) db[j] = 0;
    for (i64 i = 0; i < m; i++)
        for (i64 j = 0; j < n; j++) db[j] += D[i * ld + j];
}

/* D = the output delta of each row of a batch of m (as output_delta), db its column sums; sums +=
 * [loss, right, squared error] of the rows as they are, before the step (running metrics), when sums */
static void FN(output_delta_rows)(const real *Z, const real *A, const real *Y, real *D, real *db, i64 m, i64 n,
                                  i64 act, i64 loss, double *sums)
{
    Layer out = {0, n, 0, 0, act, 0, 0, 0};
    for (i64 i = 0; i < m; i++) {
        if (sums) FN(sample_sums)(&out, loss, Y + i * n, Z + i * n, A + i * n, sums);
        FN(output_delta)(&out, loss, Y + i * n, (real)m, Z + i * n, A + i * n, D + i * n);
    }
    FN(column_sums)(D, m, n, n, db);
}

/* G *= f'(z) elementwise: delta^(l) = f'(z^(l)) * (delta^(l+1) W^(l+1)), in place, over m rows of
 * n (ld apart), the activation's code a constant in each copy of the loop, as bias_act */
static ALWAYS_INLINE void FN(act_backward_rows)(real *restrict G, const real *restrict Z, const real *restrict A,
                                                i64 m, i64 n, i64 ld, i64 act)
{
    for (i64 i = 0; i < m; i++) {
        real *g = G + i * ld;
        const real *z = Z + i * ld, *a = A + i * ld;
        for (i64 j = 0; j < n; j++) g[j] = g[j] * FN(act_df)(act, z[j], a[j]);
    }
}

/* act_backward_rows; db the column sums of G, if given */
VECTOR_CLONES static void FN(act_backward)(real *restrict G, const real *restrict Z, const real *restrict A,
                                           real *restrict db, i64 m, i64 n, i64 ld, i64 act)
{
    switch (act) {
    case RELU: FN(act_backward_rows)(G, Z, A, m, n, ld, RELU); break;
    case LEAKY_RELU: FN(act_backward_rows)(G, Z, A, m, n, ld, LEAKY_RELU); break;
    case SIGMOID: FN(act_backward_rows)(G, Z, A, m, n, ld, SIGMOID); break;
    case TANH: FN(act_backward_rows)(G, Z, A, m, n, ld, TANH); break;
    default: FN(act_backward_rows)(G, Z, A, m, n, ld, IDENTITY);
    }
    if (db) FN(column_sums)(G, m, n, ld, db);
}

/* SGD: p <- p - eta (g + l2 p), in place (l2 = 0: p <- p - eta g) */
VECTOR_CLONES static void FN(sgd)(real *restrict P, const real *restrict G, i64 count, real lr, real l2)
{
    if (l2 != 0)
        for (i64 r = 0; r < count; r++) P[r] -= lr * (G[r] + l2 * P[r]);
    else
        for (i64 r = 0; r < count; r++) P[r] -= lr * G[r];
}

/* Momentum: v <- mu v - eta g; w <- w + v. Nesterov: the same v; w <- w + (mu v - eta g).
 * g = grad + l2 w (l2 = 0: g = grad), as the NumPy engine adds l2 W to dW before the optimizer. */
VECTOR_CLONES static void FN(momentum)(real *restrict P, const real *restrict G, real *restrict V, i64 count, real lr,
                                       real l2, real mu, int nesterov)
{
    for (i64 r = 0; r < count; r++) {
        const real g = l2 != 0 ? G[r] + l2 * P[r] : G[r];
        V[r] = V[r] * mu;
        V[r] = V[r] - lr * g;
        P[r] = P[r] + (nesterov ? mu * V[r] - lr * g : V[r]);
    }
}

/* Adam: m <- b1 m + (1 - b1) g; s <- b2 s + (1 - b2) g^2; w <- w - eta_t m / (sqrt(s) + eps_t),
 * the bias corrections folded into eta_t and eps_t (optimizers.Adam); c1 = 1 - b1, c2 = 1 - b2. */
VECTOR_CLONES static void FN(adam)(real *restrict P, const real *restrict G, real *restrict M, real *restrict S,
                                   i64 count, real l2, real b1, real c1, real b2, real c2, real eta_t, real eps_t)
{
    for (i64 r = 0; r < count; r++) {
        const real g = l2 != 0 ? G[r] + l2 * P[r] : G[r];
        M[r] = M[r] * b1;
        M[r] = M[r] + c1 * g;
        S[r] = S[r] * b2;
        S[r] = S[r] + c2 * g * g;
        P[r] = P[r] - eta_t * M[r] / (SQRT(S[r]) + eps_t);
    }
}

/* ---- K networks side by side: per-sample SGD with the networks in the innermost loop ---------
 * The networks are taken KB at a time (a block: one AVX-512 vector of doubles); every scalar of the
 * kernel above becomes a vector of KB lanes: tb (P, KB), Z, A, D (width, KB), one network a lane.
 * The loops over the lanes have a fixed length, so the compiler keeps them in vector registers; each
 * network still sees exactly its own sequence of operations. lane[kk] is the network of lane kk;
 * when K is not a multiple of KB the last lanes repeat the block's last network, and only the first
 * kn lanes' results are kept. */
/* forward of KB lanes at once: lane k's parameter r is params[r * ws + k * ls], so (ws, ls) =
 * (KB, 1) runs KB networks (one a lane, tb) and (1, 0) runs KB rows through one network (p);
 * each unit of each lane adds its terms in the order of forward() */
static ALWAYS_INLINE void FN(forward_lanes)(const real *restrict params, i64 ws, i64 ls, const Layer *net, i64 L,
                                            real *restrict Z, real *restrict A)
{
    for (i64 l = 0; l < L; l++) {
        const Layer s = net[l];
        for (i64 j = 0; j < s.n_out; j++) {
            real acc[KB], *z = Z + (s.u0 + j) * KB, *a = A + (s.u0 + j) * KB;
            const real *b = params + (s.b + j) * ws;
            for (int k = 0; k < KB; k++) acc[k] = 0;
            for (i64 q = 0; q < s.n_in; q++) {
                const real *a_prev = A + (s.a0 + q) * KB, *w = params + (s.w + j * s.n_in + q) * ws;
                for (int k = 0; k < KB; k++) acc[k] += a_prev[k] * w[k * ls];      /* z_j = sum_k w_jk a_k ... */
            }
            for (int k = 0; k < KB; k++) z[k] = acc[k] + b[k * ls];                 /* ... + b_j */
            if (s.act == SIGMOID)
                for (int k = 0; k < KB; k++) a[k] = FN(sigmoid_v)(z[k]);
            else if (s.act != SOFTMAX)
                for (int k = 0; k < KB; k++) a[k] = FN(act_f)(s.act, z[k]);
        }
        if (s.act == SOFTMAX) {                  /* shifted by each lane's max, as activations._softmax */
            real top[KB], total[KB];
            for (int k = 0; k < KB; k++) { top[k] = Z[s.u0 * KB + k]; total[k] = 0; }
            for (i64 j = 1; j < s.n_out; j++)
                for (int k = 0; k < KB; k++) top[k] = Z[(s.u0 + j) * KB + k] > top[k] ? Z[(s.u0 + j) * KB + k] : top[k];
            for (i64 j = 0; j < s.n_out; j++)
                for (int k = 0; k < KB; k++) {
                    A[(s.u0 + j) * KB + k] = VEXP(Z[(s.u0 + j) * KB + k] - top[k]);
                    total[k] += A[(s.u0 + j) * KB + k];
                }
            for (i64 j = 0; j < s.n_out; j++)
                for (int k = 0; k < KB; k++) A[(s.u0 + j) * KB + k] /= total[k];
        }
    }
}

static ALWAYS_INLINE void FN(backward_update_k)(real *restrict tb, const Layer *net, i64 L, const real *restrict Z,
                                                const real *restrict A, real *restrict D, const real *lr, real l2)
{
    for (i64 l = L - 1; l >= 0; l--) {
        const Layer s = net[l];
        if (l > 0) {               /* delta^(l-1) = f'(z) * (delta^(l) W^(l)), with W^(l) before its step */
            const i64 below = net[l - 1].act;
            for (i64 q = 0; q < s.n_in; q++) {
                real acc[KB];
                for (int k = 0; k < KB; k++) acc[k] = 0;
                for (i64 j = 0; j < s.n_out; j++) {
                    const real *dj = D + (s.u0 + j) * KB, *w = tb + (s.w + j * s.n_in + q) * KB;
                    for (int k = 0; k < KB; k++) acc[k] += dj[k] * w[k];
                }
                const real *z = Z + (s.a0 + q) * KB, *a = A + (s.a0 + q) * KB;
                real *dq = D + (s.a0 + q) * KB;
                for (int k = 0; k < KB; k++) dq[k] = acc[k] * FN(act_df)(below, z[k], a[k]);
            }
        }
        if (!(s.frozen & 1)) {
            for (i64 j = 0; j < s.n_out; j++) {
                const real *dj = D + (s.u0 + j) * KB;
                for (i64 q = 0; q < s.n_in; q++) {
                    const real *a_prev = A + (s.a0 + q) * KB;
                    real *w = tb + (s.w + j * s.n_in + q) * KB;
                    for (int k = 0; k < KB; k++) {
                        real grad = dj[k] * a_prev[k];                        /* dW = delta a_prev^T */
                        if (l2 != 0) grad = grad + l2 * w[k];
                        w[k] -= lr[k] * grad;
                    }
                }
            }
        }
        if (!(s.frozen & 2)) {
            for (i64 j = 0; j < s.n_out; j++) {
                const real *dj = D + (s.u0 + j) * KB;
                real *b = tb + (s.b + j) * KB;
                for (int k = 0; k < KB; k++) b[k] -= lr[k] * dj[k];
            }
        }
    }
}

/* status[lane[k]] = e * 1000 + l for each network of the block whose layer l blew up in epoch e */
static ALWAYS_INLINE void FN(mark_exploded)(const real *tb, const Layer *net, i64 L, const i64 *lane, int kn,
                                            i64 *status, i64 e)
{
    for (int k = 0; k < kn; k++)
        if (!status[lane[k]]) {
            i64 bad = FN(exploded)(tb + k, KB, net, L);
            if (bad) status[lane[k]] = (e + 1) * 1000 + bad;
        }
}

/* the output deltas of the KB lanes (batch of one, elementwise output layer), as output_delta */
static ALWAYS_INLINE void FN(output_delta_k)(const Layer *out, i64 loss, const real *restrict Yb, const real *restrict Z,
                                             const real *restrict A, real *restrict D)
{
    for (i64 j = 0; j < out->n_out; j++) {
        const real *a = A + (out->u0 + j) * KB, *z = Z + (out->u0 + j) * KB, *y = Yb + j * KB;
        real *d = D + (out->u0 + j) * KB;
        if (out->act == SIGMOID && loss == BINARY_CROSS_ENTROPY)
            for (int k = 0; k < KB; k++) d[k] = (a[k] - y[k]) / (real)1;
        else if (out->act == SIGMOID && loss == CROSS_ENTROPY)
            for (int k = 0; k < KB; k++) d[k] = ((a[k] - 1) * y[k]) / (real)1;
        else if (loss == SQUARED_ERROR)
            for (int k = 0; k < KB; k++) d[k] = ((a[k] - y[k]) / (real)1) * FN(act_df)(out->act, z[k], a[k]);
        else if (loss == CROSS_ENTROPY)
            for (int k = 0; k < KB; k++) d[k] = ((-y[k] / a[k]) / (real)1) * FN(act_df)(out->act, z[k], a[k]);
        else
            for (int k = 0; k < KB; k++)
                d[k] = (((a[k] - y[k]) / (a[k] * ((real)1 - a[k]))) / (real)1) * FN(act_df)(out->act, z[k], a[k]);
    }
}

/* sums[.][k] += [loss, right, squared error] of each lane's sample, as sample_sums (elementwise output) */
static ALWAYS_INLINE void FN(sample_sums_k)(const Layer *out, i64 loss, const real *restrict Yb, const real *restrict Z,
                                            const real *restrict A, double sums[3][KB])
{
    const i64 n = out->n_out;
    double e2[KB], c[KB];
    real top_a[KB], top_y[KB];
    int best_a[KB], best_y[KB];
    for (int k = 0; k < KB; k++) {
        e2[k] = c[k] = 0;
        best_a[k] = best_y[k] = 0;
        top_a[k] = A[out->u0 * KB + k];
        top_y[k] = Yb[k];
    }
    for (i64 j = 0; j < n; j++) {
        const real *a = A + (out->u0 + j) * KB, *z = Z + (out->u0 + j) * KB, *y = Yb + j * KB;
        for (int k = 0; k < KB; k++) e2[k] += ((double)a[k] - y[k]) * ((double)a[k] - y[k]);
        if (loss != SQUARED_ERROR && out->act != SOFTMAX)
            for (int k = 0; k < KB; k++) {
                c[k] -= y[k] * FN(log_sigmoid)(z[k]);
                if (loss == BINARY_CROSS_ENTROPY) c[k] -= (1 - y[k]) * FN(log_sigmoid)(-z[k]);
            }
        for (int k = 0; k < KB; k++) {      /* argmax, the first index winning ties as numpy.argmax */
            if (a[k] > top_a[k]) { top_a[k] = a[k]; best_a[k] = (int)j; }
            if (y[k] > top_y[k]) { top_y[k] = y[k]; best_y[k] = (int)j; }
        }
    }
    if (loss != SQUARED_ERROR && out->act == SOFTMAX)
        for (int k = 0; k < KB; k++) {     /* log a = (z - max z) - log sum exp(z - max z), as sample_sums */
            real top = Z[out->u0 * KB + k], se = 0;
            for (i64 j = 1; j < n; j++) top = Z[(out->u0 + j) * KB + k] > top ? Z[(out->u0 + j) * KB + k] : top;
            for (i64 j = 0; j < n; j++) se += EXP(Z[(out->u0 + j) * KB + k] - top);
            const real lse = LOG(se);
            for (i64 j = 0; j < n; j++) {
                const real y = Yb[j * KB + k];
                c[k] -= y * (double)((Z[(out->u0 + j) * KB + k] - top) - lse);
                if (loss == BINARY_CROSS_ENTROPY) c[k] -= (1 - y) * (double)LOG1P(-A[(out->u0 + j) * KB + k]);
            }
        }
    for (int k = 0; k < KB; k++) {
        const real a0 = A[out->u0 * KB + k], y0 = Yb[k];
        sums[0][k] += loss == SQUARED_ERROR ? 0.5 * e2[k] : c[k];
        sums[1][k] += n == 1 ? (double)((a0 >= 0.5) == (y0 >= 0.5)) : (double)(best_a[k] == best_y[k]);
        sums[2][k] += e2[k];
    }
}

/* lane k's output row (z, a) into zk, ak, as the one-network functions read it */
static ALWAYS_INLINE void FN(gather_out)(const Layer *out, const real *Z, const real *A, int k, real *zk, real *ak)
{
    for (i64 j = 0; j < out->n_out; j++) {
        zk[out->u0 + j] = Z[(out->u0 + j) * KB + k];
        ak[out->u0 + j] = A[(out->u0 + j) * KB + k];
    }
}

VECTOR_CLONES static void FN(evaluate)(const real *p, const Layer *net, i64 L, i64 loss, const real *X,
                                       const real *Y, i64 m, i64 n0, i64 nL, real *scratch, i64 width, double *out)
{
    real *Z = scratch, *A = Z + width * KB, *Yb = A + width * KB;
    double sums[3][KB];
    out[0] = out[1] = out[2] = 0;
    for (i64 r0 = 0; r0 < m; r0 += KB) {
        const int kn = m - r0 < KB ? (int)(m - r0) : KB;
        for (int k = 0; k < KB; k++) {          /* row r0 + k in lane k (the last row again in spare lanes) */
            const i64 r = r0 + (k < kn ? k : kn - 1);
            for (i64 q = 0; q < n0; q++) A[q * KB + k] = X[r * n0 + q];
            for (i64 j = 0; j < nL; j++) Yb[j * KB + k] = Y[r * nL + j];
            sums[0][k] = sums[1][k] = sums[2][k] = 0;
        }
        FN(forward_lanes)(p, 1, 0, net, L, Z, A);
        FN(sample_sums_k)(&net[L - 1], loss, Yb, Z, A, sums);
        for (int k = 0; k < kn; k++)            /* row by row, in order, as one row at a time would */
            for (int i = 0; i < 3; i++) out[i] += sums[i][k];
    }
}

/* [loss sum, right, squared errors] of each lane's network on its rows X[lane[k]], as evaluate */
static ALWAYS_INLINE void FN(evaluate_k)(const real *tb, const Layer *net, i64 L, i64 loss, const real *X,
                                         const real *Y, i64 m, i64 n0, i64 nL, real *Z, real *A, real *Yb,
                                         double sums[3][KB], const i64 *lane)
{
    for (int k = 0; k < KB; k++) sums[0][k] = sums[1][k] = sums[2][k] = 0;
    for (i64 r = 0; r < m; r++) {
        for (int k = 0; k < KB; k++) {
            for (i64 q = 0; q < n0; q++) A[q * KB + k] = X[(lane[k] * m + r) * n0 + q];
            for (i64 j = 0; j < nL; j++) Yb[j * KB + k] = Y[(lane[k] * m + r) * nL + j];
        }
        FN(forward_lanes)(tb, KB, 1, net, L, Z, A);
        FN(sample_sums_k)(&net[L - 1], loss, Yb, Z, A, sums);
    }
}

static ALWAYS_INLINE void FN(store_sums)(double sums[3][KB], double *results, i64 E, i64 e, i64 offset,
                                         const i64 *lane, int kn)
{
    for (int k = 0; k < kn; k++)
        for (int i = 0; i < 3; i++) results[(lane[k] * E + e) * 7 + offset + i] = sums[i][k];
}

/* train() for batch size 1 and an elementwise output layer, the K networks side by side, KB at a
 * time; scratch holds (P + 3 width + n_out) KB entries. */
VECTOR_CLONES static void FN(train_k)(real *th, const Layer *net, i64 L, i64 P, i64 loss, const real *X,
                                      const real *Y, i64 m, i64 n0, i64 nL, const i64 *orders, i64 E, i64 K,
                                      const double *lrs, double l2, const real *Xv, const real *Yv, i64 mv,
                                      i64 width, double *results, i64 *status, real *scratch, int running)
{
    const Layer *out = &net[L - 1];
    real *tb = scratch, *Z = tb + P * KB, *A = Z + width * KB, *D = A + width * KB, *Yb = D + width * KB, lr[KB];
    double sums[3][KB];
    for (i64 k0 = 0; k0 < K; k0 += KB) {
        const int kn = K - k0 < KB ? (int)(K - k0) : KB;
        i64 lane[KB];
        for (int k = 0; k < KB; k++) lane[k] = k0 + (k < kn ? k : kn - 1);
        for (i64 r = 0; r < P; r++)
            for (int k = 0; k < KB; k++) tb[r * KB + k] = th[r * K + lane[k]];
        for (i64 e = 0; e < E; e++) {
            for (int k = 0; k < KB; k++) lr[k] = (real)lrs[lane[k] * E + e];
            for (int k = 0; k < KB; k++) sums[0][k] = sums[1][k] = sums[2][k] = 0;
            for (i64 i = 0; i < m; i++) {
                for (int k = 0; k < KB; k++) {    /* each lane's sample: its row and target */
                    const i64 row = orders[(lane[k] * E + e) * m + i];
                    for (i64 q = 0; q < n0; q++) A[q * KB + k] = X[(lane[k] * m + row) * n0 + q];
                    for (i64 j = 0; j < nL; j++) Yb[j * KB + k] = Y[(lane[k] * m + row) * nL + j];
                }
                FN(forward_lanes)(tb, KB, 1, net, L, Z, A);
                if (running) FN(sample_sums_k)(out, loss, Yb, Z, A, sums);
                FN(output_delta_k)(out, loss, Yb, Z, A, D);
                FN(backward_update_k)(tb, net, L, Z, A, D, lr, (real)l2);
                if (i % 64 == 63) FN(mark_exploded)(tb, net, L, lane, kn, status, e);  /* as training._run_epoch */
            }
            FN(mark_exploded)(tb, net, L, lane, kn, status, e);
            if (!running) FN(evaluate_k)(tb, net, L, loss, X, Y, m, n0, nL, Z, A, Yb, sums, lane);
            FN(store_sums)(sums, results, E, e, 0, lane, kn);
            if (mv) {
                FN(evaluate_k)(tb, net, L, loss, Xv, Yv, mv, n0, nL, Z, A, Yb, sums, lane);
                FN(store_sums)(sums, results, E, e, 3, lane, kn);
            }
            for (int k = 0; k < kn; k++) results[(lane[k] * E + e) * 7 + 6] = FN(squared_weights)(tb + k, KB, net, L);
        }
        for (i64 r = 0; r < P; r++)
            for (int k = 0; k < kn; k++) th[r * K + k0 + k] = tb[r * KB + k];
    }
}

/* ---- a whole batched step, the matrix products in BLAS, split between T threads -------------
 * Thread t of T runs step_part(plan, t); the plan (see _kernels.c) holds the layers' arrays and this
 * step's batch. Each matrix product is split into T parts that BLAS runs on one thread each: a part
 * of the batch's rows, or a part of a layer's units (a block of columns of z, of delta, of the rows
 * of dW), so that every part is a full-height product; barriers separate what one thread writes
 * from what another reads. The equations and their order per element are Batched's. */
typedef void (*FN(gemm64))(int, int, int, i64, i64, i64, real, const real *, i64, const real *, i64, real, real *, i64);
typedef void (*FN(gemm32))(int, int, int, int, int, int, real, const real *, int, const real *, int, real, real *, int);

/* C (M x N, ldc) = alpha op(A) op(B) + beta C, row-major, op = transpose where ta / tb */
static void FN(gemm)(const Plan *p, int ta, int tb, i64 M, i64 N, i64 K, real alpha, const real *A, i64 lda,
                     const real *B, i64 ldb, real beta, real *C, i64 ldc)
{
    if (M <= 0 || N <= 0) return;
    if (p->ilp64)
        ((FN(gemm64))p->gemm)(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, M, N, K, alpha, A, lda, B, ldb,
                              beta, C, ldc);
    else
        ((FN(gemm32))p->gemm)(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, (int)M, (int)N, (int)K, alpha,
                              A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* Plain SGD updates a trained W inside its own dW product (BLAS's C = alpha AB + beta C with alpha = -eta,
 * beta = 1 - eta l2): no dW is zeroed by BLAS, written, then read back by the update. The first layer's
 * runs in its turn (no thread reads that W after it); a layer above waits for the next barrier, after
 * which no thread reads its W for the delta below. */
static inline int FN(sgd_in_product)(const Plan *p, int l)
{
    return p->opt == OPT_SGD && p->layer[l].wq >= 0;
}

/* thread t's rows c0..c1 of layer l's dW = delta^T a_prev (units c0..c1), or its SGD step on those rows of W */
static void FN(weight_gradient)(const Plan *p, int l, int t, const real *x0)
{
    const PLayer *y = &p->layer[l];
    const real *a = l ? (const real *)p->layer[l - 1].A : x0, *D = y->D;
    const i64 ni = y->n_in, no = y->n_out, m = p->m;
    i64 c0, c1;
    split(no, p->T, t, &c0, &c1);
    const int fused = FN(sgd_in_product)(p, l);
    const real alpha = fused ? -(real)p->lr : 1, beta = fused ? 1 - (real)p->lr * (real)p->l2 : 0;
    real *C = fused ? (real *)y->W : (real *)y->dW;
    if (y->wt) FN(gemm)(p, 1, 0, ni, c1 - c0, m, alpha, a, ni, D + c0, no, beta, C + c0, no);
    else FN(gemm)(p, 1, 0, c1 - c0, ni, m, alpha, D + c0, no, a, ni, beta, C + c0 * ni, ni);
}

static void FN(step_part)(Plan *p, int t)
{
    const int T = p->T;
    const i64 m = p->m, n0 = p->layer[0].n_in, nL = p->layer[p->L - 1].n_out;
    int sense = 0;
    i64 r0, r1, c0, c1;
    split(m, T, t, &r0, &r1);
    /* the batch's rows of X (gathered by row number, or the rows start .. start + m in place) */
    const real *x0 = (const real *)(p->X + p->start * p->xs0);
    if (p->gather) {
        for (i64 i = r0; i < r1; i++) {
            const char *src = p->X + (p->idx ? p->idx[i] : p->start + i) * p->xs0;
            real *dst = (real *)p->Xb + i * n0;
            if (p->xs1 == (i64)sizeof(real)) memcpy(dst, src, (size_t)n0 * sizeof(real));
            else for (i64 q = 0; q < n0; q++) dst[q] = *(const real *)(src + q * p->xs1);
        }
        x0 = p->Xb;
    }
    int rows_written = p->gather;               /* what the last phase wrote: rows (1) or columns (0) of a */
    for (int l = 0; l < p->L; l++) {            /* forward: z = a_prev W^T; z += b; a = f(z) */
        const PLayer *y = &p->layer[l];
        const real *a = l ? (const real *)p->layer[l - 1].A : x0, *W = y->W;
        real *Z = y->Z, *A = y->A;
        const i64 ni = y->n_in, no = y->n_out;
        if (!(y->by_rows && rows_written) && (l || p->gather)) barrier(&p->bar, &sense);
        if (y->by_rows) {   /* rows r0..r1, all units (softmax needs whole rows) */
            FN(gemm)(p, 0, !y->wt, r1 - r0, no, ni, 1, a + r0 * ni, ni, W, y->wt ? no : ni, 0, Z + r0 * no, no);
            FN(bias_act)(Z + r0 * no, y->b, A + r0 * no, r1 - r0, no, no, y->act);
        } else {            /* units c0..c1, all rows */
            split(no, T, t, &c0, &c1);
            FN(gemm)(p, 0, !y->wt, m, c1 - c0, ni, 1, a, ni, y->wt ? W + c0 : W + c0 * ni, y->wt ? no : ni, 0, Z + c0, no);
            FN(bias_act)(Z + c0, (const real *)y->b + c0, A + c0, m, c1 - c0, no, y->act);
        }
        rows_written = y->by_rows;
    }
    /* the output delta of rows r0..r1, with their targets and, per row, [loss, right, squared error] */
    const PLayer *out = &p->layer[p->L - 1];
    if (!rows_written) barrier(&p->bar, &sense);
    Layer o = {0, nL, 0, 0, out->act, 0, 0, 0};
    for (i64 i = r0; i < r1; i++) {
        const char *src = p->Y + (p->idx ? p->idx[i] : p->start + i) * p->ys0;
        real *yb = (real *)p->Yb + i * nL;
        for (i64 j = 0; j < nL; j++) yb[j] = *(const real *)(src + j * p->ys1);
        const real *z = (const real *)out->Z + i * nL, *a = (const real *)out->A + i * nL;
        if (p->rows) {
            double *s = p->rows + 3 * i;
            s[0] = s[1] = s[2] = 0;
            FN(sample_sums)(&o, p->loss, yb, z, a, s);
        }
        if (p->train) FN(output_delta)(&o, p->loss, yb, (real)m, z, a, (real *)out->D + i * nL);
    }
    if (!p->train) return;                      /* scoring rows: the forward pass and its sums only */
    for (int l = p->L - 1; l >= 0; l--) {       /* backward: dW = delta^T a_prev; db; delta below */
        const PLayer *y = &p->layer[l];
        const real *D = y->D, *W = y->W;
        const i64 ni = y->n_in, no = y->n_out;
        barrier(&p->bar, &sense);               /* this layer's delta is whole, and no thread reads W above */
        if (l < p->L - 1 && FN(sgd_in_product)(p, l + 1)) FN(weight_gradient)(p, l + 1, t, x0);
        split(no, T, t, &c0, &c1);              /* units c0..c1: rows c0..c1 of dW */
        FN(column_sums)(D + c0, m, c1 - c0, no, (real *)y->db + c0);
        if (!FN(sgd_in_product)(p, l) || l == 0) FN(weight_gradient)(p, l, t, x0);
        if (l) {                                /* units c0..c1 of the layer below */
            const PLayer *z = &p->layer[l - 1];
            split(ni, T, t, &c0, &c1);
            real *G = (real *)z->D + c0;
            FN(gemm)(p, 0, y->wt, m, c1 - c0, no, 1, D, no, y->wt ? W + c0 * no : W + c0, y->wt ? no : ni, 0, G, ni);
            FN(act_backward)(G, (const real *)z->Z + c0, (const real *)z->A + c0, NULL, m, c1 - c0, ni, z->act);
        }
    }
    barrier(&p->bar, &sense);                   /* every gradient is whole, and W no longer read */
    for (int q = 0; q < p->P; q++) {            /* the optimizer's step, each parameter in T parts */
        const PParam *u = &p->param[q];
        if (u->is_w && p->layer[u->layer].wq == q && FN(sgd_in_product)(p, u->layer)) continue;   /* done */
        split(u->count, T, t, &c0, &c1);
        real *P = (real *)u->p + c0, *G = (real *)u->g + c0, *S1 = u->s1 ? (real *)u->s1 + c0 : NULL;
        const i64 n = c1 - c0;
        const real l2 = u->is_w ? (real)p->l2 : 0;
        if (p->opt == OPT_SGD) FN(sgd)(P, G, n, (real)p->lr, l2);
        else if (p->opt == OPT_MOMENTUM) FN(momentum)(P, G, S1, n, (real)p->lr, l2, (real)p->mu, p->nesterov);
        else FN(adam)(P, G, S1, (real *)u->s2 + c0, n, l2, (real)p->b1, (real)p->c1, (real)p->b2, (real)p->c2,
                      (real)p->eta_t, (real)p->eps_t);
    }
}

#undef FN
