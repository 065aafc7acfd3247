/*
 * _mapper_kernel_place.c: the placement side of _chipemu_mapper_kernel (see mapper/kernel.py):
 * the sparse core-to-core traffic (mapper.place.core_traffic) and the annealer's moves
 * (mapper.place.place_anneal).  Same numbers as the numpy code, bit for bit: integer
 * bookkeeping, and every float operation in the numpy code's order (no fused multiply-add:
 * setup.py builds with -ffp-contract=off).
 */
#include "_mapper_kernel.h"
#include <math.h>

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* ---- core traffic -------------------------------------------------------------------------
 * A source s on core a = score[s] >= 0 sends one packet, rates[s] per step, to each distinct
 * core b != a holding one of its targets (b = nc[out_dst[j]] for its out-pins j).  The pairs
 * (a, b) come out sorted by a then b, each once, with w = 0.0 + the rates of its sources in
 * ascending source order: the additions of numpy's sum_by_key (a stable sort by pair key,
 * then bincount in input order, the input being ordered by source).
 * Work: O(sources + pins + pairs log pairs-per-core) (a core's target cores are sorted, or, when
 * they are at least K/16, read off in order); memory O(K + sources + pairs). */
const char TRAFFIC_DOC[] =
    "core_traffic(out_ptr, out_dst, nc, score, rates, K) -> (counts, b, w) as bytearrays: pairs per "
    "source core a (int64, K), target core b (int64) and packets per step w (float64) of every pair, "
    "sorted by (a, b).";

