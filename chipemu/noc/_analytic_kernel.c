/*
 * _chipemu_analytic_kernel: the contention pass of chipemu's analytic NoC model
 * (chipemu/noc/analytic.py, AnalyticNoc._evaluate), compiled.
 *
 * The model is the one of analytic.py, operation for operation.  Every (train, route hop)
 * -- an *entry* -- is a job at a first-come-first-served server, the link of the hop in
 * the train's step.  Per step and link, jobs are served in the order of their head's
 * free-flow arrival time, ties in train order (a route never uses a link twice, so this is
 * also the order of entries), and the wait of each job follows from the Lindley recursion
 * in the closed form of analytic._lindley:
 *
 *   running_k = running_{k-1} + work_k      (over the step's jobs in (link, arrival, train)
 *                                             order, restarting at every step: np.cumsum)
 *   before_k  = (running_k - work_k) - (running_f - work_f)   (f: the link's first job)
 *   best_k    = (max_{f<=j<=k} (arrival_j - before_j) + before_k) - arrival_k
 *
 * and a train's wait is the largest of 0 and its jobs' best_k.  The head's arrival at an
 * entry is ``((inject_s * P + inject_s) + done_s) - hop_s`` (P: packets the source core
 * injects before the train in its step; done_s, hop_s: the hop's class), its work
 * ``period of the link`` for one-packet trains, else ``(c - 1) * max(inject_s, up_s) +
 * link_period_s`` of its class (c: the train's packets).  The same float operations in
 * the same order as numpy's: this file is built with -ffp-contract=off (no fused
 * multiply-add) and refuses -ffast-math.  Arrival times are finite and never -0.0 (the
 * timing is validated finite and non-negative), so comparing doubles orders them exactly
 * as numpy's ranking of the distinct values does.
 *
 * tests/test_noc_analytic_kernel.py runs both executions on random and recorded traffic
 * and requires identical results, bit for bit.
 *
 * Cost: per step, one pass over the entries to count them per link, one to place them in
 * their link's bucket (in train order), a stable sort of each bucket by arrival and one
 * pass for the recursion: O(entries log(entries per link)) time and O(entries + links)
 * memory, never a table over core or router pairs.
 */
#ifdef __FAST_MATH__
#error "_chipemu_analytic_kernel must not be built with -ffast-math / -Ofast: its results must be numpy's, bit for bit"
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define THREADS 1
#else
#define THREADS 0
#endif

/* a job: the head's arrival (s), its train (index in the step) and its hop class */
typedef struct { double a; int32_t train, cls; } Job;
/* a route hop met in the step's first pass: its server (used link) and hop class */
typedef struct { int32_t link, cls; } Hop;
/* how far ahead (trains) the first pass prefetches routes from the route table */
#define AHEAD 8

/* stable sort of x[0..n) by arrival: insertion sort of runs of RUN, then merges whose
 * choice of the next job is branch-free (arrival order is data, so a branch on it would
 * be mispredicted about every other time) */
#define RUN 8
static void insertion(Job *x, int64_t n) {
    for (int64_t i = 1; i < n; i++) {
        Job v = x[i];
        int64_t j = i;
        while (j > 0 && x[j - 1].a > v.a) { x[j] = x[j - 1]; j--; }
        x[j] = v;
    }
}

/* merge the sorted runs a[0..na) and b[0..nb) into out, ties from a first (stable) */
static void merge(const Job *a, int64_t na, const Job *b, int64_t nb, Job *out) {
    const Job *ae = a + na, *be = b + nb;
    while (a < ae && b < be) {
        const int right = b->a < a->a;
        *out++ = *(right ? b : a);
        b += right;
        a += !right;
    }
    while (a < ae) *out++ = *a++;
    while (b < be) *out++ = *b++;
}

/* returns the buffer holding the sorted jobs (x or tmp) */
static Job *sort_jobs(Job *x, int64_t n, Job *tmp) {
    if (n <= RUN) { insertion(x, n); return x; }
    for (int64_t i = 0; i < n; i += RUN) insertion(x + i, n - i < RUN ? n - i : RUN);
    Job *src = x, *dst = tmp;
    for (int64_t width = RUN; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            if (mid >= hi || !(src[mid].a < src[mid - 1].a))  /* already in order */
                memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(Job));
            else
                merge(src + lo, mid - lo, src + mid, hi - mid, dst + lo);
        }
        Job *s = src; src = dst; dst = s;
    }
    return src;
}

