/*
 * _chipemu_mapper_kernel: the hot loops of chipemu's traffic mapper (mapper/), compiled.
 *
 * Optional: mapper/kernel.py uses it when it is installed and otherwise runs the numpy code
 * it replaces, which gives the same result (tests/test_mapper_kernel.py runs both and
 * requires equal arrays).  Integer arithmetic wherever the numpy code uses integers, the
 * same tie rules; the one float figure (refine_gains: a candidate's gain) is summed in the
 * numpy code's order, and the sources are built with -ffp-contract=off.
 *
 * Sources: this file (the module, label propagation, the pin graph, the cluster check),
 * _mapper_kernel_cores.c (refinement and core filling), _mapper_kernel.h (the checked
 * reading of arrays both use).
 *
 * Label propagation (mapper/cluster.py, label_propagation): one iteration is lp_step.
 *   The pin graph is held as an adjacency list built once by lp_adjacency: vertex v's
 *   entries ptr[v] .. mid[v]-1 are the sources of its in-pins (a pin u -> v weighs q[u]),
 *   mid[v] .. ptr[v+1]-1 the targets of its out-pins (v -> u weighs q[v]); q is the
 *   quantised weight of each source.  Each active vertex (in id order) sums the weight of
 *   its pins to inactive neighbours per neighbour label (a mark array over labels, no sort
 *   of all pins), keeps the labels that beat staying (more weight than its own label), and
 *   the admission passes ("tries") move vertices exactly as the numpy code does.
 *
 * Arrays come in through the buffer protocol; every argument's dtype, length and
 * C-contiguity is checked (a strided or wrongly typed array raises ValueError/BufferError,
 * the Python wrapper passes contiguous copies), and every index read from an array is
 * range-checked before use.  Memory: O(vertices + pins), never vertices squared.
 */
#include "_mapper_kernel.h"

/* ---- label propagation: the adjacency list ------------------------------------------- */

const char LP_ADJ_DOC[] =
    "lp_adjacency(t, s, ptr, mid, nbr): fill the adjacency list of the pin graph of pins\n"
    "s[i] -> t[i] (int32/int64 ids < n = len(mid)); ptr (n+1,), mid (n,) int64 and nbr\n"
    "(2 len(t),) int32 are written: vertex v's in-pin sources at ptr[v]..mid[v]-1, in pin\n"
    "order, then its out-pin targets at mid[v]..ptr[v+1]-1, in pin order.";

PyObject *lp_adjacency(PyObject *self, PyObject *args) {
    PyObject *o[5];
    Arr a[5];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4])) return NULL;
    const char *fn = "lp_adjacency";
    int64_t *cur = NULL;
    if (get_arr(o[0], fn, "t", 'x', 0, -1, &a[0]) < 0 || get_arr(o[1], fn, "s", 'x', 0, a[0].len, &a[1]) < 0 ||
        get_arr(o[3], fn, "mid", 'q', 1, -1, &a[3]) < 0 ||
        get_arr(o[2], fn, "ptr", 'q', 1, a[3].len + 1, &a[2]) < 0 ||
        get_arr(o[4], fn, "nbr", 'i', 1, 2 * a[0].len, &a[4]) < 0)
        goto fail;
    int64_t m = a[0].len, n = a[3].len;
    if (n >= INT32_MAX) { PyErr_SetString(PyExc_ValueError, "lp_adjacency: too many vertices for int32 ids"); goto fail; }
    int64_t *ptr = a[2].view.buf, *mid = a[3].view.buf;
    int32_t *nbr = a[4].view.buf;
    cur = calloc((size_t)(2 * n + 1), sizeof(int64_t));
    if (!cur) { PyErr_NoMemory(); goto fail; }
    int64_t *cin = cur, *cout = cur + n;
    for (int64_t i = 0; i < m; i++) {
        int64_t t = idx_at(&a[0], i), s = idx_at(&a[1], i);
        if (t < 0 || t >= n || s < 0 || s >= n) {
            PyErr_SetString(PyExc_ValueError, "lp_adjacency: a pin end is out of range");
            goto fail;
        }
        cin[t]++;
        cout[s]++;
    }
    ptr[0] = 0;
    for (int64_t v = 0; v < n; v++) {
        mid[v] = ptr[v] + cin[v];
        ptr[v + 1] = mid[v] + cout[v];
        cin[v] = ptr[v];   /* now the cursors */
        cout[v] = mid[v];
    }
    for (int64_t i = 0; i < m; i++) {
        int64_t t = idx_at(&a[0], i), s = idx_at(&a[1], i);
        nbr[cin[t]++] = (int32_t)s;
        nbr[cout[s]++] = (int32_t)t;
    }
    free(cur);
    release(a, 5);
    Py_RETURN_NONE;
