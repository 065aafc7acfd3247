/*
 * _chipemu_noc_kernel: the channel and chunk bookkeeping of chipemu's SimPy NoC model
 * (chipemu/noc/simpy_model.py), compiled.
 *
 * The model is the one of chipemu/noc/simpy_model.py, rule for rule: the same stages,
 * buffers, grants and delivery sums, the same float operations in the same order (this
 * file is built with -ffp-contract=off, so a * b + c is never fused), the same order of
 * instants (by time) and of the items of an instant (the order they were scheduled).
 * tests/test_noc_equivalence.py checks every step result and counter against the first
 * SimPy model bit for bit.  SimPy stays the engine: it holds one event per NoC cycle
 * and calls StepKernel.advance, which processes the instants of that cycle here.
 *
 * One StepKernel per NoC model.  Channels are numbered by the caller (injection port of
 * core k, link l, ejection port of core k); their period (s) and buffer depth (packets,
 * -1 = no limit) are fixed at construction.  A step: start() with the step's chunks and
 * the stages of its trains (arrays), then advance() until it returns -1, then finish()
 * for the counters and sums.
 */
#ifdef __FAST_MATH__
#error "_chipemu_noc_kernel must not be built with -ffast-math / -Ofast: its results must be the Python model's, bit for bit"
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* something that happens at an instant: a chunk's head reaching a stage (stalled -1) or a
 * channel granting a queued chunk its stage (stalled 0 or 1) */
/* A pending item: its instant ``time`` (s), the order it was scheduled in (``seq``), the
 * chunk, the stage, the chunk's head and tail times (s); for an arrival (stalled -1) also the
 * stage's channel and the chunk's packets, so that a chunk that must queue costs no lookup. */
typedef struct {
    double time, head, tail;
    uint32_t seq; int32_t chunk, stage, stalled, chan, n;
} Entry;
/* a chunk: packets, train, first packet, its train's first stage and last stage index */
typedef struct { int64_t n, train, i0, off, last; } Chunk;
/* one stage of a train: its channel, its link (-1: a port) and its latency (s) */
typedef struct { int64_t chan, link; double latency; } Stage;
typedef struct { int64_t chunk, stage, n; double arrival, tail; } Wait;                  /* a queued chunk */
typedef struct { double last, t; } Late;

typedef struct {
    /* the fields every visit reads, in the first 64 bytes */
    int64_t stamp;                                     /* the step that last used it */
    double free_at, period;
    int64_t depth, unknown, lv_head, lv_len, q_len;
    double *lv; int64_t lv_cap;                        /* sorted leave times lv[lv_head .. +lv_len) */
    Wait *q; int64_t q_head, q_cap;                    /* FIFO q[q_head .. +q_len) */
    Late *late; int64_t late_len, late_cap;
} Chan;

typedef struct {
    PyObject_HEAD
    int64_t n_chan, n_links, n_cores;
    Chan *chan;
    double inject_s;
    int release_last;
    /* the step */
    int64_t n_chunks, n_trains;
    int64_t *chunk_n, *chunk_train, *chunk_i0;
    int64_t *train_off, *stage_chan, *stage_link, *train_src, *train_dst;
    double *stage_lat, *first_s, *period_s, *nominal_s;
    Stage *stage; int64_t stage_cap;                   /* the three stage arrays, packed */
    Chunk *chunk; int64_t chunk_cap;                   /* the chunk arrays, packed */
    int64_t step;                                        /* steps started */
    int64_t *used; int64_t n_used, used_cap;             /* channels used in this step */
    /* pending items: a 4-ary min-heap by (time, seq) */
    Entry *heap; int64_t heap_len, heap_cap;
    uint64_t seq;
    int64_t instants;  /* distinct times processed in this step */
    double last_time;
    /* results */
    int64_t *link_packets, *out_packets, *in_packets;
    int64_t stalls, injected, delivered;
    double drain_s, queue_delay_s, latency_sum_s, max_latency_s;
    int failed;  /* 1: out of memory, 2: more than 2^32 events in one step */
    int started; /* a step was set up completely (advance and finish need one) */
} Kernel;

static void *grow(void *p, int64_t *cap, int64_t need, size_t size, Kernel *k) {
    if (need <= *cap) return p;
    int64_t c = *cap ? *cap : 8;
    while (c < need) c *= 2;
    void *q = realloc(p, (size_t)c * size);
    if (!q) { k->failed = 1; return p; }
    *cap = c;
    return q;
}

