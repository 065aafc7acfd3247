/*
 * _chipemu_mapper_kernel, part 2: refinement (mapper/refine.py) and core filling
 * (mapper/fill.py), compiled; the same numbers as the numpy code (see _mapper_kernel.c).
 */
#include "_mapper_kernel.h"

/* ---- refinement (mapper/refine.py) --------------------------------------------------------- */

const char RF_GAINS_DOC[] =
    "refine_gains(in_ptr, in_src, cand, A, B, phi, psi, r, gain, newf)\n\n"
    "For each candidate move cand[i]: A[i] -> B[i] (int64) of mapper.refine.refine: its exact\n"
    "gain (float64, written to gain[i]) = sum over its in-pins s, in pin order, of\n"
    "r[s] * ([phi[A, s] == 1] - [phi[B, s] == 0]) (self pins count 0), plus r[v] * ([phi[A, v]\n"
    "== 1] - [phi[B, v] == 0]); and newf[i] (int64): its in-pin sources s with psi[B, s] == 0.\n"
    "phi, psi: int32 pin-count tables indexed core * n_src + s, n_src = len(r).";

PyObject *refine_gains(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[10];
    Arr a[8];
    Pins p;
    memset(a, 0, sizeof a);
    memset(&p, 0, sizeof p);
    PyObject *result = NULL;
    const char *fn = "refine_gains";
    if (!PyArg_ParseTuple(args, "OOOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8], &o[9]))
        return NULL;
    if (get_pins(fn, o[0], o[1], NULL, NULL, &p) < 0 || get_arr(o[2], fn, "cand", 'q', 0, -1, &a[0]) < 0 ||
        get_arr(o[3], fn, "A", 'q', 0, a[0].len, &a[1]) < 0 || get_arr(o[4], fn, "B", 'q', 0, a[0].len, &a[2]) < 0 ||
        get_arr(o[7], fn, "r", 'f', 0, -1, &a[5]) < 0 || get_arr(o[5], fn, "phi", 'i', 0, -1, &a[3]) < 0 ||
        get_arr(o[6], fn, "psi", 'i', 0, a[3].len, &a[4]) < 0 ||
        get_arr(o[8], fn, "gain", 'f', 1, a[0].len, &a[6]) < 0 || get_arr(o[9], fn, "newf", 'q', 1, a[0].len, &a[7]) < 0)
        goto done;
    int64_t ns = a[5].len, nc = a[0].len;
    if (ns < p.n || ns == 0 || a[3].len % ns) {
        PyErr_SetString(PyExc_ValueError, "refine_gains: phi/psi are not (cores x len(r)) tables");
        goto done;
    }
    int64_t K = a[3].len / ns;
    const int64_t *cand = a[0].view.buf, *A = a[1].view.buf, *B = a[2].view.buf;
    const int32_t *phi = a[3].view.buf, *psi = a[4].view.buf;
    const double *r = a[5].view.buf;
    double *gain = a[6].view.buf;
    int64_t *newf = a[7].view.buf;
    for (int64_t i = 0; i < nc; i++) {
        int64_t v = cand[i], ka = A[i], kb = B[i], lo, hi;
        if (row_of(&p.in_ptr, v, p.n, &lo, &hi) < 0 || ka < 0 || ka >= K || kb < 0 || kb >= K) {
            PyErr_SetString(PyExc_ValueError, "refine_gains: a candidate or core is out of range");
            goto done;
        }
        const int32_t *pa = phi + ka * ns, *pb = phi + kb * ns, *qb = psi + kb * ns;
        double acc = 0.0;
        int64_t nf = 0;
        for (int64_t j = lo; j < hi; j++) {
            int64_t s = idx_at(&p.in_src, j);
            if (s < 0 || s >= ns) { PyErr_SetString(PyExc_ValueError, "refine_gains: a source is out of range"); goto done; }
            int d = s == v ? 0 : (pa[s] == 1) - (pb[s] == 0);
            acc += r[s] * (double)d;
            nf += qb[s] == 0;
        }
        gain[i] = acc + r[v] * ((double)(pa[v] == 1) - (double)(pb[v] == 0));
        newf[i] = nf;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    release(a, 8);
    release_pins(&p);
    return result;
}

/* table[row * K + core] += w, for a 32- or 64-bit table */
static inline void tab_add(Arr *t, int64_t k, int64_t w) {
    if (t->width == 8) ((int64_t *)t->view.buf)[k] += w;
    else ((int32_t *)t->view.buf)[k] += (int32_t)w;
}

const char RF_CONN_DOC[] =
    "refine_connections(in_ptr, in_src, out_ptr, out_dst, rows, A, B, core, rate, table)\n\n"
    "The (n, K) table of mapper.refine._Connections (int32 or int64, flat, K = len(table) / n):\n"
    "with rows empty, adds every compartment v's synapse partners u (weight rate[u] for its\n"
    "sources, rate[v] for its targets; 1 each when rate is empty) to table[v, core[u]];\n"
    "else moves the compartments rows[i] from core A[i] to B[i]: each partner v of the mover\n"
    "(same weight) moves from table[v, A[i]] to table[v, B[i]].";

PyObject *refine_connections(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[10];
    Arr a[6];
    Pins p;
    memset(a, 0, sizeof a);
    memset(&p, 0, sizeof p);
    PyObject *result = NULL;
    const char *fn = "refine_connections";
    if (!PyArg_ParseTuple(args, "OOOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8], &o[9]))
        return NULL;
    if (get_pins(fn, o[0], o[1], o[2], o[3], &p) < 0 || get_arr(o[4], fn, "rows", 'q', 0, -1, &a[0]) < 0 ||
        get_arr(o[5], fn, "A", 'q', 0, a[0].len, &a[1]) < 0 || get_arr(o[6], fn, "B", 'q', 0, a[0].len, &a[2]) < 0 ||
        get_arr(o[7], fn, "core", 'q', 0, p.n, &a[3]) < 0 || get_arr(o[8], fn, "rate", 'q', 0, -1, &a[4]) < 0 ||
        get_arr(o[9], fn, "table", 'x', 1, -1, &a[5]) < 0)
        goto done;
    int64_t n = p.n, ns = p.n_src, nr = a[0].len;
    int counts = a[4].len == 0;
    if (!counts && a[4].len != ns) { PyErr_SetString(PyExc_ValueError, "refine_connections: rate must be empty or of n_src"); goto done; }
    if (n == 0 || a[5].len % n) { PyErr_SetString(PyExc_ValueError, "refine_connections: table is not (n x K)"); goto done; }
    int64_t K = a[5].len / n;
    const int64_t *rows = a[0].view.buf, *A = a[1].view.buf, *B = a[2].view.buf, *core = a[3].view.buf;
    const int64_t *rate = a[4].view.buf;
    int build = nr == 0;
    int64_t n_iter = build ? n : nr;
    for (int64_t i = 0; i < n_iter; i++) {
        int64_t v = build ? i : rows[i], lo, hi, olo, ohi;
        int64_t ka = build ? 0 : A[i], kb = build ? 0 : B[i];
        if (row_of(&p.in_ptr, v, n, &lo, &hi) < 0 || row_of(&p.out_ptr, v, ns, &olo, &ohi) < 0 ||
            ka < 0 || ka >= K || kb < 0 || kb >= K) {
            PyErr_SetString(PyExc_ValueError, "refine_connections: a compartment or core is out of range");
            goto done;
        }
        for (int side = 0; side < 2; side++) {
            int64_t j0 = side ? olo : lo, j1 = side ? ohi : hi;
            const Arr *data = side ? &p.out_dst : &p.in_src;
            for (int64_t j = j0; j < j1; j++) {
                int64_t u = idx_at(data, j);
                if (u < 0 || u >= ns) { PyErr_SetString(PyExc_ValueError, "refine_connections: a pin end is out of range"); goto done; }
                if (u >= n || u == v) continue;  /* inputs are no partners (never out_dst), nor v itself */
                int64_t w = counts ? 1 : rate[side ? v : u];
                if (build) {
                    int64_t c = core[u];
                    if (c < 0 || c >= K) { PyErr_SetString(PyExc_ValueError, "refine_connections: a core is out of range"); goto done; }
                    tab_add(&a[5], v * K + c, w);
                } else {
                    tab_add(&a[5], u * K + ka, -w);
                    tab_add(&a[5], u * K + kb, w);
                }
            }
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    release(a, 6);
    release_pins(&p);
    return result;
}

/* t[k] += d; *nonzero counts the change of [t[k] > 0] */
static inline void bump(int32_t *t, int64_t k, int32_t d, int64_t *nonzero) {
    int32_t old = t[k], now = old + d;
    t[k] = now;
    *nonzero += (now > 0) - (old > 0);
}

const char RF_APPLY_DOC[] =
    "refine_apply(in_ptr, in_src, mv, A, B, psi, phi, fanin, lam)\n\n"
    "mapper.refine._Tables.apply: compartments mv[i] move from core A[i] to B[i]; the int32\n"
    "pin-count tables psi (every in-pin) and phi (in-pins other than self pins, plus the\n"
    "mover's own pin), indexed core * n_src + s (n_src = len(lam)), are updated, and so are\n"
    "fanin (int64, per core: sources with psi > 0) and lam (int64, per source: cores with phi > 0).";

PyObject *refine_apply(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[9];
    Arr a[7];
    Pins p;
    memset(a, 0, sizeof a);
    memset(&p, 0, sizeof p);
    PyObject *result = NULL;
    const char *fn = "refine_apply";
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8]))
        return NULL;
    if (get_pins(fn, o[0], o[1], NULL, NULL, &p) < 0 || get_arr(o[2], fn, "mv", 'q', 0, -1, &a[0]) < 0 ||
        get_arr(o[3], fn, "A", 'q', 0, a[0].len, &a[1]) < 0 || get_arr(o[4], fn, "B", 'q', 0, a[0].len, &a[2]) < 0 ||
        get_arr(o[7], fn, "fanin", 'q', 1, -1, &a[5]) < 0 || get_arr(o[8], fn, "lam", 'q', 1, -1, &a[6]) < 0 ||
        get_arr(o[5], fn, "psi", 'i', 1, a[5].len * a[6].len, &a[3]) < 0 ||
        get_arr(o[6], fn, "phi", 'i', 1, a[5].len * a[6].len, &a[4]) < 0)
        goto done;
    int64_t ns = a[6].len, K = a[5].len, nm = a[0].len;
    const int64_t *mv = a[0].view.buf, *A = a[1].view.buf, *B = a[2].view.buf;
    int32_t *psi = a[3].view.buf, *phi = a[4].view.buf;
    int64_t *fanin = a[5].view.buf, *lam = a[6].view.buf;
    if (ns < p.n) { PyErr_SetString(PyExc_ValueError, "refine_apply: lam is shorter than the compartments"); goto done; }
    /* check everything first: the tables are changed only by a call that succeeds */
    for (int64_t i = 0; i < nm; i++) {
        int64_t lo, hi;
        if (row_of(&p.in_ptr, mv[i], p.n, &lo, &hi) < 0 || A[i] < 0 || A[i] >= K || B[i] < 0 || B[i] >= K) {
            PyErr_SetString(PyExc_ValueError, "refine_apply: a mover or core is out of range");
            goto done;
        }
        for (int64_t j = lo; j < hi; j++) {
            int64_t s = idx_at(&p.in_src, j);
            if (s < 0 || s >= ns) { PyErr_SetString(PyExc_ValueError, "refine_apply: a source is out of range"); goto done; }
        }
    }
    for (int64_t i = 0; i < nm; i++) {
        int64_t v = mv[i], ka = A[i] * ns, kb = B[i] * ns, lo = 0, hi = 0;
        row_of(&p.in_ptr, v, p.n, &lo, &hi);
        for (int64_t j = lo; j < hi; j++) {
            int64_t s = idx_at(&p.in_src, j);
            bump(psi, ka + s, -1, &fanin[A[i]]);
            bump(psi, kb + s, 1, &fanin[B[i]]);
            if (s != v) {
                bump(phi, ka + s, -1, &lam[s]);
                bump(phi, kb + s, 1, &lam[s]);
            }
        }
        bump(phi, ka + v, -1, &lam[v]);
        bump(phi, kb + v, 1, &lam[v]);
    }
    result = Py_None;
    Py_INCREF(result);
done:
    release(a, 7);
    release_pins(&p);
    return result;
}


/* ---- core filling (mapper/fill.py, CoreFiller) ---------------------------------------------
 * A core holds compartments; its fan-in is the number of distinct sources of their in-pins
 * (present[s]: s is already on the core), its synaptic memory syn + fanin * header_bits. */

/* mark the fresh sources of compartment v on present (recorded in *marked); returns how many,
 * or -1 for an id out of range */
static inline int64_t mark_fresh(const Pins *p, int64_t v, uint8_t *present, int64_t ns, int64_t **marked,
                          int64_t *n_marked, int64_t *cap) {
    int64_t lo, hi, fresh = 0;
    if (row_of(&p->in_ptr, v, p->n, &lo, &hi) < 0) return -1;
    if (grow((void **)marked, cap, *n_marked + (hi - lo), sizeof(int64_t)) < 0) return -2;
    for (int64_t j = lo; j < hi; j++) {
        int64_t s = idx_at(&p->in_src, j);
        if (s < 0 || s >= ns) return -1;
        if (!present[s]) { present[s] = 1; (*marked)[(*n_marked)++] = s; fresh++; }
    }
    return fresh;
}

const char FILL_FIT_DOC[] =
    "fill_fit(in_ptr, in_src, cand, present, bits, syn, fanin, max_fanin, memory_bits, header_bits)\n"
    "-> (k, reason, needed, syn, fanin)\n\n"
    "mapper.fill.CoreFiller.fit: the longest prefix cand[:k] (int64 compartments, in order)\n"
    "that fits a core holding syn bits of synapses and the sources present (bool, n_src;\n"
    "left as it was) with fan-in fanin: every prefix keeps fan-in <= max_fanin and syn +\n"
    "fanin * header_bits <= memory_bits.  reason: 0 all fit, 1 fan-in, 2 synaptic memory\n"
    "(needed: that figure with cand[k] added); syn, fanin: the core's with cand[:k] added.";

PyObject *fill_fit(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[5];
    long long syn, fanin, mf, mb, hb;
    Arr a[3];
    Pins p;
    memset(a, 0, sizeof a);
    memset(&p, 0, sizeof p);
    int64_t *marked = NULL, n_marked = 0, cap = 0;
    uint8_t *present = NULL;
    PyObject *result = NULL;
    const char *fn = "fill_fit";
    if (!PyArg_ParseTuple(args, "OOOOOLLLLL", &o[0], &o[1], &o[2], &o[3], &o[4], &syn, &fanin, &mf, &mb, &hb))
        return NULL;
    if (get_pins(fn, o[0], o[1], NULL, NULL, &p) < 0 || get_arr(o[2], fn, "cand", 'q', 0, -1, &a[0]) < 0 ||
        get_arr(o[3], fn, "present", '?', 1, -1, &a[1]) < 0 || get_arr(o[4], fn, "bits", 'q', 0, p.n, &a[2]) < 0)
        goto done;
    int64_t ns = a[1].len, L = a[0].len, k = 0, reason = 0, needed = 0;
    const int64_t *cand = a[0].view.buf, *bits = a[2].view.buf;
    present = a[1].view.buf;
    for (; k < L; k++) {
        int64_t fresh = mark_fresh(&p, cand[k], present, ns, &marked, &n_marked, &cap);
        if (fresh < 0) {
            if (fresh == -2) PyErr_NoMemory(); else PyErr_SetString(PyExc_ValueError, "fill_fit: an id is out of range");
            goto done;
        }
        int64_t f = fanin + fresh, y = syn + bits[cand[k]], mem = y + f * hb;
        if (f > mf) { reason = 1; needed = f; break; }
        if (mem > mb) { reason = 2; needed = mem; break; }
        fanin = f;
        syn = y;
    }
    result = Py_BuildValue("LLLLL", (long long)k, (long long)reason, (long long)needed, syn, fanin);
done:
    if (present) for (int64_t i = 0; i < n_marked; i++) present[marked[i]] = 0;
    free(marked);
    release(a, 3);
    release_pins(&p);
    return result;
}

const char FILL_EACH_DOC[] =
    "fill_fits_each(in_ptr, in_src, members, sizes, present, bits, count, syn, fanin, max_count,\n"
    "max_fanin, memory_bits, header_bits, ok)\n\n"
    "mapper.fill.CoreFiller.fits_each: ok[g] (bool) whether group g (members, the groups'\n"
    "compartments concatenated, sizes[g] each) fits the core whole when added on its own:\n"
    "count + size <= max_count, fan-in <= max_fanin, syn + fanin * header_bits <= memory_bits.";

PyObject *fill_fits_each(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[6], *out;
    long long count, syn, fanin, mc, mf, mb, hb;
    Arr a[5];
    Pins p;
    memset(a, 0, sizeof a);
    memset(&p, 0, sizeof p);
    int64_t *marked = NULL, n_marked = 0, cap = 0;
    uint8_t *present = NULL;
    PyObject *result = NULL;
    const char *fn = "fill_fits_each";
    if (!PyArg_ParseTuple(args, "OOOOOOLLLLLLLO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &count, &syn, &fanin,
                          &mc, &mf, &mb, &hb, &out))
        return NULL;
    if (get_pins(fn, o[0], o[1], NULL, NULL, &p) < 0 || get_arr(o[2], fn, "members", 'q', 0, -1, &a[0]) < 0 ||
        get_arr(o[3], fn, "sizes", 'q', 0, -1, &a[1]) < 0 || get_arr(o[4], fn, "present", '?', 1, -1, &a[2]) < 0 ||
        get_arr(o[5], fn, "bits", 'q', 0, p.n, &a[3]) < 0 || get_arr(out, fn, "ok", '?', 1, a[1].len, &a[4]) < 0)
        goto done;
    int64_t ns = a[2].len, ng = a[1].len, at = 0;
    const int64_t *mem = a[0].view.buf, *sizes = a[1].view.buf, *bits = a[3].view.buf;
    uint8_t *ok = a[4].view.buf;
    present = a[2].view.buf;
    for (int64_t g = 0; g < ng; g++) {
        int64_t size = sizes[g];
        if (size < 0 || at + size > a[0].len) { PyErr_SetString(PyExc_ValueError, "fill_fits_each: sizes do not fit members"); goto done; }
        int good = count + size <= mc;
        int64_t f = fanin, y = syn;
        for (int64_t i = at; i < at + size && good; i++) {  /* fan-in and memory only grow: stop at a limit */
            int64_t fresh = mark_fresh(&p, mem[i], present, ns, &marked, &n_marked, &cap);
            if (fresh < 0) {
                if (fresh == -2) PyErr_NoMemory(); else PyErr_SetString(PyExc_ValueError, "fill_fits_each: an id is out of range");
                goto done;
            }
            f += fresh;
            y += bits[mem[i]];
            good = f <= mf && y + f * hb <= mb;
        }
        ok[g] = (uint8_t)good;
        for (int64_t i = 0; i < n_marked; i++) present[marked[i]] = 0;
        n_marked = 0;
        at += size;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    if (present) for (int64_t i = 0; i < n_marked; i++) present[marked[i]] = 0;
    free(marked);
    release(a, 5);
    release_pins(&p);
    return result;
}


/* ---- distinct partners per core (resources.distinct_pair_counts) -----------------------------
 * Row r (ptr[r] .. ptr[r+1]-1 of vals) belongs to key[r] (a core, 0 .. na-1); a pin's value
 * is vals[j], or map[vals[j]] when map is not empty (0 .. nb-1).  counts[a] = how many
 * distinct values the pins of a's rows hold: a counting sort of the rows by key, then a
 * stamp per value.  Exact integers; O(rows + pins + na + nb) time and memory. */
const char DISTINCT_DOC[] =
    "row_distinct_counts(key, ptr, vals, map, nb, counts) -> None: counts[a] (int64, na) = distinct "
    "values (vals, through map if not empty) in the rows of key a.";

PyObject *row_distinct_counts(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "row_distinct_counts";
    PyObject *o[5];
    long long nbl;
    if (!PyArg_ParseTuple(args, "OOOOLO", &o[0], &o[1], &o[2], &o[3], &nbl, &o[4])) return NULL;
    Arr A[5];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    int64_t *start = NULL, *order = NULL, *stamp = NULL;
    const int64_t nb = (int64_t)nbl;
    if (get_arr(o[0], fn, "key", 'q', 0, -1, &A[0]) < 0 || get_arr(o[2], fn, "vals", 'x', 0, -1, &A[2]) < 0 ||
        get_arr(o[3], fn, "map", 'q', 0, -1, &A[3]) < 0 || get_arr(o[4], fn, "counts", 'q', 1, -1, &A[4]) < 0)
        goto done;
    const int64_t R = A[0].len, na = A[4].len, nm = A[3].len;
    if (get_arr(o[1], fn, "ptr", 'q', 0, R + 1, &A[1]) < 0) goto done;
    if (check_apart(fn, A, 5, 0x10u) < 0) goto done;
    const int64_t *key = A[0].view.buf, *ptr = A[1].view.buf, *map = A[3].view.buf;
    int64_t *counts = A[4].view.buf;
    if (nb < 0 || ptr[0] != 0 || ptr[R] > A[2].len) {
        PyErr_Format(PyExc_ValueError, "%s: ptr does not index vals", fn);
        goto done;
    }
    for (int64_t r = 0; r < R; r++)
        if (ptr[r] > ptr[r + 1] || key[r] < 0 || key[r] >= na) {
            PyErr_Format(PyExc_ValueError, "%s: ptr not ascending or a key out of range", fn);
            goto done;
        }
    for (int64_t j = 0; j < ptr[R]; j++) {
        int64_t v = idx_at(&A[2], j);
        if (nm) v = (v >= 0 && v < nm) ? map[v] : -1;
        if (v < 0 || v >= nb) {
            PyErr_Format(PyExc_ValueError, "%s: a value is out of range", fn);
            goto done;
        }
    }
    start = calloc((size_t)na + 1, sizeof *start);
    order = malloc((size_t)(R + 1) * sizeof *order);
    stamp = malloc((size_t)(nb + 1) * sizeof *stamp);
    if (!start || !order || !stamp) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t r = 0; r < R; r++) start[key[r] + 1]++;
    for (int64_t a = 0; a < na; a++) start[a + 1] += start[a];
    for (int64_t r = 0; r < R; r++) order[start[key[r]]++] = r;
    for (int64_t a = na; a > 0; a--) start[a] = start[a - 1];
    start[0] = 0;
    for (int64_t v = 0; v < nb; v++) stamp[v] = -1;
    for (int64_t a = 0; a < na; a++) {
        int64_t c = 0;
        for (int64_t i = start[a]; i < start[a + 1]; i++) {
            const int64_t r = order[i];
            for (int64_t j = ptr[r]; j < ptr[r + 1]; j++) {
                int64_t v = idx_at(&A[2], j);
                if (nm) v = map[v];
                if (stamp[v] != a) stamp[v] = a, c++;
            }
        }
        counts[a] = c;
    }
    res = Py_None;
    Py_INCREF(res);
done:
    release(A, 5);
    free(start), free(order), free(stamp);
    return res;
}