PyObject *core_traffic(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "core_traffic";
    PyObject *o[5];
    long long Kl;
    if (!PyArg_ParseTuple(args, "OOOOOL", &o[0], &o[1], &o[2], &o[3], &o[4], &Kl)) return NULL;
    Arr A[5];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    int64_t *cnt = NULL, *order = NULL, *mark = NULL, *seen = NULL, *touched = NULL;
    double *acc = NULL;
    /* the pairs' b and w are written straight into the bytearrays returned (grown by doubling:
     * realloc, no copy of the pages for large sizes) */
    PyObject *bobj = PyByteArray_FromStringAndSize(NULL, 0), *wobj = PyByteArray_FromStringAndSize(NULL, 0);
    int64_t cap = 0, npairs = 0;
    if (!bobj || !wobj) goto done;
    const int64_t K = (int64_t)Kl;
    if (get_arr(o[0], fn, "out_ptr", 'q', 0, -1, &A[0]) < 0 || get_arr(o[1], fn, "out_dst", 'x', 0, -1, &A[1]) < 0 ||
        get_arr(o[2], fn, "nc", 'q', 0, -1, &A[2]) < 0)
        goto done;
    const int64_t n_src = A[0].len - 1, n = A[2].len;
    if (get_arr(o[3], fn, "score", 'q', 0, n_src, &A[3]) < 0 || get_arr(o[4], fn, "rates", 'f', 0, n_src, &A[4]) < 0)
        goto done;
    const int64_t *ptr = A[0].view.buf, *nc = A[2].view.buf, *score = A[3].view.buf;
    const double *rates = A[4].view.buf;
    if (K < 1 || n_src < 0 || ptr[0] != 0 || ptr[n_src] > A[1].len) {
        PyErr_Format(PyExc_ValueError, "%s: out_ptr does not index out_dst (or K < 1)", fn);
        goto done;
    }
    for (int64_t i = 0; i < n_src; i++)
        if (ptr[i] > ptr[i + 1] || score[i] >= K) {
            PyErr_Format(PyExc_ValueError, "%s: out_ptr not ascending or a source core >= K", fn);
            goto done;
        }
    for (int64_t i = 0; i < n; i++)
        if (nc[i] < 0 || nc[i] >= K) {
            PyErr_Format(PyExc_ValueError, "%s: a compartment's core is outside 0..K-1", fn);
            goto done;
        }
    for (int64_t j = 0; j < ptr[n_src]; j++) {
        int64_t t = idx_at(&A[1], j);
        if (t < 0 || t >= n) {
            PyErr_Format(PyExc_ValueError, "%s: a pin's target is outside 0..n-1", fn);
            goto done;
        }
    }
    cnt = calloc((size_t)K + 1, sizeof *cnt);
    order = malloc((size_t)(n_src > 0 ? n_src : 1) * sizeof *order);
    mark = malloc((size_t)K * sizeof *mark);
    seen = malloc((size_t)K * sizeof *seen);
    touched = malloc((size_t)K * sizeof *touched);
    acc = malloc((size_t)K * sizeof *acc);
    if (!cnt || !order || !mark || !seen || !touched || !acc) {
        PyErr_NoMemory();
        goto done;
    }
    /* sources by core, ascending within a core (a counting sort) */
    for (int64_t s = 0; s < n_src; s++)
        if (score[s] >= 0) cnt[score[s] + 1]++;
    for (int64_t k = 0; k < K; k++) cnt[k + 1] += cnt[k];
    {
        int64_t *next = malloc((size_t)K * sizeof *next);
        if (!next) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(next, cnt, (size_t)K * sizeof *next);
        for (int64_t s = 0; s < n_src; s++)
            if (score[s] >= 0) order[next[score[s]]++] = s;
        free(next);
    }
    for (int64_t k = 0; k < K; k++) mark[k] = seen[k] = -1;
    int64_t *per_core = calloc((size_t)K, sizeof *per_core);
    if (!per_core) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t a = 0; a < K; a++) {
        int64_t nt = 0;
        for (int64_t i = cnt[a]; i < cnt[a + 1]; i++) {
            const int64_t s = order[i];
            const double r = rates[s];
            for (int64_t j = ptr[s]; j < ptr[s + 1]; j++) {
                const int64_t b = nc[idx_at(&A[1], j)];
                if (b == a || mark[b] == s) continue;
                mark[b] = s;
                if (seen[b] != a) {
                    seen[b] = a;
                    acc[b] = 0.0;
                    touched[nt++] = b;
                }
                acc[b] += r;
            }
        }
        if (16 * nt >= K) { /* many: list them in order by one pass over the cores, O(K) <= O(16 nt) */
            nt = 0;
            for (int64_t b = 0; b < K; b++)
                if (seen[b] == a) touched[nt++] = b;
        } else if (nt > 1)
            qsort(touched, (size_t)nt, sizeof *touched, cmp_i64);
        if (npairs + nt > cap) {
            int64_t c = cap ? cap : 1024;
            while (c < npairs + nt) c *= 2;
            if (PyByteArray_Resize(bobj, (Py_ssize_t)(c * 8)) < 0 || PyByteArray_Resize(wobj, (Py_ssize_t)(c * 8)) < 0) {
                free(per_core);
                goto done;
            }
            cap = c;
        }
        int64_t *bout = (int64_t *)PyByteArray_AS_STRING(bobj);
        double *wout = (double *)PyByteArray_AS_STRING(wobj);
        for (int64_t i = 0; i < nt; i++) {
            bout[npairs + i] = touched[i];
            wout[npairs + i] = acc[touched[i]];
        }
        npairs += nt;
        per_core[a] = nt;
    }
    if (PyByteArray_Resize(bobj, (Py_ssize_t)(npairs * 8)) < 0 || PyByteArray_Resize(wobj, (Py_ssize_t)(npairs * 8)) < 0) {
        free(per_core);
        goto done;
    }
    res = Py_BuildValue("(NOO)", PyByteArray_FromStringAndSize((const char *)per_core, (Py_ssize_t)(K * 8)), bobj, wobj);
    free(per_core);
done:
    release(A, 5);
    free(cnt), free(order), free(mark), free(seen), free(touched), free(acc);
    Py_XDECREF(bobj);
    Py_XDECREF(wobj);
    return res;
}