/* ---- pending items ------------------------------------------------------------------
 * The model processes instants in time order and the items of an instant in the order they
 * were scheduled, including items scheduled for the current instant while it runs.  A heap
 * ordered by (time, scheduling sequence number) gives exactly that order. */

static inline int before(const Entry *a, const Entry *b) {
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void schedule(Kernel *k, double time, int64_t c, int64_t s, double head, double tail, int stalled,
                     int64_t chan, int64_t n) {
    if (k->seq > UINT32_MAX) { k->failed = 2; return; }  /* (4G events in one step: not a real case) */
    k->heap = grow(k->heap, &k->heap_cap, k->heap_len + 1, sizeof(Entry), k);
    if (k->failed) return;
    Entry e;
    e.time = time; e.seq = k->seq++; e.head = head; e.tail = tail;
    e.chunk = (int32_t)c; e.stage = (int32_t)s; e.stalled = stalled; e.chan = (int32_t)chan; e.n = (int32_t)n;
    int64_t i = k->heap_len++;
    while (i > 0) {
        int64_t p = (i - 1) / 4;
        if (!before(&e, &k->heap[p])) break;
        k->heap[i] = k->heap[p];
        i = p;
    }
    k->heap[i] = e;
}

static Entry unschedule(Kernel *k) {
    Entry top = k->heap[0], last = k->heap[--k->heap_len];
    int64_t n = k->heap_len, i = 0;
    for (;;) {
        int64_t c = 4 * i + 1;
        if (c >= n) break;
        int64_t best = c, end = c + 4 < n ? c + 4 : n;
        for (int64_t j = c + 1; j < end; j++)
            if (before(&k->heap[j], &k->heap[best])) best = j;
        if (!before(&k->heap[best], &last)) break;
        k->heap[i] = k->heap[best];
        i = best;
    }
    if (n) k->heap[i] = last;
    return top;
}

/* ---- channels (simpy_model._Channel) ------------------------------------------------ */

static void chan_reset(Chan *ch) {
    ch->free_at = -INFINITY; ch->unknown = 0;
    ch->lv_head = ch->lv_len = 0; ch->late_len = 0; ch->q_head = ch->q_len = 0;
}

/* channel i, emptied the first time a step uses it */
static Chan *chan_of(Kernel *k, int64_t i) {
    Chan *ch = &k->chan[i];
    if (ch->stamp != k->step) {
        chan_reset(ch);
        ch->stamp = k->step;
        k->used = grow(k->used, &k->used_cap, k->n_used + 1, sizeof(int64_t), k);
        if (!k->failed) k->used[k->n_used++] = i;
    }
    return ch;
}

static void enqueue(Kernel *k, Chan *ch, int64_t c, int64_t s, double arrival, int64_t n, double tail) {
    if (ch->q_head + ch->q_len + 1 > ch->q_cap && ch->q_head) {
        memmove(ch->q, ch->q + ch->q_head, (size_t)ch->q_len * sizeof(Wait));
        ch->q_head = 0;
    }
    ch->q = grow(ch->q, &ch->q_cap, ch->q_head + ch->q_len + 1, sizeof(Wait), k);
    if (k->failed) return;
    Wait *w = &ch->q[ch->q_head + ch->q_len++];
    w->chunk = c; w->stage = s; w->arrival = arrival; w->n = n; w->tail = tail;
}

static void lv_reserve(Kernel *k, Chan *ch, int64_t extra) {
    if (ch->lv_head + ch->lv_len + extra > ch->lv_cap && ch->lv_head) {
        memmove(ch->lv, ch->lv + ch->lv_head, (size_t)ch->lv_len * sizeof(double));
        ch->lv_head = 0;
    }
    ch->lv = grow(ch->lv, &ch->lv_cap, ch->lv_head + ch->lv_len + extra, sizeof(double), k);
}

/* insert t in the sorted leave times (after equal values, as bisect.insort) */
static void lv_insert(Kernel *k, Chan *ch, double t) {
    lv_reserve(k, ch, 1);
    if (k->failed) return;
    double *v = ch->lv + ch->lv_head;
    int64_t i = ch->lv_len;
    while (i > 0 && v[i - 1] > t) { v[i] = v[i - 1]; i--; }
    v[i] = t;
    ch->lv_len++;
}

static void drop_late(Chan *ch, double now) {
    int64_t keep = 0;
    for (int64_t j = 0; j < ch->late_len; j++) {
        Late e = ch->late[j];
        if (e.t <= now) continue;
        if (e.last <= now) {  /* leaving.remove(t) */
            double *v = ch->lv + ch->lv_head;
            for (int64_t i = 0; i < ch->lv_len; i++) {
                if (v[i] == e.t) {
                    memmove(v + i, v + i + 1, (size_t)(ch->lv_len - i - 1) * sizeof(double));
                    ch->lv_len--;
                    break;
                }
            }
        } else {
            ch->late[keep++] = e;
        }
    }
    ch->late_len = keep;
}

/* _Channel._try: 1 and the grant, or 0 (the room depends on chunks not granted yet) */
static int chan_try(Chan *ch, double now, double arrival, int64_t n, double tail,
                    double *g_head, double *g_tail, int *g_stalled) {
    double room_head = -INFINITY, room_tail = -INFINITY;
    int64_t depth = ch->depth;
    if (depth >= 0) {
        int64_t unknown = ch->unknown;
        if (unknown + ch->lv_len + n > depth) {
            if (unknown + n > depth) return 0;
            double *v = ch->lv + ch->lv_head;
            int64_t lo = 0, hi = ch->lv_len;  /* bisect_right(leaving, now) */
            while (lo < hi) { int64_t mid = (lo + hi) / 2; if (now < v[mid]) hi = mid; else lo = mid + 1; }
            ch->lv_head += lo; ch->lv_len -= lo;
            if (ch->late_len) drop_late(ch, now);
            v = ch->lv + ch->lv_head;
            int64_t excess = unknown + ch->lv_len - depth;
            if (excess >= 0) room_head = v[excess];
            if (excess + n > 0) room_tail = v[excess + n - 1];
        }
        ch->unknown = unknown + n;
    }
    double free_at = ch->free_at;
    double ready = free_at > arrival ? free_at : arrival;
    double head = room_head > ready ? room_head : ready;
    if (now > head) head = now;
    double stream = head + (double)(n - 1) * ch->period;
    if (tail > stream) stream = tail;
    double tail_start = room_tail > stream ? room_tail : stream;
    ch->free_at = tail_start + ch->period;
    *g_head = head; *g_tail = tail_start;
    *g_stalled = (room_head > ready) || (room_tail > stream);
    return 1;
}

/* _Channel.release: n packets leave the buffer from first to last; queued chunks it can
 * now serve are granted the stage in the current instant */
static void chan_release(Kernel *k, Chan *ch, double now, int64_t n, double first, double last) {
    ch->unknown -= n;
    if (n == 1) {
        lv_insert(k, ch, last);
    } else {
        double step = (last - first) / (double)(n - 1);
        lv_reserve(k, ch, n);
        if (k->failed) return;
        double *v = ch->lv + ch->lv_head;
        int64_t base = ch->lv_len;
        double prev_last = base ? v[base - 1] : -INFINITY;
        v[base] = first;
        for (int64_t i = 1; i < n; i++) v[base + i] = first + (double)i * step;
        if (v[base + n - 1] > last) {
            for (int64_t i = 0; i < n; i++) {
                if (v[base + i] > last) {
                    ch->late = grow(ch->late, &ch->late_cap, ch->late_len + 1, sizeof(Late), k);
                    if (k->failed) return;
                    ch->late[ch->late_len].last = last;
                    ch->late[ch->late_len++].t = v[base + i];
                }
            }
        }
        ch->lv_len += n;
        if (base && first < prev_last) {  /* keep it sorted (values only matter) */
            for (int64_t i = base; i < ch->lv_len; i++) {
                double t = v[i];
                int64_t j = i;
                while (j > 0 && v[j - 1] > t) { v[j] = v[j - 1]; j--; }
                v[j] = t;
            }
        }
    }
    while (ch->q_len) {
        Wait w = ch->q[ch->q_head];
        if (ch->unknown + w.n > ch->depth) break;
        double h, t; int st;
        chan_try(ch, now, w.arrival, w.n, w.tail, &h, &t, &st);
        ch->q_head++; ch->q_len--;
        schedule(k, now, w.chunk, w.stage, h, t, st, -1, w.n);  /* in the current instant */
        if (k->failed) return;
    }
}

/* ---- chunks (simpy_model._StepSim) -------------------------------------------------- */

static void deliver(Kernel *k, int64_t t, int64_t i0, int64_t n, double head_done, double tail_done) {
    k->delivered += n;
    k->in_packets[k->train_dst[t]] += n;
    double first = k->first_s[t], period = k->period_s[t], inject_s = k->inject_s;
    double ready = k->nominal_s[t] + (double)i0 * inject_s;
    double head_lat = head_done - ready;
    double tail_lat = tail_done - (ready + (double)(n - 1) * inject_s);
    double head_zero = first + (double)i0 * (period - inject_s);
    double tail_zero = first + (double)(i0 + n - 1) * (period - inject_s);
    k->latency_sum_s += ((double)n * (head_lat + tail_lat)) / 2.0;
    double excess = (((head_lat - head_zero) + tail_lat) - tail_zero) / 2.0;
    k->queue_delay_s += (double)n * (excess > 0.0 ? excess : 0.0);
    double worst = k->max_latency_s;
    if (head_lat > worst) worst = head_lat;
    if (tail_lat > worst) worst = tail_lat;
    k->max_latency_s = worst;
    if (tail_done > k->drain_s) k->drain_s = tail_done;
}

static void carry(Kernel *k, int64_t c, int64_t s, double now, double head, double tail, int stalled) {
    const Chunk *ck = &k->chunk[c];
    int64_t n = ck->n, tc = ck->train, off = ck->off, last = ck->last;
    for (;;) {
        if (stalled) k->stalls++;
        if (s == 0) {
            k->injected += n;
            k->out_packets[k->train_src[tc]] += n;
            head = head + k->inject_s; tail = tail + k->inject_s;
        } else {
            chan_release(k, chan_of(k, k->stage[off + s - 1].chan), now, n, head, tail);
            if (k->failed) return;
            const Stage *st = &k->stage[off + s];
            int64_t link = st->link;
            if (link >= 0) k->link_packets[link] += n;
            double latency = st->latency;
            head = head + latency; tail = tail + latency;
        }
        if (s == last) break;
        s++;
        double delay = head - now;
        if (delay > 0) {
            /* (now + delay: the time SimPy gives a timeout of delay) */
            schedule(k, now + delay, c, s, head, tail, -1, k->stage[off + s].chan, n);
            return;
        }
        Chan *ch = chan_of(k, k->stage[off + s].chan);
        if (ch->q_len || !chan_try(ch, now, head, n, tail, &head, &tail, &stalled)) {
            enqueue(k, ch, c, s, head, n, tail);
            return;
        }
    }
    if (k->release_last)
        chan_release(k, chan_of(k, k->stage[off + last].chan), now, n, head, tail);
    deliver(k, tc, k->chunk[c].i0, n, head, tail);
}

/* a chunk's head reaches stage s (its tail at ``tail``): ask the stage, carry it on if granted */
static void arrive(Kernel *k, int64_t c, int64_t s, int64_t chan, int64_t n, double now, double head,
                   double tail) {
    Chan *ch = chan_of(k, chan);
    double h, t; int st;
    if (ch->q_len || !chan_try(ch, now, head, n, tail, &h, &t, &st)) {
        enqueue(k, ch, c, s, head, n, tail);
        return;
    }
    carry(k, c, s, now, h, t, st);
}

static PyObject *failure(Kernel *k) {
    if (k->failed == 2)
        PyErr_SetString(PyExc_RuntimeError, "NoC kernel: more than 2^32 events in one step");
    else
        PyErr_NoMemory();
    return NULL;
}

/* ---- Python interface ----------------------------------------------------------------- */

static int get_array(PyObject *obj, const char *name, char kind, int64_t n, void **dst, Kernel *k) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view.format ? view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int ok = view.itemsize == 8 && f[1] == 0 &&
             (kind == 'd' ? f[0] == 'd' : (f[0] == 'q' || f[0] == 'l'));
    int64_t len = view.len / 8;
    if (!ok || (n >= 0 && len != n)) {
        PyErr_Format(PyExc_ValueError, "StepKernel: %s must be a contiguous %s array%s", name,
                     kind == 'd' ? "float64" : "int64", ok ? " of the right length" : "");
        PyBuffer_Release(&view);
        return -1;
    }
    void *p = realloc(*dst, (size_t)(len ? len : 1) * 8);
    if (!p) { PyBuffer_Release(&view); PyErr_NoMemory(); return -1; }
    memcpy(p, view.buf, (size_t)len * 8);
    *dst = p;
    PyBuffer_Release(&view);
    (void)k;
    return (int)(len >= 0);
}

