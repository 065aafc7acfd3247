/*
 * _chipemu_arrays_kernel: a counting sort for chipemu.arrays.stable_order.
 *
 * counting_order(keys, key_range, out) writes into out the permutation that sorts the
 * int64 keys (each in 0 .. key_range - 1) stably: np.argsort(keys, kind="stable"), which
 * is unique, so this is the same permutation numpy's sorts give.  Two passes over the keys
 * and one over the key range: O(n + key_range) time, 8 bytes per key value of memory.
 * chipemu.arrays uses it when the key range is not much larger than the number of keys,
 * and numpy otherwise or when this extension is not built (tests/test_arrays.py checks
 * both against np.argsort).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

static int int64_buffer(PyObject *obj, Py_buffer *view, const char *name, int writable) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "counting_order: %s must be a C-contiguous%s int64 array", name,
                     writable ? " writable" : "");
        return -1;
    }
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    if (view->itemsize != 8 || f[1] != 0 || (f[0] != 'q' && f[0] != 'l')) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "counting_order: %s must be an int64 array", name);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(counting_order_doc,
"counting_order(keys, key_range, out) -> None\n\n"
"Write np.argsort(keys, kind='stable') into out (int64, as long as keys) for int64 keys in\n"
"0 .. key_range - 1; ValueError (nothing meaningful written) if a key is out of range.");

static PyObject *counting_order(PyObject *self, PyObject *args) {
    PyObject *keys_obj, *out_obj;
    long long key_range;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLO", &keys_obj, &key_range, &out_obj)) return NULL;
    Py_buffer kv, ov;
    if (int64_buffer(keys_obj, &kv, "keys", 0) < 0) return NULL;
    if (int64_buffer(out_obj, &ov, "out", 1) < 0) { PyBuffer_Release(&kv); return NULL; }
    PyObject *result = NULL;
    int64_t *start = NULL;
    const int64_t n = kv.len / 8;
    if (ov.len / 8 != n || key_range < 0 || key_range > (1LL << 40)) {
        PyErr_SetString(PyExc_ValueError, "counting_order: out must be as long as keys, key_range in 0 .. 2**40");
        goto done;
    }
    if (n && (const char *)ov.buf < (const char *)kv.buf + kv.len && (const char *)kv.buf < (const char *)ov.buf + ov.len) {
        /* out written while keys are read: keys would change under the sort (indices out of range) */
        PyErr_SetString(PyExc_ValueError, "counting_order: out must not share memory with keys");
        goto done;
    }
    const int64_t *k = kv.buf;
    int64_t *o = ov.buf;
    start = calloc((size_t)key_range + 1, sizeof(int64_t));
    if (!start) { PyErr_NoMemory(); goto done; }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < n; i++) {
        if ((uint64_t)k[i] >= (uint64_t)key_range) { bad = 1; break; }
        start[k[i] + 1]++;
    }
    if (!bad) {
        for (int64_t v = 0; v < key_range; v++) start[v + 1] += start[v];
        for (int64_t i = 0; i < n; i++) o[start[k[i]]++] = i;
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "counting_order: a key is out of 0 .. key_range - 1");
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    free(start);
    PyBuffer_Release(&kv);
    PyBuffer_Release(&ov);
    return result;
}

static PyMethodDef methods[] = {
    {"counting_order", counting_order, METH_VARARGS, counting_order_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_chipemu_arrays_kernel",
    "A counting sort for chipemu.arrays.stable_order.", -1, methods,
};

PyMODINIT_FUNC PyInit__chipemu_arrays_kernel(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    PyModule_AddIntConstant(m, "VERSION", 1);
    return m;
}