fail:
    free(cur);
    release(a, 5);
    return NULL;
}

/* ---- label propagation: one iteration -------------------------------------------------- */

typedef struct { int64_t label, gain, v, group; } Pick;

static int pick_order(const void *x, const void *y) {
    const Pick *a = x, *b = y;
    if (a->label != b->label) return a->label < b->label ? -1 : 1;
    if (a->gain != b->gain) return a->gain > b->gain ? -1 : 1; /* higher gain first */
    return a->v < b->v ? -1 : (a->v > b->v);                   /* then lower vertex id */
}

const char LP_STEP_DOC[] =
    "lp_step(ptr, mid, nbr, q, active, labels, prio, vw, vs, size, syn, u_size, u_syn, tries)\n"
    "-> vertices moved, or -1 when no pin has exactly one active end.\n\n"
    "One iteration of mapper.cluster.label_propagation on the adjacency list of lp_adjacency\n"
    "(q: int64 quantised weight of each source): labels, size and syn (int64, per vertex /\n"
    "per label) are updated in place.  active: bool per vertex; prio: int64 tie priority per\n"
    "label (distinct); vw, vs: int64 size and synaptic bits per vertex.";

PyObject *lp_step(PyObject *self, PyObject *args) {
    PyObject *o[11];
    long long u_size, u_syn;
    int tries;
    Arr a[11];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOLLi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                          &o[8], &o[9], &o[10], &u_size, &u_syn, &tries))
        return NULL;
    const char *fn = "lp_step";
    /* scratch */
    int64_t *acc = NULL, *touched = NULL;
    int32_t *pos = NULL;
    uint64_t *lq = NULL;
    int64_t *row_l = NULL, *row_w = NULL, *g_v = NULL, *g_own = NULL, *g_lo = NULL, *g_hi = NULL;
    Pick *picks = NULL;
    int64_t *adm = NULL;
    int64_t cap_t = 0, cap_a = 0, cap_r = 0, cap_rw = 0, cap_g = 0, cap_go = 0, cap_gl = 0, cap_gh = 0;
    PyObject *result = NULL;
    if (get_arr(o[5], fn, "labels", 'q', 1, -1, &a[5]) < 0) goto done;
    int64_t n = a[5].len;
    if (get_arr(o[0], fn, "ptr", 'q', 0, n + 1, &a[0]) < 0 || get_arr(o[1], fn, "mid", 'q', 0, n, &a[1]) < 0 ||
        get_arr(o[2], fn, "nbr", 'i', 0, -1, &a[2]) < 0 || get_arr(o[3], fn, "q", 'q', 0, n, &a[3]) < 0 ||
        get_arr(o[4], fn, "active", '?', 0, n, &a[4]) < 0 || get_arr(o[6], fn, "prio", 'q', 0, n, &a[6]) < 0 ||
        get_arr(o[7], fn, "vw", 'q', 0, n, &a[7]) < 0 || get_arr(o[8], fn, "vs", 'q', 0, n, &a[8]) < 0 ||
        get_arr(o[9], fn, "size", 'q', 1, n, &a[9]) < 0 || get_arr(o[10], fn, "syn", 'q', 1, n, &a[10]) < 0)
        goto done;
    const int64_t *ptr = a[0].view.buf, *mid = a[1].view.buf, *q = a[3].view.buf, *prio = a[6].view.buf;
    const int64_t *vw = a[7].view.buf, *vs = a[8].view.buf;
    const int32_t *nbr = a[2].view.buf;
    const uint8_t *active = a[4].view.buf;
    int64_t *labels = a[5].view.buf, *size = a[9].view.buf, *syn = a[10].view.buf;
    int64_t n_nbr = a[2].len;
    if (n > 0 && (ptr[0] != 0 || ptr[n] != n_nbr)) {
        PyErr_SetString(PyExc_ValueError, "lp_step: ptr does not span nbr");
        goto done;
    }
    /* lq[u]: u's label (the sink n if u is active: its pins are not counted) in the high
     * 32 bits, its weight q[u] in the low 32 (one read per pin, a small working set);
     * pos[L]: L's place in the current vertex's list of labels (a sparse set: valid iff
     * pos[L] < n_touched and touched[pos[L]] == L, so it is never cleared) */
    pos = calloc((size_t)(n + 1), sizeof(int32_t));
    lq = malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (!pos || !lq) { PyErr_NoMemory(); goto done; }
    const char *bad = NULL;
    for (int64_t u = 0; u < n; u++) {
        int64_t L = active[u] ? n : labels[u];
        if (L < 0 || L > n || q[u] < 0 || q[u] > INT32_MAX) L = -1;  /* read as an error below */
        lq[u] = L < 0 ? UINT64_MAX : ((uint64_t)L << 32) | (uint64_t)q[u];
    }
    int64_t n_rows = 0, n_groups = 0, crossing = 0;
    /* 1. per active vertex (in id order): weight per label of its inactive neighbours; the
     *    labels that beat its own (more weight), as one group of rows */
    for (int64_t v = 0; v < n && !bad; v++) {
        if (!active[v]) continue;
        int64_t lo = ptr[v], m = mid[v], hi = ptr[v + 1];
        if (lo > m || m > hi || hi > n_nbr) { bad = "lp_step: ptr/mid are not an adjacency list"; break; }
        int64_t nt = 0;
        if (grow((void **)&touched, &cap_t, hi - lo + 1, sizeof(int64_t)) < 0 ||
            grow((void **)&acc, &cap_a, hi - lo + 1, sizeof(int64_t)) < 0) { bad = ""; break; }
        /* in-pins (u -> v) weigh q[u], out-pins (v -> u) q[v] */
        for (int side = 0; side < 2 && !bad; side++) {
            int64_t j0 = side ? m : lo, j1 = side ? hi : m, wv = q[v];
            for (int64_t j = j0; j < j1; j++) {
                int64_t u = nbr[j];
                if (u < 0 || u >= n || lq[u] == UINT64_MAX) { bad = "lp_step: a neighbour id or label is out of range"; break; }
                uint64_t x = lq[u];
                int64_t L = (int64_t)(x >> 32), w = side ? wv : (int64_t)(x & 0xffffffffu);
                int64_t k = pos[L];
                if (k < nt && touched[k] == L) acc[k] += w;
                else { pos[L] = (int32_t)nt; touched[nt] = L; acc[nt++] = w; }
            }
        }
        if (bad) break;
        int64_t k = pos[n];
        if (k < nt && touched[k] == n) { /* the sink: drop it */
            nt--;
            touched[k] = touched[nt]; acc[k] = acc[nt]; pos[touched[k]] = (int32_t)k;
        }
        if (!nt) continue;
        crossing = 1;
        int64_t own_l = labels[v];
        int64_t own = 0;
        if (own_l >= 0 && own_l < n) { k = pos[own_l]; if (k < nt && touched[k] == own_l) own = acc[k]; }
        int64_t first = n_rows;
        for (k = 0; k < nt; k++) {
            int64_t L = touched[k];
            if (L == own_l || acc[k] <= own) continue;
            if (grow((void **)&row_l, &cap_r, n_rows + 1, sizeof(int64_t)) < 0 ||
                grow((void **)&row_w, &cap_rw, n_rows + 1, sizeof(int64_t)) < 0) { bad = ""; break; }
            row_l[n_rows] = L;
            row_w[n_rows] = acc[k];
            n_rows++;
        }
        if (bad) break;
        if (n_rows > first) {
            if (grow((void **)&g_v, &cap_g, n_groups + 1, sizeof(int64_t)) < 0 ||
                grow((void **)&g_own, &cap_go, n_groups + 1, sizeof(int64_t)) < 0 ||
                grow((void **)&g_lo, &cap_gl, n_groups + 1, sizeof(int64_t)) < 0 ||
                grow((void **)&g_hi, &cap_gh, n_groups + 1, sizeof(int64_t)) < 0) { bad = ""; break; }
            g_v[n_groups] = v; g_own[n_groups] = own; g_lo[n_groups] = first; g_hi[n_groups] = n_rows;
            n_groups++;
        }
    }
    if (bad) {
        if (*bad) PyErr_SetString(PyExc_ValueError, bad); else PyErr_NoMemory();
        goto done;
    }
    if (!crossing) { result = PyLong_FromLongLong(-1); goto done; }
    /* 2. admission passes: each remaining vertex picks its heaviest label with room (ties:
     *    lowest prio); per label, best gain first (then lowest id), while the label keeps
     *    room; the others try their next choice in the next pass */
    picks = malloc((size_t)(n_groups ? n_groups : 1) * sizeof(Pick));
    adm = malloc((size_t)(n_groups ? n_groups : 1) * sizeof(int64_t));
    if (!picks || !adm) { PyErr_NoMemory(); goto done; }
    int64_t moved_total = 0;
    for (int t = 0; t < tries; t++) {
        int64_t n_picks = 0;
        for (int64_t g = 0; g < n_groups; g++) {
            if (g_v[g] < 0) continue; /* moved */
            int64_t v = g_v[g], best = -1;
            for (int64_t r = g_lo[g]; r < g_hi[g]; r++) {
                int64_t L = row_l[r];
                if (size[L] + vw[v] > u_size || syn[L] + vs[v] > u_syn) continue;
                if (best < 0 || row_w[r] > row_w[best] || (row_w[r] == row_w[best] && prio[L] < prio[row_l[best]]))
                    best = r;
            }
            if (best >= 0) {
                Pick p = {row_l[best], row_w[best] - g_own[g], v, g};
                picks[n_picks++] = p;
            }
        }
        if (!n_picks) break;
        qsort(picks, (size_t)n_picks, sizeof(Pick), pick_order);
        int64_t n_adm = 0;
        for (int64_t i = 0; i < n_picks;) {
            int64_t L = picks[i].label, cs = 0, cy = 0, j = i;
            for (; j < n_picks && picks[j].label == L; j++) {
                cs += vw[picks[j].v];
                cy += vs[picks[j].v];
                if (size[L] + cs <= u_size && syn[L] + cy <= u_syn) adm[n_adm++] = j;
            }
            i = j;
        }
        if (!n_adm) break;
        for (int64_t k = 0; k < n_adm; k++) {
            const Pick *p = &picks[adm[k]];
            int64_t v = p->v, old = labels[v];
            if (old >= 0 && old < n) { size[old] -= vw[v]; syn[old] -= vs[v]; }
            size[p->label] += vw[v];
            syn[p->label] += vs[v];
            labels[v] = p->label;
            g_v[p->group] = -1;
        }
        moved_total += n_adm;
    }
    result = PyLong_FromLongLong(moved_total);