static int64_t array_len(PyObject *obj) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    int64_t n = view.itemsize ? view.len / view.itemsize : 0;
    PyBuffer_Release(&view);
    return n;
}

static void Kernel_dealloc(Kernel *k) {
    if (k->chan) {
        for (int64_t i = 0; i < k->n_chan; i++) {
            free(k->chan[i].lv); free(k->chan[i].late); free(k->chan[i].q);
        }
    }
    free(k->chan);
    free(k->chunk_n); free(k->chunk_train); free(k->chunk_i0); free(k->train_off);
    free(k->stage_chan); free(k->stage_link); free(k->train_src); free(k->train_dst);
    free(k->stage); free(k->chunk); free(k->stage_lat); free(k->first_s); free(k->period_s); free(k->nominal_s); free(k->used);
    free(k->heap);
    free(k->link_packets); free(k->out_packets); free(k->in_packets);
    Py_TYPE(k)->tp_free((PyObject *)k);
}

static int Kernel_init(Kernel *k, PyObject *args, PyObject *kw) {
    static char *names[] = {"periods", "depths", "inject_s", "release_last", "n_links", "n_cores", NULL};
    if (k->chan) { PyErr_SetString(PyExc_RuntimeError, "StepKernel: already initialised"); return -1; }
    PyObject *periods, *depths;
    double inject_s; int release_last; long long n_links, n_cores;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOdpLL", names, &periods, &depths, &inject_s,
                                     &release_last, &n_links, &n_cores))
        return -1;
    double *p = NULL; int64_t *d = NULL;
    int64_t n = array_len(periods);
    if (n < 0 || get_array(periods, "periods", 'd', -1, (void **)&p, k) < 0 ||
        get_array(depths, "depths", 'q', n, (void **)&d, k) < 0) { free(p); free(d); return -1; }
    void *chans = NULL;  /* line-aligned: a channel's hot fields share one cache line */
    if (posix_memalign(&chans, 64, (size_t)(n ? n : 1) * sizeof(Chan)) == 0) {
        memset(chans, 0, (size_t)(n ? n : 1) * sizeof(Chan));
        k->chan = chans;
    }
    k->link_packets = calloc((size_t)(n_links ? n_links : 1), 8);
    k->out_packets = calloc((size_t)(n_cores ? n_cores : 1), 8);
    k->in_packets = calloc((size_t)(n_cores ? n_cores : 1), 8);
    if (!k->chan || !k->link_packets || !k->out_packets || !k->in_packets) {
        free(p); free(d); PyErr_NoMemory(); return -1;
    }
    for (int64_t i = 0; i < n; i++) { k->chan[i].period = p[i]; k->chan[i].depth = d[i]; chan_reset(&k->chan[i]); }
    free(p); free(d);
    k->n_chan = n; k->n_links = n_links; k->n_cores = n_cores;
    k->inject_s = inject_s; k->release_last = release_last;
    return 0;
}

