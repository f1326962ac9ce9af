/* copium._faults: allocation-failure injection for the fault tests (tests/py/test_faults.py).
 * Test-only: built into the package only with `meson setup -Dfault_injection=true` (the
 * sanitizer build of `make test-sanitize`), never in a release build.
 *
 *     copium._faults.call(n, fn, *args, persistent=False, in_python=False) -> fn(*args)
 *
 * calls fn(*args) with a hook on CPython's allocators (PyMem_SetAllocator, wrapping whatever
 * was installed: pymalloc, the debug hooks, tracemalloc) that makes the n-th allocation (1 is
 * the first) of the PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ domains fail on this thread while fn
 * runs, and with persistent=True every allocation after it too. That covers copium's own
 * PyMem_* calls (memo table, keepalive vector, contexts, registry) and every object the copy
 * creates through the C API. Allocations of other threads are not counted and never fail.
 * The hook is installed for the call only and the previous allocators are put back afterwards.
 *
 * fn is meant to be a C function (copium.deepcopy). Allocations made while Python code runs
 * inside it (a __deepcopy__ or __reduce__ written in Python) are neither counted nor made to
 * fail, unless in_python=True: what the interpreter does on a failure in Python code is
 * CPython's business, and there 3.11 and 3.12 leak (`list(self.items)` in a method keeps a
 * reference to self.items when the list cannot be allocated) and 3.11 can leave the thread's
 * tracing switched off for good (call_trace returns early when a code object's line table
 * cannot be allocated). "Python code runs" is read from the thread state without allocating:
 * the interpreter's current frame is not the one fn was called from. When Python code calls a
 * function of fn's own module (copium.deepcopy in a __deepcopy__ hook), allocations count again
 * while that call runs: a profile function (PyEval_SetProfile, set for the call only) sees those
 * calls begin and end (PyTrace_C_CALL, PyTrace_C_RETURN, PyTrace_C_EXCEPTION). Allocations made
 * while an exception is pending (tracebacks, error messages) do not count either: that is
 * CPython reporting an error, and 3.11 loses the exception when a frame object cannot be
 * allocated then (take_ownership in Python/frame.c clears it), which the persistent sweep hits.
 *
 *     copium._faults.stats() -> (allocations, failures)
 *
 * what the last call counted: the allocations fn made and how many of them were made to fail.
 * A sweep over n = 1, 2, ... ends at the first n whose call injected no failure.
 *
 * With COPIUM_FAULTS_BACKTRACE set in the environment, each injected failure prints the C stack
 * that asked for the memory (glibc's backtrace, to stderr): what to look at when a sweep point
 * misbehaves. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#if defined(__GLIBC__)
#include <execinfo.h>
#include <unistd.h>
#endif

/* The frames allocations count in, innermost last: the frame fn was called from, then each
 * frame that called a function of the scope module, while that call runs. */
#define SCOPE_STACK 1024

typedef struct {
    int armed;
    int persistent;
    int in_python; /* count everywhere */
    Py_ssize_t fail_at;
    Py_ssize_t count;
    Py_ssize_t injected;
    int depth; /* entries of scope[]; past SCOPE_STACK, nothing counts */
    void *scope[SCOPE_STACK];
} fault_state;

static _Thread_local fault_state tls;

/* The interpreter's current frame on this thread, read without allocating anything. */
static void *current_frame(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyThreadState *ts = PyThreadState_GetUnchecked();
    return ts ? (void *)ts->current_frame : NULL;
#elif PY_VERSION_HEX >= 0x030B0000
    PyThreadState *ts = _PyThreadState_UncheckedGet();
    return ts && ts->cframe ? (void *)ts->cframe->current_frame : NULL;
#else
    PyThreadState *ts = _PyThreadState_UncheckedGet();
    return ts ? (void *)ts->frame : NULL;
#endif
}

static int counts(fault_state *s)
{
    /* An allocation made while an exception is pending is error reporting (a traceback, a
     * frame object for it, a message): CPython's own, and not always failure-proof (3.11's
     * frame teardown clears the pending exception when it cannot allocate a frame object). */
    if (PyErr_Occurred())
        return 0;
    if (s->in_python)
        return 1;
    if (s->depth < 1 || s->depth > SCOPE_STACK)
        return 0;
    return current_frame() == s->scope[s->depth - 1];
}

static PyMemAllocatorEx prev_mem, prev_obj;
static int installed;

static int should_fail(void)
{
    fault_state *s = &tls;
    if (!s->armed || !counts(s))
        return 0;
    s->count++;
    if (s->count == s->fail_at || (s->persistent && s->count > s->fail_at)) {
        s->injected++;
#if defined(__GLIBC__)
        const char *env = getenv("COPIUM_FAULTS_BACKTRACE");
        if (env != NULL && *env != '\0') {
            void *frames[64];
            int n = backtrace(frames, 64);
            dprintf(2, "copium._faults: allocation %zd fails:\n", s->count);
            backtrace_symbols_fd(frames, n, 2);
        }
#endif
        return 1;
    }
    return 0;
}

static void *hook_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *prev = ctx;
    if (should_fail())
        return NULL;
    return prev->malloc(prev->ctx, size);
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *prev = ctx;
    if (should_fail())
        return NULL;
    return prev->calloc(prev->ctx, nelem, elsize);
}

static void *hook_realloc(void *ctx, void *ptr, size_t size)
{
    PyMemAllocatorEx *prev = ctx;
    if (should_fail())
        return NULL; /* as a failed realloc: the old block stays valid */
    return prev->realloc(prev->ctx, ptr, size);
}

static void hook_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *prev = ctx;
    prev->free(prev->ctx, ptr);
}