/* A buffer of n bytes.  Large ones are aligned to 2 MiB and, on Linux, asked for
 * transparent huge pages: jobs are scattered into thousands of link buckets at once, and
 * with 4 KiB pages nearly every such write would miss the TLB. */
#define HUGE (2u << 20)
static void *buffer(size_t n) {
    if (n < 2 * HUGE) return malloc(n ? n : 1);
    void *p = NULL;
    n = (n + HUGE - 1) / HUGE * HUGE;
    if (posix_memalign(&p, HUGE, n) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, n, MADV_HUGEPAGE);  /* a hint: ignored where huge pages are off */
#endif
    return p;
}

/* ---- Python interface ----------------------------------------------------------------- */

typedef struct { Py_buffer view; int held; } Arr;

/* a C-contiguous array of the given kind ('q' int64, 'i' int32, 'd' float64) and length
 * (n < 0: any); writable if asked */
static int get(Arr *arr, PyObject *obj, const char *name, char kind, int64_t n, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &arr->view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "analytic kernel: %s must be a C-contiguous%s array", name,
                     writable ? " writable" : "");
        return -1;
    }
    arr->held = 1;
    const char *f = arr->view.format ? arr->view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    int size = kind == 'i' ? 4 : 8;
    int ok = arr->view.itemsize == size && f[1] == 0 &&
             (kind == 'd' ? f[0] == 'd' : kind == 'i' ? f[0] == 'i' : (f[0] == 'q' || f[0] == 'l'));
    if (!ok || (n >= 0 && arr->view.len / size != n)) {
        PyErr_Format(PyExc_ValueError, "analytic kernel: %s must be a contiguous %s array%s", name,
                     kind == 'd' ? "float64" : kind == 'i' ? "int32" : "int64", ok ? " of the right length" : "");
        return -1;
    }
    return 0;
}

static int64_t len_of(const Arr *a, int size) { return a->view.len / size; }

/* whether two held arrays share memory (an output written while an input is read) */
static int overlap(const Arr *a, const Arr *b) {
    const char *a0 = a->view.buf, *b0 = b->view.buf;
    return a->held && b->held && a->view.len && b->view.len && a0 < b0 + b->view.len && b0 < a0 + a->view.len;
}

/* everything a worker reads (the caller's arrays) and writes (disjoint parts of wait and
 * link_packets: a worker owns whole steps) */
typedef struct {
    const int64_t *st, *pr, *ct, *before, *rptr, *rnh, *urank;
    const int32_t *rlink, *rcls;
    const double *lper, *cl;
    double inject;
    double *w_out;
    int64_t *lp_out;
    int64_t n_links, n_sys_links, n_classes;
} Ctx;

/* a worker's share: trains [i0, i1) (whole steps), its largest step in entries; results */
typedef struct {
    const Ctx *c;
    int64_t i0, i1, most;
    int64_t entries, bad_hop;
    int status;  /* 0 ok, 1 bad route hop (bad_hop), 2 out of memory */
} Work;