PyDoc_STRVAR(start_doc,
"start(chunk_n, chunk_train, chunk_i0, train_off, stage_chan, stage_lat, stage_link, train_src,\n"
"      train_dst, first_s, period_s, nominal_s)\n\n"
"Begin a step: at time 0 every chunk asks its injection port, in canonical order.\n"
"Train t's stages are entries train_off[t] .. train_off[t+1]-1 of the stage arrays\n"
"(channel, latency s, link id or -1).  A channel is emptied when the step first uses it.");

static PyObject *Kernel_start(Kernel *k, PyObject *args) {
    PyObject *a[12];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOO", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6],
                          &a[7], &a[8], &a[9], &a[10], &a[11]))
        return NULL;
    k->failed = 0;  /* (a step that ran out of memory leaves the next one unaffected) */
    k->started = 0;
    int64_t C = array_len(a[0]);
    int64_t T1 = array_len(a[3]);
    if (C < 0 || T1 < 1) { if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "StepKernel.start: bad arrays"); return NULL; }
    int64_t T = T1 - 1;
    if (get_array(a[0], "chunk_n", 'q', C, (void **)&k->chunk_n, k) < 0 ||
        get_array(a[1], "chunk_train", 'q', C, (void **)&k->chunk_train, k) < 0 ||
        get_array(a[2], "chunk_i0", 'q', C, (void **)&k->chunk_i0, k) < 0 ||
        get_array(a[3], "train_off", 'q', T1, (void **)&k->train_off, k) < 0)
        return NULL;
    int64_t S = k->train_off[T];
    if (get_array(a[4], "stage_chan", 'q', S, (void **)&k->stage_chan, k) < 0 ||
        get_array(a[5], "stage_lat", 'd', S, (void **)&k->stage_lat, k) < 0 ||
        get_array(a[6], "stage_link", 'q', S, (void **)&k->stage_link, k) < 0 ||
        get_array(a[7], "train_src", 'q', T, (void **)&k->train_src, k) < 0 ||
        get_array(a[8], "train_dst", 'q', T, (void **)&k->train_dst, k) < 0 ||
        get_array(a[9], "first_s", 'd', T, (void **)&k->first_s, k) < 0 ||
        get_array(a[10], "period_s", 'd', T, (void **)&k->period_s, k) < 0 ||
        get_array(a[11], "nominal_s", 'd', T, (void **)&k->nominal_s, k) < 0)
        return NULL;
    /* the arrays come from chipemu's own code; check the indices anyway (no wild writes) */
    for (int64_t i = 0; i < S; i++)
        if (k->stage_chan[i] < 0 || k->stage_chan[i] >= k->n_chan || k->stage_link[i] >= k->n_links)
            { PyErr_SetString(PyExc_ValueError, "StepKernel.start: stage index out of range"); return NULL; }
    if (k->train_off[0] != 0)
        { PyErr_SetString(PyExc_ValueError, "StepKernel.start: train_off[0] must be 0"); return NULL; }
    for (int64_t t = 0; t < T; t++)
        if (k->train_off[t + 1] <= k->train_off[t] || k->train_src[t] < 0 || k->train_src[t] >= k->n_cores ||
            k->train_dst[t] < 0 || k->train_dst[t] >= k->n_cores)
            { PyErr_SetString(PyExc_ValueError, "StepKernel.start: train out of range"); return NULL; }
    if (C > INT32_MAX / 2 || k->n_chan > INT32_MAX || S > INT32_MAX)
        { PyErr_SetString(PyExc_ValueError, "StepKernel.start: too many chunks, stages or channels"); return NULL; }
    for (int64_t c = 0; c < C; c++)
        if (k->chunk_n[c] > INT32_MAX || k->chunk_train[c] < 0 || k->chunk_train[c] >= T || k->chunk_n[c] < 1)
            { PyErr_SetString(PyExc_ValueError, "StepKernel.start: chunk out of range"); return NULL; }
    k->stage = grow(k->stage, &k->stage_cap, S ? S : 1, sizeof(Stage), k);
    if (k->failed) return PyErr_NoMemory();
    for (int64_t i = 0; i < S; i++) {
        k->stage[i].chan = k->stage_chan[i]; k->stage[i].link = k->stage_link[i];
        k->stage[i].latency = k->stage_lat[i];
    }
    k->chunk = grow(k->chunk, &k->chunk_cap, C ? C : 1, sizeof(Chunk), k);
    if (k->failed) return PyErr_NoMemory();
    for (int64_t c = 0; c < C; c++) {
        int64_t t = k->chunk_train[c];
        Chunk *ck = &k->chunk[c];
        ck->n = k->chunk_n[c]; ck->train = t; ck->i0 = k->chunk_i0[c];
        ck->off = k->train_off[t]; ck->last = k->train_off[t + 1] - k->train_off[t] - 1;
    }
    k->n_chunks = C; k->n_trains = T;
    k->step++;  /* every channel is emptied when the step first uses it (chan_of) */
    k->n_used = 0;
    memset(k->link_packets, 0, (size_t)k->n_links * 8);
    memset(k->out_packets, 0, (size_t)k->n_cores * 8);
    memset(k->in_packets, 0, (size_t)k->n_cores * 8);
    k->stalls = k->injected = k->delivered = 0;
    k->drain_s = k->queue_delay_s = k->latency_sum_s = k->max_latency_s = 0.0;
    k->failed = 0;
    k->heap_len = 0; k->seq = 0; k->instants = 0; k->last_time = -INFINITY;
    for (int64_t c = 0; c < C && !k->failed; c++)
        arrive(k, c, 0, k->stage[k->chunk[c].off].chan, k->chunk[c].n, 0.0, 0.0, 0.0);
    if (k->failed) return failure(k);
    k->started = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(advance_doc,
"advance(window) -> float\n\n"
"Process the earliest pending instant and every other instant earlier than its time +\n"
"``window`` (s), in time order; return the time of the next pending instant, or -1.0.");

