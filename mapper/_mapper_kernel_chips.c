/*
 * _mapper_kernel_chips.c: the chip-level partition of _chipemu_mapper_kernel (see
 * mapper/kernel.py): chips_by_traffic's growth, the traffic summed by chip and a chip table
 * read per traffic pair (mapper.place.chips_by_traffic, _place_groups, interchip_cost,
 * place_system).  Same numbers as the numpy code, bit for bit: integer bookkeeping, and
 * every float sum in the numpy code's order (setup.py builds with -ffp-contract=off).
 */
#include "_mapper_kernel.h"

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
    if (check_apart(fn, A, 5, 0x8u) < 0) goto done;
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
    if (check_apart(fn, A, 9, 0x1F0u) < 0) goto done;
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
    if (check_apart(fn, A, 5, 0x10u) < 0) goto done;
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