/* ---- annealing moves ----------------------------------------------------------------------
 * place_anneal's loop over its drawn moves (core pa[i] to slot pp[i], uniform draw u[i]) at
 * temperature temp *= alpha per move, as the Python loop it replaces:
 *   b = occ[p], ra = rc[a], rp = p / cpr
 *   d = C[a,rp] - C[a,ra]  (+ (C[b,ra] - C[b,rp] + 2.0 * W[a,b] * D[ra,rp]) if b >= 0); 0 if ra == rp
 *   reject if d > 0 and u >= exp(-d / temp)
 *   C[i, j] += (W[i,a] - W[i,b]) * (D[j,rp] - D[j,ra])   (W[i,a] alone if b < 0)
 * slots, occ, rc, C are updated in place; best gets the slots of the lowest cost seen
 * (lower than the best by more than 1e-9 max(1, |best|)).  O(1) per judged move, O(K R) per
 * accepted move; C is (K, R), W (K, K), D (R, R): one chip's tables. */
const char ANNEAL_DOC[] =
    "anneal_moves(C, W, D, pa, pp, u, slots, occ, rc, best, cpr, temp, alpha, cost) -> None: the "
    "annealer's moves, tables updated in place, best = the best slots seen.";

PyObject *anneal_moves(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "anneal_moves";
    PyObject *o[10];
    long long cprl;
    double temp, alpha, cost;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOLddd", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &o[9], &cprl, &temp, &alpha, &cost))
        return NULL;
    Arr A[10];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    const int64_t cpr = (int64_t)cprl;
    if (get_arr(o[6], fn, "slots", 'q', 1, -1, &A[6]) < 0 || get_arr(o[7], fn, "occ", 'q', 1, -1, &A[7]) < 0)
        goto done;
    const int64_t K = A[6].len, S = A[7].len;
    if (get_arr(o[8], fn, "rc", 'q', 1, K, &A[8]) < 0 || get_arr(o[9], fn, "best", 'q', 1, K, &A[9]) < 0 ||
        get_arr(o[3], fn, "pa", 'q', 0, -1, &A[3]) < 0)
        goto done;
    const int64_t M = A[3].len;
    if (cpr < 1 || S % cpr != 0) {
        PyErr_Format(PyExc_ValueError, "%s: occ's slots are not whole routers of cpr cores", fn);
        goto done;
    }
    const int64_t R = S / cpr;
    if (get_arr(o[4], fn, "pp", 'q', 0, M, &A[4]) < 0 || get_arr(o[5], fn, "u", 'f', 0, M, &A[5]) < 0 ||
        get_arr(o[0], fn, "C", 'f', 1, K * R, &A[0]) < 0 || get_arr(o[1], fn, "W", 'f', 0, K * K, &A[1]) < 0 ||
        get_arr(o[2], fn, "D", 'f', 0, R * R, &A[2]) < 0)
        goto done;
    double *C = A[0].view.buf;
    const double *W = A[1].view.buf, *D = A[2].view.buf, *u = A[5].view.buf;
    const int64_t *pa = A[3].view.buf, *pp = A[4].view.buf;
    int64_t *slot = A[6].view.buf, *occ = A[7].view.buf, *rc = A[8].view.buf, *best = A[9].view.buf;
    for (int64_t i = 0; i < M; i++)
        if (pa[i] < 0 || pa[i] >= K || pp[i] < 0 || pp[i] >= S) {
            PyErr_Format(PyExc_ValueError, "%s: a move's core or slot is out of range", fn);
            goto done;
        }
    for (int64_t k = 0; k < K; k++)
        if (slot[k] < 0 || slot[k] >= S || occ[slot[k]] != k || rc[k] != slot[k] / cpr) {
            PyErr_Format(PyExc_ValueError, "%s: slots, occ and rc do not agree", fn);
            goto done;
        }
    for (int64_t p = 0; p < S; p++)
        if (occ[p] < -1 || occ[p] >= K || (occ[p] >= 0 && slot[occ[p]] != p)) {
            PyErr_Format(PyExc_ValueError, "%s: slots, occ and rc do not agree", fn);
            goto done;
        }
    double best_cost = cost;
    memcpy(best, slot, (size_t)K * sizeof *best);
    for (int64_t i = 0; i < M; i++) {
        const int64_t a = pa[i], p = pp[i];
        temp *= alpha;
        if (slot[a] == p) continue;
        const int64_t b = occ[p], ra = rc[a], rp = p / cpr;
        double d = 0.0;
        if (ra != rp) {
            d = C[a * R + rp] - C[a * R + ra];
            if (b >= 0) d += C[b * R + ra] - C[b * R + rp] + 2.0 * W[a * K + b] * D[ra * R + rp];
        }
        if (d > 0 && u[i] >= exp(-d / temp)) continue;
        if (ra != rp) {
            for (int64_t k = 0; k < K; k++) {
                const double x = b >= 0 ? W[k * K + a] - W[k * K + b] : W[k * K + a];
                double *row = C + k * R;
                for (int64_t j = 0; j < R; j++) row[j] += x * (D[j * R + rp] - D[j * R + ra]);
            }
        }
        const int64_t pa_slot = slot[a];
        slot[a] = p;
        occ[p] = a;
        occ[pa_slot] = b;
        rc[a] = rp;
        if (b >= 0) {
            slot[b] = pa_slot;
            rc[b] = ra;
        }
        cost += d;
        const double mag = fabs(best_cost) > 1.0 ? fabs(best_cost) : 1.0;
        if (cost < best_cost - 1e-9 * mag) {
            best_cost = cost;
            memcpy(best, slot, (size_t)K * sizeof *best);
        }
    }
    res = Py_None;
    Py_INCREF(res);
done:
    release(A, 10);
    return res;
}

