/*
 * _mapper_kernel.h: what the sources of _chipemu_mapper_kernel share (mapper/_mapper_kernel.c:
 * the module, label propagation, the pin graph and its kept pins; mapper/_mapper_kernel_cores.c:
 * refinement, core filling, distinct partners per core; mapper/_mapper_kernel_place.c: core
 * traffic, annealing; mapper/_mapper_kernel_chips.c: the chip-level partition): the checked
 * reading of arrays at the boundary and the methods.
 */
#ifndef CHIPEMU_MAPPER_KERNEL_H
#define CHIPEMU_MAPPER_KERNEL_H
#ifdef __FAST_MATH__
#error "_chipemu_mapper_kernel must not be built with -ffast-math / -Ofast: its results must equal the numpy code's"
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- arrays at the boundary ----------------------------------------------------------- */

typedef struct {
    Py_buffer view;
    int64_t len;
    int width; /* bytes per item */
    int held;
} Arr;

/* kind: 'q' int64, 'i' int32, 'x' int32 or int64, '?' bool (or uint8), 'f' float64 */
static inline int get_arr(PyObject *o, const char *fn, const char *name, char kind, int writable, int64_t n, Arr *a) {
    a->held = 0;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, &a->view, flags) < 0) return -1;
    a->held = 1;
    const char *f = a->view.format ? a->view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int sz = (int)a->view.itemsize;
    int sint = f[0] != 0 && f[1] == 0 && (f[0] == 'i' || f[0] == 'l' || f[0] == 'q');
    int ok = 0;
    const char *what = "";
    switch (kind) {
    case 'q': ok = sint && sz == 8; what = "int64"; break;
    case 'i': ok = sint && sz == 4; what = "int32"; break;
    case 'x': ok = sint && (sz == 4 || sz == 8); what = "int32 or int64"; break;
    case '?': ok = f[0] != 0 && f[1] == 0 && (f[0] == '?' || f[0] == 'B') && sz == 1; what = "bool"; break;
    case 'f': ok = f[0] == 'd' && f[1] == 0 && sz == 8; what = "float64"; break;
    }
    a->width = sz;
    a->len = sz > 0 ? (int64_t)(a->view.len / sz) : 0;
    if (!ok || (n >= 0 && a->len != n)) {
        PyErr_Format(PyExc_ValueError, "%s: %s must be a contiguous %s array%s", fn, name, what,
                     ok ? " of the right length" : "");
        return -1;
    }
    return 0;
}

static inline void release(Arr *a, int n) {
    for (int i = 0; i < n; i++)
        if (a[i].held) { PyBuffer_Release(&a[i].view); a[i].held = 0; }
}

/* whether two held arrays share memory */
static inline int shares(const Arr *x, const Arr *y) {
    if (!x->held || !y->held || x->view.len == 0 || y->view.len == 0) return 0;
    const char *a = x->view.buf, *b = y->view.buf;
    return a < b + y->view.len && b < a + x->view.len;
}

/* ValueError unless every array written (bit i of written: arrs[i]) shares no memory with any
 * other of the call's n arrays: an aliased output would change inputs already checked */
static inline int check_apart(const char *fn, const Arr *arrs, int n, unsigned written) {
    for (int i = 0; i < n; i++)
        if (written >> i & 1u)
            for (int j = 0; j < n; j++)
                if (j != i && shares(&arrs[i], &arrs[j])) {
                    PyErr_Format(PyExc_ValueError, "%s: an output array shares memory with another argument", fn);
                    return -1;
                }
    return 0;
}

static inline int64_t idx_at(const Arr *a, int64_t i) {
    return a->width == 8 ? ((const int64_t *)a->view.buf)[i] : (int64_t)((const int32_t *)a->view.buf)[i];
}

static inline int grow(void **p, int64_t *cap, int64_t need, size_t size) {
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}


/* ---- a compartment's pins (refinement, core filling) ---------------------------------------
 * The pins of a compartment v: its in-pins in_src[in_ptr[v] .. in_ptr[v+1]-1] (sources,
 * compartments < n and inputs >= n) and its out-pins out_dst[out_ptr[v] .. out_ptr[v+1]-1]
 * (target compartments).  Its synapse partners (refine._partners): the compartment sources
 * of its in-pins other than v (weight rate[u]) and the targets of its out-pins other than v
 * (weight rate[v]). */

