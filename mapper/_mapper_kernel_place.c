/*
 * _mapper_kernel_place.c: the placement side of _chipemu_mapper_kernel (see mapper/kernel.py):
 * the sparse core-to-core traffic (mapper.place.core_traffic) and the annealer's moves
 * (mapper.place.place_anneal); the chip-level partition is in _mapper_kernel_chips.c.  Same numbers as the numpy code, bit for bit: integer
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
    if (check_apart(fn, A, 10, 0x3C1u) < 0) goto done;
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