/* ---- chip-level partition -------------------------------------------------------------------
 * chips_by_traffic's growth (mapper.place.chips_by_traffic) on the traffic pairs (a, b, w):
 * every core's neighbour row is its pairs as a source (in pair order) then as a target (in
 * pair order), the stable sort of the numpy code's (a ++ b) keys; strength[x] = 0.0 + the
 * row's weights in that order (bincount's additions).  A row is added to gain as numpy's
 * gain[nb] += nw does: a neighbour listed twice gets only its last weight.  Chips are grown
 * in order: the unassigned core of largest gain (first of equals), or, when that gain is
 * <= 0, of largest strength.  Memory: 12 bytes per pair (24 when a is not ascending)
 * and O(K); O(K) a pick, as the numpy code. */
const char GROWTH_DOC[] =
    "chip_growth(a, b, w, chip, room) -> None: chips_by_traffic's growth; chip (int64, -1: free) is "
    "filled in place, room (int64) is each chip's free core count.";

PyObject *chip_growth(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "chip_growth";
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4])) return NULL;
    Arr A[5];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    int64_t *aptr = NULL, *bptr = NULL, *stamp = NULL;
    int32_t *anb = NULL, *bnb = NULL;
    double *anw = NULL, *bnw = NULL, *strength = NULL, *gain = NULL;
    unsigned char *free_ = NULL;
    if (get_arr(o[0], fn, "a", 'q', 0, -1, &A[0]) < 0) goto done;
    const int64_t P = A[0].len;
    if (get_arr(o[1], fn, "b", 'q', 0, P, &A[1]) < 0 || get_arr(o[2], fn, "w", 'f', 0, P, &A[2]) < 0 ||
        get_arr(o[3], fn, "chip", 'q', 1, -1, &A[3]) < 0 || get_arr(o[4], fn, "room", 'q', 0, -1, &A[4]) < 0)
        goto done;
    const int64_t K = A[3].len, G = A[4].len;
    if (K >= INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: %lld cores do not fit 32-bit ids", fn, (long long)K);
        goto done;
    }
    const int64_t *a = A[0].view.buf, *b = A[1].view.buf, *room = A[4].view.buf;
    const double *w = A[2].view.buf;
    int64_t *chip = A[3].view.buf;
    for (int64_t i = 0; i < P; i++)
        if (a[i] < 0 || a[i] >= K || b[i] < 0 || b[i] >= K) {
            PyErr_Format(PyExc_ValueError, "%s: a pair's core is out of range", fn);
            goto done;
        }
    for (int64_t k = 0; k < K; k++)
        if (chip[k] < -1 || chip[k] >= G) {
            PyErr_Format(PyExc_ValueError, "%s: a core's chip is out of range", fn);
            goto done;
        }
    /* row x: its pairs as a source, in pair order (the pairs themselves when a is ascending,
     * else copies anb/anw), then as a target, in pair order (copies bnb/bnw) */
    int sorted = 1;
    for (int64_t i = 1; i < P && sorted; i++) sorted = a[i - 1] <= a[i];
    aptr = calloc((size_t)K + 1, sizeof *aptr);
    bptr = calloc((size_t)K + 1, sizeof *bptr);
    bnb = malloc((size_t)(P + 1) * sizeof *bnb);
    bnw = malloc((size_t)(P + 1) * sizeof *bnw);
    if (!sorted) {
        anb = malloc((size_t)(P + 1) * sizeof *anb);
        anw = malloc((size_t)(P + 1) * sizeof *anw);
    }
    stamp = malloc((size_t)(K + 1) * sizeof *stamp);
    strength = calloc((size_t)K + 1, sizeof *strength);
    gain = malloc((size_t)(K + 1) * sizeof *gain);
    free_ = malloc((size_t)K + 1);
    if (!aptr || !bptr || !bnb || !bnw || (!sorted && (!anb || !anw)) || !stamp || !strength || !gain || !free_) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t i = 0; i < P; i++) aptr[a[i] + 1]++, bptr[b[i] + 1]++;
    for (int64_t k = 0; k < K; k++) aptr[k + 1] += aptr[k], bptr[k + 1] += bptr[k];
    {
        int64_t *next = malloc((size_t)(K + 1) * sizeof *next);
        if (!next) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(next, bptr, (size_t)K * sizeof *next);
        for (int64_t i = 0; i < P; i++) bnb[next[b[i]]] = (int32_t)a[i], bnw[next[b[i]]++] = w[i];
        if (!sorted) {
            memcpy(next, aptr, (size_t)K * sizeof *next);
            for (int64_t i = 0; i < P; i++) anb[next[a[i]]] = (int32_t)b[i], anw[next[a[i]]++] = w[i];
        }
        free(next);
    }
