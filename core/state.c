/* The core's state (see state.h) and how a caller without a module or a context finds the
 * current interpreter's: a capsule in the interpreter's dict (PyInterpreterState_GetDict),
 * with a per-thread cache in front of it. */
#include "state.h"

#include <stdatomic.h>
#include <string.h>

#include "compat.h"

static const char KEY[] = "copium.core";

/* Process-wide, and the only such counter: bumped by every init and fini in any interpreter,
 * so that a thread's cache made before either is not trusted after it. */
static atomic_uint_fast64_t generation = 1;

static _Thread_local struct {
    int64_t interp_id;
    uint_fast64_t generation;
    copium_core *core;
} cache;

int copium_core_init(copium_core *core, copium_resolver_fn resolver, void *resolver_data,
                     const copium_handler *default_handler, void *upper)
{
    memset(core, 0, sizeof(*core));
    copium_registry_init(&core->registry, resolver, resolver_data, default_handler, &core->gc);
    copium_mirror_watcher_init(&core->watcher);
    core->upper = upper;
    PyObject *dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (dict == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "copium: the interpreter has no state dict");
        return -1;
    }
    PyObject *capsule = PyCapsule_New(core, KEY, NULL);
    if (capsule == NULL)
        return -1;
    int rc = PyDict_SetItemString(dict, KEY, capsule);
    Py_DECREF(capsule);
    atomic_fetch_add(&generation, 1);
    return rc;
}

void copium_core_fini(copium_core *core)
{
    /* Keep a pending exception: this runs at module teardown. */
    PyObject *exc = copium_err_take();
    PyObject *dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (dict != NULL) {
        PyObject *capsule = PyDict_GetItemString(dict, KEY); /* borrowed */
        if (capsule != NULL && PyCapsule_GetPointer(capsule, KEY) == core &&
            PyDict_DelItemString(dict, KEY) < 0)
            PyErr_Clear();
        PyErr_Clear();
    }
    atomic_fetch_add(&generation, 1);
    copium_registry_fini(&core->registry);
    copium_mirror_watcher_fini(&core->watcher);
    core->upper = NULL;
    copium_err_give(exc);
}

int copium_core_traverse(copium_core *core, visitproc visit, void *arg)
{
    return copium_registry_traverse(&core->registry, visit, arg);
}

/* The capsule is found by a scan of the interpreter's dict (a few entries), not a lookup: a
 * lookup by a C string allocates its key, and where that allocation failed an interpreter
 * with copium looked like one without it to every caller (a NULL state, under memory
 * pressure, on a thread's first use). The scan allocates nothing and raises nothing. */
static COPIUM_NOINLINE copium_core *current_slow(int64_t id, uint_fast64_t gen)
{
    PyObject *dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (dict == NULL)
        return NULL;
    copium_core *core = NULL;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
#ifdef Py_GIL_DISABLED
    Py_BEGIN_CRITICAL_SECTION(dict);
#endif
    while (core == NULL && PyDict_Next(dict, &pos, &key, &value)) {
        if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, KEY) == 0 &&
            PyCapsule_IsValid(value, KEY))
            core = PyCapsule_GetPointer(value, KEY);
    }
#ifdef Py_GIL_DISABLED
    Py_END_CRITICAL_SECTION();
#endif
    if (core != NULL) {
        cache.interp_id = id;
        cache.generation = gen;
        cache.core = core;
    }
    return core;
}

copium_core *copium_core_current(void)
{
    int64_t id = PyInterpreterState_GetID(PyInterpreterState_Get());
    uint_fast64_t gen = atomic_load_explicit(&generation, memory_order_relaxed);
    if (cache.core != NULL && cache.interp_id == id && cache.generation == gen)
        return cache.core;
    return current_slow(id, gen);
}