done:
    free(pos); free(lq); free(acc); free(touched); free(row_l); free(row_w);
    free(g_v); free(g_own); free(g_lo); free(g_hi); free(picks); free(adm);
    release(a, 11);
    return result;
}



const char SAME_DOC[] =
    "same_label_weight(t, s, wq, labels) -> (weight of the pins whose ends share a label, all\n"
    "pins' weight): integer sums (mapper.cluster.clusters_found); t, s int32/int64 pin ends,\n"
    "wq int32 weights, labels int64.";

PyObject *same_label_weight(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[4];
    Arr a[4];
    memset(a, 0, sizeof a);
    PyObject *result = NULL;
    const char *fn = "same_label_weight";
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3])) return NULL;
    if (get_arr(o[0], fn, "t", 'x', 0, -1, &a[0]) < 0 || get_arr(o[1], fn, "s", 'x', 0, a[0].len, &a[1]) < 0 ||
        get_arr(o[2], fn, "wq", 'i', 0, a[0].len, &a[2]) < 0 || get_arr(o[3], fn, "labels", 'q', 0, -1, &a[3]) < 0)
        goto done;
    int64_t m = a[0].len, n = a[3].len, same = 0, all = 0;
    const int32_t *wq = a[2].view.buf;
    const int64_t *labels = a[3].view.buf;
    for (int64_t i = 0; i < m; i++) {
        int64_t t = idx_at(&a[0], i), s = idx_at(&a[1], i);
        if (t < 0 || t >= n || s < 0 || s >= n) { PyErr_SetString(PyExc_ValueError, "same_label_weight: a pin end is out of range"); goto done; }
        all += wq[i];
        if (labels[t] == labels[s]) same += wq[i];
    }
    result = Py_BuildValue("LL", (long long)same, (long long)all);