#define A_NB(j) (sorted ? b[j] : (int64_t)anb[j])
#define A_NW(j) (sorted ? w[j] : anw[j])
    for (int64_t k = 0; k < K; k++) {
        for (int64_t j = aptr[k]; j < aptr[k + 1]; j++) strength[k] += A_NW(j);
        for (int64_t j = bptr[k]; j < bptr[k + 1]; j++) strength[k] += bnw[j];
    }
    int64_t n_free = 0, tick = 0;
    for (int64_t k = 0; k < K; k++) {
        free_[k] = chip[k] < 0;
        n_free += free_[k];
        stamp[k] = -1;
    }
    /* the row backwards: a neighbour listed twice gets its last weight only */
#define ADD_ROW(m)                                                                  \
    do {                                                                            \
        tick++;                                                                     \
        for (int64_t j = bptr[(m) + 1] - 1; j >= bptr[(m)]; j--)                    \
            if (stamp[bnb[j]] != tick) stamp[bnb[j]] = tick, gain[bnb[j]] += bnw[j]; \
        for (int64_t j = aptr[(m) + 1] - 1; j >= aptr[(m)]; j--) {                  \
            const int64_t x = A_NB(j);                                              \
            if (stamp[x] != tick) stamp[x] = tick, gain[x] += A_NW(j);              \
        }                                                                           \
    } while (0)
    for (int64_t c = 0; c < G && n_free > 0; c++) {
        for (int64_t k = 0; k < K; k++) gain[k] = 0.0;
        for (int64_t m = 0; m < K; m++)
            if (chip[m] == c) ADD_ROW(m);
        for (int64_t t = 0; t < room[c] && n_free > 0; t++) {
            int64_t best = -1;
            for (int64_t k = 0; k < K; k++)
                if (free_[k] && (best < 0 || gain[k] > gain[best])) best = k;
            if (!(gain[best] > 0)) {
                best = -1;
                for (int64_t k = 0; k < K; k++)
                    if (free_[k] && (best < 0 || strength[k] > strength[best])) best = k;
            }
            chip[best] = c;
            free_[best] = 0;
            n_free--;
            ADD_ROW(best);
        }
    }