/* The contention pass of the steps of trains [w->i0, w->i1) (see the file's comment). */
static void run_work(Work *w) {
    const Ctx *c = w->c;
    const int64_t *st = c->st, *pr = c->pr, *ct = c->ct, *before = c->before, *rptr = c->rptr, *rnh = c->rnh;
    const int64_t *urank = c->urank, n_links = c->n_links;
    const int32_t *rlink = c->rlink, *rcls = c->rcls;
    const double *lper = c->lper, *cl = c->cl, inject = c->inject;
    double *w_out = c->w_out;
    int64_t *cnt = malloc((size_t)(n_links + 1) * sizeof(int64_t));
    double *lper_used = malloc((size_t)(n_links ? n_links : 1) * sizeof(double));
    Hop *hops = buffer((size_t)w->most * sizeof(Hop));
    Job *jobs = buffer((size_t)w->most * sizeof(Job)), *tmp = buffer((size_t)w->most * sizeof(Job));
    w->entries = 0;
    w->status = 0;
    if (!cnt || !lper_used || !hops || !jobs || !tmp) { w->status = 2; goto done; }
    for (int64_t i = w->i0; i < w->i1;) {
        const int64_t s = st[i];
        int64_t j = i;
        while (j < w->i1 && st[j] == s) j++;
        /* 1. the step's route hops, in train order, into a compact sequential list (the
         * route table is read once, with the routes of later trains prefetched); entries
         * per link; packets per (step, link) */
        memset(cnt, 0, (size_t)(n_links + 1) * sizeof(int64_t));
        int64_t *row = c->lp_out + s * n_links, m = 0;
        for (int64_t t = i; t < j; t++) {
            if (t + AHEAD < j) {
                const int64_t r = pr[t + AHEAD];
                __builtin_prefetch(rlink + rptr[r]);
                __builtin_prefetch(rcls + rptr[r]);
            }
            if (t + 2 * AHEAD < j) {
                __builtin_prefetch(rptr + pr[t + 2 * AHEAD]);
                __builtin_prefetch(rnh + pr[t + 2 * AHEAD]);
            }
            const int64_t n_packets = ct ? ct[t] : 1;
            for (int64_t h = rptr[pr[t]], e = h + rnh[pr[t]]; h < e; h++) {
                /* the route table's hops are checked where they are used */
                const int32_t link_id = rlink[h], k = rcls[h];
                if (link_id < 0 || link_id >= c->n_sys_links || urank[link_id] < 0 || urank[link_id] >= n_links ||
                    k < 0 || k >= c->n_classes) {
                    w->status = 1;
                    w->bad_hop = h;
                    goto done;
                }
                const int64_t l = urank[link_id];
                lper_used[l] = lper[link_id];
                hops[m].link = (int32_t)l;
                hops[m].cls = k;
                m++;
                cnt[l + 1]++;
                row[l] += n_packets;
            }
        }
        for (int64_t l = 0; l < n_links; l++) cnt[l + 1] += cnt[l];  /* cnt[l]: first job of link l */
        w->entries += m;
        /* 2. every job into its link's bucket, in train order */
        for (int64_t t = i, e = 0; t < j; t++) {
            const double P = (double)before[t];
            const double ready = inject * P + inject;
            for (int64_t h = 0, nh_t = rnh[pr[t]]; h < nh_t; h++, e++) {
                const Hop hp = hops[e];
                const double *k = cl + 4 * (int64_t)hp.cls;
                Job *job = jobs + cnt[hp.link]++;
                job->a = (ready + k[0]) - k[1];
                job->train = (int32_t)(t - i);
                job->cls = hp.cls;
            }
        }
        /* 3. cnt[l] is now the end of link l's bucket: serve each link in order.  Work:
         * the link's period for one-packet trains, else (c - 1) * max(inject_s, up) + period */
        double running = 0.0;
        int64_t lo = 0, first = 1;
        for (int64_t l = 0; l < n_links; l++) {
            const int64_t hi = cnt[l];
            if (hi == lo) continue;
            Job *q = sort_jobs(jobs + lo, hi - lo, tmp + lo);
            double base = 0.0, best_x = 0.0;
            for (int64_t x_i = 0; x_i < hi - lo; x_i++) {
                const int64_t t = i + q[x_i].train;
                const double a = q[x_i].a;
                double work;
                if (ct) {
                    const double *k = cl + 4 * (int64_t)q[x_i].cls;
                    const double up = k[3] > inject ? k[3] : inject;  /* np.maximum(inject_s, up_period_s) */
                    work = (double)(ct[t] - 1) * up + k[2];
                } else {
                    work = lper_used[l];
                }
                running = first ? work : running + work;
                first = 0;
                double bef = running - work;
                if (x_i == 0) base = bef;
                bef = bef - base;
                const double x = a - bef;
                /* numpy's maximum, NaN included: (m >= x || isnan(m)) ? m : x (work that
                 * overflows to inf makes inf - inf = NaN, which numpy carries) */
                if (x_i == 0 || !(best_x >= x || best_x != best_x)) best_x = x;
                double best = best_x + bef;
                best = best - a;
                if (!(w_out[t] >= best || w_out[t] != w_out[t])) w_out[t] = best;
            }
            lo = hi;
        }
        i = j;
    }
done:
    free(cnt);
    free(lper_used);
    free(hops);
    free(jobs);
    free(tmp);
}

#if THREADS
static void *run_thread(void *arg) { run_work(arg); return NULL; }
#endif