static void install(void)
{
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &prev_mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &prev_obj);
    PyMemAllocatorEx mem = {&prev_mem, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyMemAllocatorEx obj = {&prev_obj, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj);
    installed = 1;
}

/* Put the previous allocators back; 0 when something else had replaced the hook meanwhile. */
static int uninstall(void)
{
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cur);
    int ours = cur.malloc == hook_malloc && cur.ctx == &prev_obj;
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &prev_mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &prev_obj);
    installed = 0;
    return ours;
}

/* The module whose functions, called from Python code inside the call, count again. */
static PyObject *scope_module;

static int in_scope(PyObject *func)
{
    return scope_module != NULL && func != NULL && PyCFunction_Check(func) &&
           PyCFunction_GET_SELF(func) == scope_module;
}

static int profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    fault_state *s = &tls;
    if (!s->armed || !in_scope(arg))
        return 0;
    void *caller = current_frame();
    switch (what) {
    case PyTrace_C_CALL:
        if (s->depth < SCOPE_STACK)
            s->scope[s->depth] = caller;
        s->depth++;
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        /* Only the call that pushed: a call whose start was missed (the profile function set
         * while it ran) does not pop its caller's entry. */
        if (s->depth > SCOPE_STACK)
            s->depth--;
        else if (s->depth > 1 && s->scope[s->depth - 1] == caller)
            s->depth--;
        break;
    }
    return 0;
}

static PyObject *last_stats;

static PyObject *faults_call(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError,
                        "call(n, fn, *args, persistent=False, in_python=False) needs n and fn");
        return NULL;
    }
    Py_ssize_t n = PyLong_AsSsize_t(PyTuple_GET_ITEM(args, 0));
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 1");
        return NULL;
    }
    int persistent = 0, in_python = 0;
    if (kwargs != NULL) {
        PyObject *p = PyDict_GetItemString(kwargs, "persistent");
        PyObject *q = PyDict_GetItemString(kwargs, "in_python");
        if (PyDict_GET_SIZE(kwargs) != (p != NULL) + (q != NULL)) {
            PyErr_SetString(PyExc_TypeError,
                            "call() takes only the keywords 'persistent' and 'in_python'");
            return NULL;
        }
        if (p != NULL && (persistent = PyObject_IsTrue(p)) < 0)
            return NULL;
        if (q != NULL && (in_python = PyObject_IsTrue(q)) < 0)
            return NULL;
    }
    if (installed || tls.armed) {
        PyErr_SetString(PyExc_RuntimeError, "copium._faults.call() is not reentrant");
        return NULL;
    }
    PyObject *fn = PyTuple_GET_ITEM(args, 1);
    PyObject *fargs = PyTuple_GetSlice(args, 2, nargs);
    if (fargs == NULL)
        return NULL;
    Py_INCREF(fn);

    /* The calling frame's frame object, made now: CPython makes it when a frame that fn
     * called ends with a traceback (take_ownership links f_back), and 3.11 loses the pending
     * exception when that allocation fails (see counts()). Frames that call into the scope
     * module from Python have theirs already: the profile function is passed it. */
    if (PyEval_GetFrame() == NULL && PyErr_Occurred()) {
        Py_DECREF(fn);
        Py_DECREF(fargs);
        return NULL;
    }
    scope_module = PyCFunction_Check(fn) ? PyCFunction_GET_SELF(fn) : NULL;
    if (!in_python)
        PyEval_SetProfile(profile, NULL);
    install();
    tls.persistent = persistent;
    tls.fail_at = n;
    tls.count = tls.injected = 0;
    tls.depth = 1;
    tls.scope[0] = current_frame();
    tls.in_python = in_python;
    tls.armed = 1;
    PyObject *result = PyObject_Call(fn, fargs, NULL);
    tls.armed = 0;
    int ours = uninstall();
    if (!in_python) {
        /* Keep fn's exception: switching the profile function off may run code (audit). */
        PyObject *et, *ev, *etb;
        PyErr_Fetch(&et, &ev, &etb);
        PyEval_SetProfile(NULL, NULL);
        PyErr_Restore(et, ev, etb);
    }
    scope_module = NULL;

    Py_DECREF(fn);
    Py_DECREF(fargs);
    PyObject *stats = Py_BuildValue("(nn)", tls.count, tls.injected);
    if (stats == NULL) {
        Py_XDECREF(result);
        return NULL;
    }
    Py_XSETREF(last_stats, stats);
    if (!ours) {
        Py_XDECREF(result);
        PyErr_SetString(PyExc_RuntimeError,
                        "the allocators were replaced while copium._faults.call() ran");
        return NULL;
    }
    return result;
}

static PyObject *faults_stats(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (last_stats == NULL)
        return Py_BuildValue("(nn)", (Py_ssize_t)0, (Py_ssize_t)0);
    return Py_NewRef(last_stats);
}

static PyMethodDef faults_methods[] = {
    {"call", (PyCFunction)(void (*)(void))faults_call, METH_VARARGS | METH_KEYWORDS,
     PyDoc_STR("call(n, fn, *args, persistent=False, in_python=False)\n--\n\n"
               "fn(*args) with the n-th allocation of this thread (and with persistent, "
               "every later one) failing.")},
    {"stats", faults_stats, METH_NOARGS,
     PyDoc_STR("stats()\n--\n\n(allocations, failures) of the last call().")},
    {NULL, NULL, 0, NULL},
};

static void faults_free(void *module)
{
    (void)module;
    Py_CLEAR(last_stats);
}

static struct PyModuleDef faults_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "copium._faults",
    .m_doc = "Test-only allocation-failure injection (built with -Dfault_injection=true).",
    .m_size = -1,
    .m_methods = faults_methods,
    .m_free = faults_free,
};

PyMODINIT_FUNC PyInit__faults(void)
{
    return PyModule_Create(&faults_module);
}