#undef ADD_ROW
#undef A_NB
#undef A_NW
    res = Py_None;
    Py_INCREF(res);
done:
    release(A, 5);
    free(aptr), free(bptr), free(anb), free(anw), free(bnb), free(bnw), free(stamp), free(strength), free(gain),
        free(free_);
    return res;
}

/* ---- traffic by chip ------------------------------------------------------------------------
 * For chip assignment chip (of every core) over G chips and the pairs (a, b, w):
 * T[chip[a] * G + chip[b]] += w in pair order (numpy's add.at), the per-chip sums inside
 * (chip[a] == chip[b]), leaving (by chip[a]) and arriving (by chip[b]) in pair order
 * (bincount's), and the indices of the pairs inside a chip grouped by chip, in pair order
 * within a chip (counts per chip in ptr, G + 1).  O(pairs + G^2). */
const char BY_CHIP_DOC[] =
    "traffic_by_chip(a, b, w, chip, T, inside, leaving, arriving, ptr) -> bytearray: the (int64) indices of "
    "the pairs inside a chip, grouped by chip; T (G*G), inside, leaving, arriving (G) float64 and ptr (G+1) "
    "int64 are filled.";

PyObject *traffic_by_chip(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "traffic_by_chip";
    PyObject *o[9];
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8]))
        return NULL;
    Arr A[9];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    int64_t *idx = NULL;
    if (get_arr(o[0], fn, "a", 'q', 0, -1, &A[0]) < 0 || get_arr(o[5], fn, "inside", 'f', 1, -1, &A[5]) < 0)
        goto done;
    const int64_t P = A[0].len, G = A[5].len;
    if (get_arr(o[1], fn, "b", 'q', 0, P, &A[1]) < 0 || get_arr(o[2], fn, "w", 'f', 0, P, &A[2]) < 0 ||
        get_arr(o[3], fn, "chip", 'q', 0, -1, &A[3]) < 0 || get_arr(o[4], fn, "T", 'f', 1, G * G, &A[4]) < 0 ||
        get_arr(o[6], fn, "leaving", 'f', 1, G, &A[6]) < 0 || get_arr(o[7], fn, "arriving", 'f', 1, G, &A[7]) < 0 ||
        get_arr(o[8], fn, "ptr", 'q', 1, G + 1, &A[8]) < 0)
        goto done;
    const int64_t K = A[3].len;
    const int64_t *a = A[0].view.buf, *b = A[1].view.buf, *chip = A[3].view.buf;
    const double *w = A[2].view.buf;
    double *T = A[4].view.buf, *inside = A[5].view.buf, *leaving = A[6].view.buf, *arriving = A[7].view.buf;
    int64_t *ptr = A[8].view.buf;
    for (int64_t k = 0; k < K; k++)
        if (chip[k] < 0 || chip[k] >= G) {
            PyErr_Format(PyExc_ValueError, "%s: a core's chip is out of range", fn);
            goto done;
        }
    for (int64_t i = 0; i < P; i++)
        if (a[i] < 0 || a[i] >= K || b[i] < 0 || b[i] >= K) {
            PyErr_Format(PyExc_ValueError, "%s: a pair's core is out of range", fn);
            goto done;
        }
    for (int64_t g = 0; g < G * G; g++) T[g] = 0.0;
    for (int64_t g = 0; g < G; g++) inside[g] = leaving[g] = arriving[g] = 0.0, ptr[g] = 0;
    ptr[G] = 0;
    for (int64_t i = 0; i < P; i++) {
        const int64_t ca = chip[a[i]], cb = chip[b[i]];
        T[ca * G + cb] += w[i];
        if (ca == cb) {
            inside[ca] += w[i];
            ptr[ca + 1]++;
        } else {
            leaving[ca] += w[i];
            arriving[cb] += w[i];
        }
    }
    for (int64_t g = 0; g < G; g++) ptr[g + 1] += ptr[g];
    idx = malloc((size_t)(ptr[G] + 1) * sizeof *idx);
    int64_t *next = malloc((size_t)(G + 1) * sizeof *next);
    if (!idx || !next) {
        free(next);
        PyErr_NoMemory();
        goto done;
    }
    memcpy(next, ptr, (size_t)G * sizeof *next);
    for (int64_t i = 0; i < P; i++)
        if (chip[a[i]] == chip[b[i]]) idx[next[chip[a[i]]]++] = i;
    free(next);
    res = PyByteArray_FromStringAndSize((const char *)idx, (Py_ssize_t)(ptr[G] * 8));