PyDoc_STRVAR(train_waits_doc,
"train_waits(step, pair, count, packets_before, n_steps, n_links, ptr, n_hops, link, cls,\n"
"            used_rank, link_period, classes, inject_s, wait, link_packets, threads=1) -> entries\n\n"
"The contention pass of AnalyticNoc._evaluate on canonical trains (ordered by step): train i\n"
"of step step[i] takes route row pair[i] (hops ptr[r] .. ptr[r] + n_hops[r] - 1 of the\n"
"route table's link (int32) and cls (int32) columns) with count[i] packets (count None: one\n"
"packet each), its source core having injected packets_before[i] packets before it.\n"
"used_rank maps a link id to its server column (0 .. n_links - 1), link_period is the\n"
"period (s) of every link id, classes the route table's 4 floats per hop class (done_s,\n"
"hop_s, link_period_s, up_period_s).  Writes every train's wait (s, >= 0) into wait\n"
"(float64, zeros on entry) and adds its packets to link_packets[step, used_rank[link]]\n"
"(int64, n_steps x n_links); returns the number of entries.  ``threads`` > 1 shares the\n"
"steps among that many threads (steps are independent; same results, bit for bit), with\n"
"the GIL released.  Raises ValueError on bad input (then wait and link_packets may be\n"
"partly written).");

static PyObject *train_waits(PyObject *self, PyObject *args) {
    PyObject *o[16];
    long long n_steps_ll, n_links_ll, threads_ll = 1;
    double inject;
    if (!PyArg_ParseTuple(args, "OOOOLLOOOOOOOdOO|L", &o[0], &o[1], &o[2], &o[3], &n_steps_ll, &n_links_ll,
                          &o[6], &o[7], &o[8], &o[9], &o[10], &o[11], &o[12], &inject, &o[14], &o[15], &threads_ll))
        return NULL;
    (void)self;
    Arr step = {0}, pair = {0}, count = {0}, pb = {0}, ptr = {0}, nh = {0}, link = {0}, cls = {0};
    Arr rank = {0}, period = {0}, classes = {0}, wait = {0}, packets = {0};
    Arr *all[] = {&step, &pair, &count, &pb, &ptr, &nh, &link, &cls, &rank, &period, &classes, &wait, &packets};
    PyObject *result = NULL;
    Work *work = NULL;
    const int64_t n_steps = n_steps_ll, n_links = n_links_ll;
    int single = o[2] == Py_None;
    if (get(&step, o[0], "step", 'q', -1, 0) < 0) goto done;
    const int64_t n = len_of(&step, 8);
    if (get(&pair, o[1], "pair", 'q', n, 0) < 0 || (!single && get(&count, o[2], "count", 'q', n, 0) < 0) ||
        get(&pb, o[3], "packets_before", 'q', n, 0) < 0 || get(&ptr, o[6], "ptr", 'q', -1, 0) < 0 ||
        get(&nh, o[7], "n_hops", 'q', len_of(&ptr, 8), 0) < 0 || get(&link, o[8], "link", 'i', -1, 0) < 0 ||
        get(&cls, o[9], "cls", 'i', len_of(&link, 4), 0) < 0 || get(&rank, o[10], "used_rank", 'q', -1, 0) < 0 ||
        get(&period, o[11], "link_period", 'd', len_of(&rank, 8), 0) < 0 ||
        get(&classes, o[12], "classes", 'd', -1, 0) < 0 || get(&wait, o[14], "wait", 'd', n, 1) < 0)
        goto done;
    if (n_steps < 0 || n_links < 0 || n_links > INT32_MAX || (n_steps && n_links > INT64_MAX / n_steps) ||
        threads_ll < 1) {
        PyErr_SetString(PyExc_ValueError, "analytic kernel: bad n_steps, n_links or threads");
        goto done;
    }
    if (get(&packets, o[15], "link_packets", 'q', n_steps * n_links, 1) < 0) goto done;
    /* the outputs are written while the inputs are read (and after they are checked) */
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        if ((all[k] != &wait && overlap(all[k], &wait)) || (all[k] != &packets && overlap(all[k], &packets))) {
            PyErr_SetString(PyExc_ValueError, "analytic kernel: wait and link_packets must not share memory with "
                            "each other or with an input");
            goto done;
        }

    Ctx c = {.st = step.view.buf, .pr = pair.view.buf, .ct = single ? NULL : count.view.buf,
             .before = pb.view.buf, .rptr = ptr.view.buf, .rnh = nh.view.buf, .urank = rank.view.buf,
             .rlink = link.view.buf, .rcls = cls.view.buf, .lper = period.view.buf, .cl = classes.view.buf,
             .inject = inject, .w_out = wait.view.buf, .lp_out = packets.view.buf, .n_links = n_links,
             .n_sys_links = len_of(&rank, 8), .n_classes = len_of(&classes, 8) / 4};
    const int64_t n_rows = len_of(&ptr, 8), n_table = len_of(&link, 4);

    /* check the trains before any work (route hops are checked as they are met: on a bad
     * one, wait and link_packets are left partly written); entries in all */
    int64_t total = 0;
    for (int64_t i = 0, run = 0; i < n; i++) {
        const int64_t r = c.pr[i];
        if (c.st[i] < 0 || c.st[i] >= n_steps || (i && c.st[i] < c.st[i - 1]) || r < 0 || r >= n_rows ||
            c.before[i] < 0 || (c.ct && c.ct[i] < 1) || c.rnh[r] < 0 || c.rptr[r] < 0 ||
            c.rptr[r] > n_table - c.rnh[r]) {
            PyErr_Format(PyExc_ValueError, "analytic kernel: train %lld is invalid (step, route row, count or "
                         "packets before out of range, or steps not in order)", (long long)i);
            goto done;
        }
        run = (i && c.st[i] == c.st[i - 1]) ? run + 1 : 1;
        if (run > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "analytic kernel: more than 2**31 - 1 trains in a step");
            goto done;
        }
        total += c.rnh[r];
    }
    /* whole steps to each worker, about total / threads entries each */
    int64_t n_work = threads_ll < 64 ? threads_ll : 64;
    work = calloc((size_t)n_work, sizeof(Work));
    if (!work) { PyErr_NoMemory(); goto done; }
    int64_t used = 0;
    for (int64_t i = 0, acc = 0, run = 0; i < n; i++) {
        if (i && c.st[i] != c.st[i - 1]) {  /* a step ends at i */
            if (acc >= (used + 1) * total / n_work && used < n_work - 1) { work[used].i1 = i; used++; work[used].i0 = i; }
            run = 0;
        }
        acc += c.rnh[c.pr[i]];
        run += c.rnh[c.pr[i]];
        if (run > work[used].most) work[used].most = run;
    }
    work[used].i1 = n;
    n_work = used + 1;
    for (int64_t k = 0; k < n_work; k++) work[k].c = &c;
    Py_BEGIN_ALLOW_THREADS