typedef struct {
    Arr in_ptr, in_src, out_ptr, out_dst;
    int64_t n, n_src;
} Pins;

/* the CSRs of a MapGraph; n = len(in_ptr) - 1, n_src = len(out_ptr) - 1 (out_ptr may be NULL) */
static inline int get_pins(const char *fn, PyObject *ip, PyObject *is, PyObject *op, PyObject *od, Pins *p) {
    memset(p, 0, sizeof *p);
    if (get_arr(ip, fn, "in_ptr", 'q', 0, -1, &p->in_ptr) < 0 || get_arr(is, fn, "in_src", 'x', 0, -1, &p->in_src) < 0)
        return -1;
    p->n = p->in_ptr.len - 1;
    const int64_t *ptr = p->in_ptr.view.buf;
    if (p->n < 0 || ptr[0] != 0 || ptr[p->n] > p->in_src.len) {
        PyErr_Format(PyExc_ValueError, "%s: in_ptr does not index in_src", fn);
        return -1;
    }
    if (op) {
        if (get_arr(op, fn, "out_ptr", 'q', 0, -1, &p->out_ptr) < 0 || get_arr(od, fn, "out_dst", 'x', 0, -1, &p->out_dst) < 0)
            return -1;
        p->n_src = p->out_ptr.len - 1;
        const int64_t *optr = p->out_ptr.view.buf;
        if (p->n_src < p->n || optr[0] != 0 || optr[p->n_src] > p->out_dst.len) {
            PyErr_Format(PyExc_ValueError, "%s: out_ptr does not index out_dst", fn);
            return -1;
        }
    }
    return 0;
}

static inline void release_pins(Pins *p) {
    Arr *a[4] = {&p->in_ptr, &p->in_src, &p->out_ptr, &p->out_dst};
    for (int i = 0; i < 4; i++) release(a[i], 1);
}

/* checked row bounds of a CSR: 0 on success */
static inline int row_of(const Arr *ptr, int64_t v, int64_t n, int64_t *lo, int64_t *hi) {
    if (v < 0 || v >= n) return -1;
    const int64_t *p = ptr->view.buf;
    *lo = p[v];
    *hi = p[v + 1];
    return *lo <= *hi ? 0 : -1;
}

/* the methods (one per hot loop) and their docstrings */
PyObject *lp_adjacency(PyObject *self, PyObject *args);
PyObject *lp_step(PyObject *self, PyObject *args);
PyObject *refine_gains(PyObject *self, PyObject *args);
PyObject *refine_connections(PyObject *self, PyObject *args);
PyObject *refine_apply(PyObject *self, PyObject *args);
PyObject *fill_fit(PyObject *self, PyObject *args);
PyObject *fill_fits_each(PyObject *self, PyObject *args);
PyObject *same_label_weight(PyObject *self, PyObject *args);
PyObject *pins_build(PyObject *self, PyObject *args);
PyObject *pin_keep(PyObject *self, PyObject *args);
PyObject *core_traffic(PyObject *self, PyObject *args);
PyObject *anneal_moves(PyObject *self, PyObject *args);
PyObject *chip_growth(PyObject *self, PyObject *args);
PyObject *traffic_by_chip(PyObject *self, PyObject *args);
PyObject *chip_pair_values(PyObject *self, PyObject *args);
PyObject *row_distinct_counts(PyObject *self, PyObject *args);
extern const char LP_ADJ_DOC[];
extern const char LP_STEP_DOC[];
extern const char RF_GAINS_DOC[];
extern const char RF_CONN_DOC[];
extern const char RF_APPLY_DOC[];
extern const char FILL_FIT_DOC[];
extern const char FILL_EACH_DOC[];
extern const char SAME_DOC[];
extern const char PINS_DOC[];
extern const char PIN_KEEP_DOC[];
extern const char TRAFFIC_DOC[];
extern const char ANNEAL_DOC[];
extern const char GROWTH_DOC[];
extern const char BY_CHIP_DOC[];
extern const char PAIR_VALUES_DOC[];
extern const char DISTINCT_DOC[];

#endif