static PyObject *Kernel_advance(Kernel *k, PyObject *arg) {
    double window = PyFloat_AsDouble(arg);
    if (window == -1.0 && PyErr_Occurred()) return NULL;
    if (!k->started) { PyErr_SetString(PyExc_RuntimeError, "StepKernel.advance: no step started"); return NULL; }
    if (k->heap_len) {
        double first = k->heap[0].time, end = first + window;
        do {
            Entry e = unschedule(k);
            double now = e.time;
            if (now != k->last_time) { k->instants++; k->last_time = now; }
            if (e.stalled < 0) arrive(k, e.chunk, e.stage, e.chan, e.n, now, e.head, e.tail);
            else carry(k, e.chunk, e.stage, now, e.head, e.tail, e.stalled);
            if (k->failed) { k->started = 0; return failure(k); }
        } while (k->heap_len && (k->heap[0].time < end || k->heap[0].time == first));
    }
    return PyFloat_FromDouble(k->heap_len ? k->heap[0].time : -1.0);
}

PyDoc_STRVAR(finish_doc,
"finish(link, out, into) -> (drain_s, stalls, injected, delivered, queue_delay_s,\n"
"                            latency_sum_s, max_latency_s, blocked, instants)\n\n"
"Add the step's packets per link and per core (out, in) to the int64 arrays given, and\n"
"return the step's sums; ``blocked`` counts chunks still queued (0 unless packets were lost),\n"
"``instants`` the distinct times at which something happened.");