done:
    release(A, 9);
    free(idx);
    return res;
}

/* ---- a chip table per pair --------------------------------------------------------------------
 * out[i] = table[chip[a[i]] * G + chip[b[i]]] (float64), e.g. the chip distance of every traffic
 * pair: numpy's table[chip[a], chip[b]] without its index arrays.  O(pairs). */
const char PAIR_VALUES_DOC[] =
    "chip_pair_values(a, b, chip, table, out) -> None: out[i] = table[chip[a[i]], chip[b[i]]] (table G x G).";

PyObject *chip_pair_values(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "chip_pair_values";
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4])) return NULL;
    Arr A[5];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    if (get_arr(o[0], fn, "a", 'q', 0, -1, &A[0]) < 0 || get_arr(o[3], fn, "table", 'f', 0, -1, &A[3]) < 0) goto done;
    const int64_t P = A[0].len;
    int64_t G = 0;
    while (G * G < A[3].len) G++;
    if (G * G != A[3].len) {
        PyErr_Format(PyExc_ValueError, "%s: table is not square", fn);
        goto done;
    }
    if (get_arr(o[1], fn, "b", 'q', 0, P, &A[1]) < 0 || get_arr(o[2], fn, "chip", 'q', 0, -1, &A[2]) < 0 ||
        get_arr(o[4], fn, "out", 'f', 1, P, &A[4]) < 0)
        goto done;
    const int64_t K = A[2].len;
    const int64_t *a = A[0].view.buf, *b = A[1].view.buf, *chip = A[2].view.buf;
    const double *table = A[3].view.buf;
    double *out = A[4].view.buf;
    for (int64_t k = 0; k < K; k++)
        if (chip[k] < 0 || chip[k] >= G) {
            PyErr_Format(PyExc_ValueError, "%s: a core's chip is out of range", fn);
            goto done;
        }
    for (int64_t i = 0; i < P; i++) {
        if (a[i] < 0 || a[i] >= K || b[i] < 0 || b[i] >= K) {
            PyErr_Format(PyExc_ValueError, "%s: a pair's core is out of range", fn);
            goto done;
        }
        out[i] = table[chip[a[i]] * G + chip[b[i]]];
    }
    res = Py_None;
    Py_INCREF(res);
done:
    release(A, 5);
    return res;
}