done:
    release(a, 4);
    return result;
}

/* ---- the pin graph (mapper/graph.py, build_graph) ------------------------------------------ */

static inline void id_put(Arr *a, int64_t i, int64_t x) {
    if (a->width == 8) ((int64_t *)a->view.buf)[i] = x;
    else ((int32_t *)a->view.buf)[i] = (int32_t)x;
}

const char PINS_DOC[] =
    "pins_build(src, dst, in_ptr, in_src, out_ptr, out_dst) -> pins\n\n"
    "The pins (distinct (source, target) pairs) of the synapses src[i] -> dst[i] (int64;\n"
    "sources < n_src = len(out_ptr) - 1, targets < n = len(in_ptr) - 1), as two CSRs: by\n"
    "target (in_ptr, in_src: each target's sources ascending) and by source (out_ptr,\n"
    "out_dst: each source's targets ascending).  in_src and out_dst (int32 or int64, at\n"
    "least len(src) long) get the pins in their first `pins` entries.  Two stable counting\n"
    "sorts (by source, then by target) and one transpose: O(synapses + sources).";

PyObject *pins_build(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[6];
    Arr a[6];
    memset(a, 0, sizeof a);
    int32_t *by_s = NULL, *by_t = NULL;
    int64_t *cs = NULL, *ct = NULL;
    PyObject *result = NULL;
    const char *fn = "pins_build";
    if (!PyArg_ParseTuple(args, "OOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5])) return NULL;
    if (get_arr(o[0], fn, "src", 'q', 0, -1, &a[0]) < 0 || get_arr(o[1], fn, "dst", 'q', 0, a[0].len, &a[1]) < 0 ||
        get_arr(o[2], fn, "in_ptr", 'q', 1, -1, &a[2]) < 0 || get_arr(o[4], fn, "out_ptr", 'q', 1, -1, &a[4]) < 0)
        goto done;
    int64_t m = a[0].len, n = a[2].len - 1, ns = a[4].len - 1;
    if (get_arr(o[3], fn, "in_src", 'x', 1, -1, &a[3]) < 0 || get_arr(o[5], fn, "out_dst", 'x', 1, -1, &a[5]) < 0)
        goto done;
    if (n < 0 || ns < 0 || a[3].len < m || a[5].len < m || ns >= INT32_MAX || n >= INT32_MAX ||
        (a[3].width == 4 && ns > INT32_MAX) || (a[5].width == 4 && n > INT32_MAX)) {
        PyErr_SetString(PyExc_ValueError, "pins_build: output arrays too short or ids too large");
        goto done;
    }
    const int64_t *src = a[0].view.buf, *dst = a[1].view.buf;
    int64_t *in_ptr = a[2].view.buf, *out_ptr = a[4].view.buf;
    cs = calloc((size_t)(ns + 1), sizeof(int64_t));
    ct = calloc((size_t)(n + 1), sizeof(int64_t));
    by_s = malloc((size_t)(m ? m : 1) * sizeof(int32_t));
    by_t = malloc((size_t)(m ? m : 1) * sizeof(int32_t));
    if (!cs || !ct || !by_s || !by_t) { PyErr_NoMemory(); goto done; }
    for (int64_t i = 0; i < m; i++) {
        if (src[i] < 0 || src[i] >= ns || dst[i] < 0 || dst[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "pins_build: a synapse end is out of range");
            goto done;
        }
        cs[src[i] + 1]++;
        ct[dst[i] + 1]++;
    }
    for (int64_t s = 0; s < ns; s++) cs[s + 1] += cs[s];
    for (int64_t t = 0; t < n; t++) ct[t + 1] += ct[t];
    /* 1. targets grouped by source (stable) */
    for (int64_t i = 0; i < m; i++) by_s[cs[src[i]]++] = (int32_t)dst[i];
    /* 2. sources grouped by target, ascending within a target (sources visited in order) */
    for (int64_t s = 0, j = 0; s < ns; s++)
        for (; j < cs[s]; j++) by_t[ct[by_s[j]]++] = (int32_t)s;
    /* 3. distinct sources per target: the CSR by target (ct[t] is now the end of t's run) */
    int64_t k = 0;
    for (int64_t t = 0, j = 0; t < n; t++) {
        in_ptr[t] = k;
        int64_t prev = -1;
        for (; j < ct[t]; j++)
            if (by_t[j] != prev) { prev = by_t[j]; id_put(&a[3], k++, prev); }
    }
    if (n >= 0) in_ptr[n] = k;
    /* 4. the CSR by source: pins counted per source, then placed target by target */
    memset(cs, 0, (size_t)(ns + 1) * sizeof(int64_t));
    for (int64_t j = 0; j < k; j++) cs[idx_at(&a[3], j) + 1]++;
    for (int64_t s = 0; s < ns; s++) cs[s + 1] += cs[s];
    memcpy(out_ptr, cs, (size_t)(ns + 1) * sizeof(int64_t));
    for (int64_t t = 0; t < n; t++)
        for (int64_t j = in_ptr[t]; j < in_ptr[t + 1]; j++) id_put(&a[5], cs[idx_at(&a[3], j)]++, t);
    result = PyLong_FromLongLong(k);
done:
    free(cs); free(ct); free(by_s); free(by_t);
    release(a, 6);
    return result;
}

/* ---- module ----------------------------------------------------------------------------- */

/* ---- pins kept for label propagation (cluster.pin_edges) ----------------------------------
 * Pin j (target t: in_ptr[t] <= j < in_ptr[t+1], source s = in_src[j]) is kept when s != t,
 * src_ok[s] and free[t]; kept pins in pin order.  With s_out None: only counts them. */
const char PIN_KEEP_DOC[] =
    "pin_keep(in_ptr, in_src, src_ok, free, s_out, t_out) -> kept pins; s_out/t_out (int32 or int64, "
    "same width) get their sources and targets in pin order (None: count only).";

PyObject *pin_keep(PyObject *self, PyObject *args) {
    (void)self;
    const char *fn = "pin_keep";
    PyObject *o[6];
    if (!PyArg_ParseTuple(args, "OOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5])) return NULL;
    Arr A[6];
    memset(A, 0, sizeof A);
    PyObject *res = NULL;
    const int fill = o[4] != Py_None;
    if (get_arr(o[0], fn, "in_ptr", 'q', 0, -1, &A[0]) < 0 || get_arr(o[1], fn, "in_src", 'x', 0, -1, &A[1]) < 0 ||
        get_arr(o[2], fn, "src_ok", '?', 0, -1, &A[2]) < 0)
        goto done;
    const int64_t n = A[0].len - 1, n_src = A[2].len;
    if (get_arr(o[3], fn, "free", '?', 0, n, &A[3]) < 0) goto done;
    const int64_t *ptr = A[0].view.buf;
    const unsigned char *ok = A[2].view.buf, *fr = A[3].view.buf;
    if (n < 0 || ptr[0] != 0 || ptr[n] > A[1].len) {
        PyErr_Format(PyExc_ValueError, "%s: in_ptr does not index in_src", fn);
        goto done;
    }
    for (int64_t t = 0; t < n; t++)
        if (ptr[t] > ptr[t + 1]) {
            PyErr_Format(PyExc_ValueError, "%s: in_ptr is not ascending", fn);
            goto done;
        }
    int64_t kept = 0;
    for (int64_t t = 0; t < n; t++) {
        if (!fr[t]) continue;
        for (int64_t j = ptr[t]; j < ptr[t + 1]; j++) {
            const int64_t s = idx_at(&A[1], j);
            if (s < 0 || s >= n_src) {
                PyErr_Format(PyExc_ValueError, "%s: a pin's source is out of range", fn);
                goto done;
            }
            kept += s != t && ok[s];
        }
    }
    if (fill) {
        if (get_arr(o[4], fn, "s_out", 'x', 1, kept, &A[4]) < 0 || get_arr(o[5], fn, "t_out", 'x', 1, kept, &A[5]) < 0)
            goto done;
        if (A[4].width != A[5].width) {
            PyErr_Format(PyExc_ValueError, "%s: s_out and t_out must have the same dtype", fn);
            goto done;
        }
        if (check_apart(fn, A, 6, 0x30u) < 0) goto done;
        const int wide = A[4].width == 8;
        int64_t k = 0;
        for (int64_t t = 0; t < n; t++) {
            if (!fr[t]) continue;
            for (int64_t j = ptr[t]; j < ptr[t + 1]; j++) {
                const int64_t s = idx_at(&A[1], j);
                if (s == t || !ok[s]) continue;
                if (wide) ((int64_t *)A[4].view.buf)[k] = s, ((int64_t *)A[5].view.buf)[k] = t;
                else ((int32_t *)A[4].view.buf)[k] = (int32_t)s, ((int32_t *)A[5].view.buf)[k] = (int32_t)t;
                k++;
            }
        }
    }
    res = PyLong_FromLongLong((long long)kept);
done:
    release(A, 6);
    return res;
}

static PyMethodDef methods[] = {
    {"lp_adjacency", lp_adjacency, METH_VARARGS, LP_ADJ_DOC},
    {"lp_step", lp_step, METH_VARARGS, LP_STEP_DOC},
    {"refine_gains", refine_gains, METH_VARARGS, RF_GAINS_DOC},
    {"refine_connections", refine_connections, METH_VARARGS, RF_CONN_DOC},
    {"refine_apply", refine_apply, METH_VARARGS, RF_APPLY_DOC},
    {"fill_fit", fill_fit, METH_VARARGS, FILL_FIT_DOC},
    {"fill_fits_each", fill_fits_each, METH_VARARGS, FILL_EACH_DOC},
    {"same_label_weight", same_label_weight, METH_VARARGS, SAME_DOC},
    {"pins_build", pins_build, METH_VARARGS, PINS_DOC},
    {"pin_keep", pin_keep, METH_VARARGS, PIN_KEEP_DOC},
    {"core_traffic", core_traffic, METH_VARARGS, TRAFFIC_DOC},
    {"anneal_moves", anneal_moves, METH_VARARGS, ANNEAL_DOC},
    {"chip_growth", chip_growth, METH_VARARGS, GROWTH_DOC},
    {"traffic_by_chip", traffic_by_chip, METH_VARARGS, BY_CHIP_DOC},
    {"chip_pair_values", chip_pair_values, METH_VARARGS, PAIR_VALUES_DOC},
    {"row_distinct_counts", row_distinct_counts, METH_VARARGS, DISTINCT_DOC},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chipemu_mapper_kernel",
    "Compiled hot loops of chipemu's traffic mapper (see mapper/kernel.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__chipemu_mapper_kernel(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    /* bump when the kernel's interface changes: the mapper uses it only if it matches */
    PyModule_AddIntConstant(m, "VERSION", 5);
    return m;
}