static int add_into(PyObject *obj, const int64_t *src, int64_t n) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0) return -1;
    const char *f = view.format ? view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    if (view.itemsize != 8 || (f[0] != 'q' && f[0] != 'l') || view.len / 8 != n) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "StepKernel.finish: counters must be int64 arrays of the model's size");
        return -1;
    }
    int64_t *d = view.buf;
    for (int64_t i = 0; i < n; i++) d[i] += src[i];
    PyBuffer_Release(&view);
    return 0;
}

static PyObject *Kernel_finish(Kernel *k, PyObject *args) {
    PyObject *link, *out, *into;
    if (!PyArg_ParseTuple(args, "OOO", &link, &out, &into)) return NULL;
    if (!k->started) { PyErr_SetString(PyExc_RuntimeError, "StepKernel.finish: no step started"); return NULL; }
    if (add_into(link, k->link_packets, k->n_links) < 0 || add_into(out, k->out_packets, k->n_cores) < 0 ||
        add_into(into, k->in_packets, k->n_cores) < 0)
        return NULL;
    int64_t blocked = 0;
    for (int64_t i = 0; i < k->n_used; i++) blocked += k->chan[k->used[i]].q_len;
    return Py_BuildValue("dLLLdddLL", k->drain_s, (long long)k->stalls, (long long)k->injected,
                         (long long)k->delivered, k->queue_delay_s, k->latency_sum_s, k->max_latency_s,
                         (long long)blocked, (long long)k->instants);
}

static PyMethodDef Kernel_methods[] = {
    {"start", (PyCFunction)Kernel_start, METH_VARARGS, start_doc},
    {"advance", (PyCFunction)Kernel_advance, METH_O, advance_doc},
    {"finish", (PyCFunction)Kernel_finish, METH_VARARGS, finish_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_chipemu_noc_kernel.StepKernel",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("StepKernel(periods, depths, inject_s, release_last, n_links, n_cores): "
                        "the compiled bookkeeping of chipemu's SimPy NoC model (one per model)."),
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Kernel_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_methods = Kernel_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chipemu_noc_kernel",
    "Compiled bookkeeping of chipemu's SimPy NoC model (see chipemu/noc/simpy_model.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__chipemu_noc_kernel(void) {
    if (PyType_Ready(&KernelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&KernelType);
    if (PyModule_AddObject(m, "StepKernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(&KernelType); Py_DECREF(m); return NULL;
    }
    /* bump when the kernel's interface changes: chipemu uses it only if it matches */
    PyModule_AddIntConstant(m, "VERSION", 1);
    return m;
}