#if THREADS
    pthread_t tid[64];
    int started[64] = {0};
    for (int64_t k = 1; k < n_work; k++) started[k] = pthread_create(&tid[k], NULL, run_thread, &work[k]) == 0;
    run_work(&work[0]);
    for (int64_t k = 1; k < n_work; k++) {
        if (started[k]) pthread_join(tid[k], NULL);
        else run_work(&work[k]);  /* no thread to be had: here */
    }
#else
    for (int64_t k = 0; k < n_work; k++) run_work(&work[k]);
#endif
    Py_END_ALLOW_THREADS
    int64_t entries = 0;
    for (int64_t k = 0; k < n_work; k++) {
        if (work[k].status == 2) { PyErr_NoMemory(); goto done; }
        if (work[k].status == 1) {
            PyErr_Format(PyExc_ValueError, "analytic kernel: route hop %lld has a bad link or class",
                         (long long)work[k].bad_hop);
            goto done;
        }
        entries += work[k].entries;
    }
    result = PyLong_FromLongLong((long long)entries);

done:
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        if (all[k]->held) PyBuffer_Release(&all[k]->view);
    free(work);
    return result;
}

static PyMethodDef methods[] = {
    {"train_waits", train_waits, METH_VARARGS, train_waits_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chipemu_analytic_kernel",
    "Compiled contention pass of chipemu's analytic NoC model (see chipemu/noc/analytic.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__chipemu_analytic_kernel(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    /* bump when the kernel's interface changes: chipemu uses it only if it matches */
    PyModule_AddIntConstant(m, "VERSION", 1);
    return m;
}
