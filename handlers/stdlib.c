/* What stdlib's copy functions see, cached and kept in step with the program. Lib/copy.py reads
 * its module globals (_deepcopy_dispatch, _copy_dispatch, dispatch_table, Error) at every call
 * and object.__reduce_ex__ reads copyreg.__newobj__ and copyreg._slotnames at every call; copium
 * holds references to them taken at install time and refreshes them when the program changes
 * one. Change detection must cost nearly nothing per call: before 3.12 each watched dict's
 * ma_version_tag is compared with the one seen at the last sync; from 3.12 (where that field is
 * deprecated) a dict watcher raises a flag. When a table changed, every type served by a
 * builtin handler whose stdlib route now differs from the original is unregistered so that the
 * generic handler, which follows stdlib's lookup order live, serves it instead. */
#include "protocol.h"

#include "../core/registry.h"
#include "handlers.h"

copium_names_t copium_names;
copium_stdlib_t copium_stdlib;

/* The tables as stdlib built them: entries of copy._deepcopy_dispatch / copy._copy_dispatch
 * whose value is stdlib's own function (an entry a program put there before copium was
 * imported is left out, so it counts as a change), and copyreg.dispatch_table as it was at
 * install (it legitimately holds entries of every module imported by then). */
static PyObject *orig_deepcopy_dispatch, *orig_copy_dispatch, *orig_dispatch_table;

#if PY_VERSION_HEX >= 0x030C0000
static int watcher_id = -1;
/* No watcher left (an interpreter has 8): every sync re-reads everything instead. */
static int unwatched;
#endif

#if PY_VERSION_HEX >= 0x030C0000
copium_stdlib_watch_t copium_stdlib_watch;
#else
/* What the watch reads where there is no dict to read: never changes, so a table rebound to a
 * non-dict is noticed through its module's dict alone. Before install every pointer is here
 * and every seen value 0: fresh, and the sync has nothing to do. */
static const uint64_t no_tag;
copium_stdlib_watch_t copium_stdlib_watch = {{&no_tag, &no_tag, &no_tag, &no_tag, &no_tag}, {0}};

/* Point the watch at nothing (before the references it reads through are dropped), marked
 * stale when a sync must follow. */
static void unwatch_all(int stale)
{
    for (int i = 0; i < 5; i++) {
        copium_stdlib_watch.live[i] = &no_tag;
        copium_stdlib_watch.seen[i] = 0;
    }
    copium_stdlib_watch.seen[0] = (uint64_t)stale;
}
#endif

/* The dicts watched for changes, in the order of copium_stdlib_watch.live (before 3.12). */
#define N_WATCHED 5
static PyObject **watched_slot(int i)
{
    switch (i) {
    case 0:
        return &copium_stdlib.copy_dict;
    case 1:
        return &copium_stdlib.copyreg_dict;
    case 2:
        return &copium_stdlib.deepcopy_dispatch;
    case 3:
        return &copium_stdlib.copy_dispatch;
    default:
        return &copium_stdlib.dispatch_table;
    }
}

#if PY_VERSION_HEX >= 0x030C0000
static int watcher_callback(PyDict_WatchEvent event, PyObject *dict, PyObject *key,
                            PyObject *new_value)
{
    (void)event;
    (void)dict;
    (void)key;
    (void)new_value;
    copium_stdlib_watch.dirty = 1; /* the change takes effect right after: the next sync sees it */
    return 0;
}

static void watch_all(int on)
{
    if (watcher_id < 0)
        return;
    for (int i = 0; i < N_WATCHED; i++) {
        PyObject *d = *watched_slot(i);
        if (d != NULL && PyDict_Check(d)) {
            if ((on ? PyDict_Watch(watcher_id, d) : PyDict_Unwatch(watcher_id, d)) < 0)
                PyErr_Clear();
        }
    }
}
#endif

static int intern_names(void)
{
    static const struct {
        PyObject **slot;
        const char *text;
    } table[] = {
        {&copium_names.deepcopy, "__deepcopy__"},
        {&copium_names.copy, "__copy__"},
        {&copium_names.reduce_ex, "__reduce_ex__"},
        {&copium_names.reduce, "__reduce__"},
        {&copium_names.setstate, "__setstate__"},
        {&copium_names.getstate, "__getstate__"},
        {&copium_names.dict, "__dict__"},
        {&copium_names.new_, "__new__"},
        {&copium_names.getnewargs, "__getnewargs__"},
        {&copium_names.getnewargs_ex, "__getnewargs_ex__"},
        {&copium_names.slotnames, "__slotnames__"},
        {&copium_names.qualname, "__qualname__"},
        {&copium_names.module, "__module__"},
        {&copium_names.builtins, "builtins"},
        {&copium_names.append, "append"},
        {&copium_names.update, "update"},
        {&copium_names.items, "items"},
        {&copium_names.get, "get"},
        {&copium_names.copy_method, "copy"},
        {&copium_names.pydantic_extra, "__pydantic_extra__"},
        {&copium_names.pydantic_fields_set, "__pydantic_fields_set__"},
        {&copium_names.pydantic_private, "__pydantic_private__"},
        {&copium_names.deepcopy_func, "deepcopy"},
        {&copium_names.object_setattr, "_object_setattr"},
        {&copium_names.pydantic_undefined, "PydanticUndefined"},
        {&copium_names.version, "VERSION"},
        {&copium_names.root, "root"},
        {&copium_names.getattribute, "__getattribute__"},
        {&copium_names.setattr, "__setattr__"},
        {&copium_names.pydantic_main, "pydantic.main"},
        {&copium_names.pydantic_root_model, "pydantic.root_model"},
        {&copium_names.pydantic_version, "pydantic.version"},
        {&copium_names.base_model, "BaseModel"},
        {&copium_names.root_model, "RootModel"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (*table[i].slot == NULL) {
            *table[i].slot = PyUnicode_InternFromString(table[i].text);
            if (*table[i].slot == NULL)
                return -1;
        }
    }
    return 0;
}

static void clear_names(void)
{
    PyObject **p = (PyObject **)&copium_names;
    for (size_t i = 0; i < sizeof(copium_names) / sizeof(PyObject *); i++)
        Py_CLEAR(p[i]);
}

/* A new reference to module_dict[name], or NULL without an error when it is missing (stdlib
 * would then raise NameError at the point of use; the users of the binding do that), or NULL
 * with an error (MemoryError) when it could not be read. */
static PyObject *binding(PyObject *module_dict, const char *name)
{
    PyObject *key = PyUnicode_FromString(name);
    if (key == NULL)
        return NULL;
    PyObject *value = NULL;
    (void)copium_dict_get_ref(module_dict, key, &value); /* -1 leaves the error set */
    Py_DECREF(key);
    return value;
}

static void set_ref(PyObject **slot, PyObject *value)
{
    PyObject *old = *slot;
    *slot = value;
    Py_XDECREF(old);
}

/* Re-read every binding stdlib's functions use from the module dicts. 0, or -1 with an error
 * (MemoryError): the caller then leaves the state stale, so that the next sync reads them all
 * again, rather than take a binding that could not be read for a deleted one. */
static int read_bindings(void)
{
    PyObject *cd = copium_stdlib.copy_dict, *rd = copium_stdlib.copyreg_dict;
    const struct {
        PyObject **slot;
        PyObject *dict;
        const char *name;
    } table[] = {
        {&copium_stdlib.error, cd, "Error"},
        {&copium_stdlib.deepcopy_dispatch, cd, "_deepcopy_dispatch"},
        {&copium_stdlib.copy_dispatch, cd, "_copy_dispatch"},
#if PY_VERSION_HEX >= 0x030E0000
        {&copium_stdlib.atomic_types, cd, "_atomic_types"},
        {&copium_stdlib.copy_atomic_types, cd, "_copy_atomic_types"},
        {&copium_stdlib.copy_builtin_containers, cd, "_copy_builtin_containers"},
#endif
        {&copium_stdlib.dispatch_table, cd, "dispatch_table"},
        {&copium_stdlib.newobj, rd, "__newobj__"},
        {&copium_stdlib.newobj_ex, rd, "__newobj_ex__"},
        {&copium_stdlib.slotnames_func, rd, "_slotnames"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        PyObject *value = binding(table[i].dict, table[i].name);
        if (value == NULL && PyErr_Occurred())
            return -1;
        set_ref(table[i].slot, value);
    }
    return 0;
}

static void remember_state(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    copium_stdlib_watch.dirty = unwatched; /* without a watcher, every call syncs */
#else
    /* The dicts are held by copium_stdlib; every rebinding goes through a sync, which calls
     * unwatch_all() before it drops a reference. */
    for (int i = 0; i < N_WATCHED; i++) {
        PyObject *d = *watched_slot(i);
        const uint64_t *live =
            (d != NULL && PyDict_Check(d)) ? &((PyDictObject *)d)->ma_version_tag : &no_tag;
        copium_stdlib_watch.live[i] = live;
        copium_stdlib_watch.seen[i] = *live;
    }
#endif
}

/* Is f the function `qualname` defined by module `module` (stdlib's own, not a stand-in)? */
static int is_stdlib_function(PyObject *f, const char *module, const char *qualname)
{
    if (f == NULL || !PyFunction_Check(f))
        return 0;
    PyObject *mod = PyFunction_GetModule(f);
    if (mod == NULL || !PyUnicode_Check(mod) || PyUnicode_CompareWithASCIIString(mod, module))
        return 0;
    PyObject *qn = ((PyFunctionObject *)f)->func_qualname;
    return qn != NULL && PyUnicode_Check(qn) && PyUnicode_CompareWithASCIIString(qn, qualname) == 0;
}

static int is_one_of(PyObject *f, const char *module, const char *const *qualnames)
{
    for (; *qualnames != NULL; qualnames++) {
        if (is_stdlib_function(f, module, *qualnames))
            return 1;
    }
    return 0;
}

/* The original tables (see orig_*): built once, at install. */
static int snapshot_tables(void)
{
    static const char *const deep_funcs[] = {"_deepcopy_atomic",
                                             "_deepcopy_list",
                                             "_deepcopy_tuple",
                                             "_deepcopy_dict",
                                             "_deepcopy_method",
                                             "_deepcopy_frozendict",
                                             NULL};
    static const char *const copy_funcs[] = {"_copy_immutable", NULL};
    orig_deepcopy_dispatch = PyDict_New();
    orig_copy_dispatch = PyDict_New();
    if (orig_deepcopy_dispatch == NULL || orig_copy_dispatch == NULL)
        return -1;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    if (copium_stdlib.deepcopy_dispatch && PyDict_CheckExact(copium_stdlib.deepcopy_dispatch)) {
        while (PyDict_Next(copium_stdlib.deepcopy_dispatch, &pos, &key, &value)) {
            if (is_one_of(value, "copy", deep_funcs) &&
                PyDict_SetItem(orig_deepcopy_dispatch, key, value) < 0)
                return -1;
        }
    }
    pos = 0;
    if (copium_stdlib.copy_dispatch && PyDict_CheckExact(copium_stdlib.copy_dispatch)) {
        while (PyDict_Next(copium_stdlib.copy_dispatch, &pos, &key, &value)) {
            /* stdlib maps list to list.copy and so on: the type's own method descriptor. */
            int orig = is_one_of(value, "copy", copy_funcs) ||
                       (PyType_Check(key) &&
                        copium_type_lookup((PyTypeObject *)key, copium_names.copy_method) == value);
            if (orig && PyDict_SetItem(orig_copy_dispatch, key, value) < 0)
                return -1;
        }
    }
    if (copium_stdlib.dispatch_table && PyDict_CheckExact(copium_stdlib.dispatch_table))
        orig_dispatch_table = PyDict_Copy(copium_stdlib.dispatch_table);
    else
        orig_dispatch_table = PyDict_New();
    return orig_dispatch_table ? 0 : -1;
}

/* object's own entries, and the stdlib functions copium reproduces natively. */
static int take_fixed_references(void)
{
    PyTypeObject *obj = &PyBaseObject_Type;
    copium_stdlib.object_reduce_ex = Py_XNewRef(copium_type_lookup(obj, copium_names.reduce_ex));
    copium_stdlib.object_reduce = Py_XNewRef(copium_type_lookup(obj, copium_names.reduce));
    copium_stdlib.object_getstate = Py_XNewRef(copium_type_lookup(obj, copium_names.getstate));
    copium_stdlib.object_new = Py_XNewRef(copium_type_lookup(obj, copium_names.new_));
    if (!copium_stdlib.object_reduce_ex || !copium_stdlib.object_reduce ||
        !copium_stdlib.object_new) {
        PyErr_SetString(PyExc_RuntimeError, "copium: object lacks its reduce protocol");
        return -1;
    }
    copium_stdlib.empty_tuple = PyTuple_New(0);
    copium_stdlib.protocol4 = PyLong_FromLong(4);
    if (copium_stdlib.empty_tuple == NULL || copium_stdlib.protocol4 == NULL)
        return -1;
    if (is_stdlib_function(copium_stdlib.newobj, "copyreg", "__newobj__"))
        copium_stdlib.orig_newobj = Py_NewRef(copium_stdlib.newobj);
    PyObject *atomic = binding(copium_stdlib.copy_dict, "_deepcopy_atomic");
    if (is_stdlib_function(atomic, "copy", "_deepcopy_atomic"))
        copium_stdlib.orig_deepcopy_atomic = Py_NewRef(atomic);
    Py_XDECREF(atomic);
    return 0;
}

int copium_stdlib_init(void)
{
    if (intern_names() < 0)
        goto error;
    copium_stdlib.copy_module = PyImport_ImportModule("copy");
    if (copium_stdlib.copy_module == NULL)
        goto error;
    copium_stdlib.copyreg_module = PyImport_ImportModule("copyreg");
    if (copium_stdlib.copyreg_module == NULL)
        goto error;
    copium_stdlib.copy_dict = Py_NewRef(PyModule_GetDict(copium_stdlib.copy_module));
    copium_stdlib.copyreg_dict = Py_NewRef(PyModule_GetDict(copium_stdlib.copyreg_module));
    if (read_bindings() < 0)
        goto error;
    if (copium_stdlib.error == NULL) {
        PyErr_SetString(PyExc_ImportError, "copium: copy.Error is missing");
        goto error;
    }
    copium_stdlib.orig_error = Py_NewRef(copium_stdlib.error);
    if (take_fixed_references() < 0 || snapshot_tables() < 0)
        goto error;
#if PY_VERSION_HEX >= 0x030C0000
    watcher_id = PyDict_AddWatcher(watcher_callback);
    if (watcher_id < 0) {
        PyErr_Clear();
        unwatched = 1;
    }
    watch_all(1);
#endif
    remember_state();
    /* The first sync compares the registered builtin handlers with the tables as they are
     * now: a program may have changed them before importing copium. */
#if PY_VERSION_HEX >= 0x030C0000
    copium_stdlib_watch.dirty = 1;
#else
    copium_stdlib_watch.seen[0] = ~copium_stdlib_watch.seen[0];
#endif
    copium_stdlib.epoch = 1;
    return 0;
error:
    copium_stdlib_fini();
    return -1;
}

void copium_stdlib_fini(void)
{
    copium_object_clear_cache();
#if PY_VERSION_HEX >= 0x030C0000
    watch_all(0);
    if (watcher_id >= 0 && PyDict_ClearWatcher(watcher_id) < 0)
        PyErr_Clear();
    watcher_id = -1;
    unwatched = 0;
    copium_stdlib_watch.dirty = 0;
#else
    unwatch_all(0);
#endif
    Py_CLEAR(orig_deepcopy_dispatch);
    Py_CLEAR(orig_copy_dispatch);
    Py_CLEAR(orig_dispatch_table);
    PyObject **p = (PyObject **)&copium_stdlib;
    /* Every member up to `epoch` is an object reference. */
    for (size_t i = 0; i < offsetof(copium_stdlib_t, epoch) / sizeof(PyObject *); i++)
        Py_CLEAR(p[i]);
    copium_stdlib.epoch++;
    clear_names();
}

int copium_table_get(PyObject *table, PyObject *key, PyObject **value)
{
    PyObject *v;
    *value = NULL;
    if (PyDict_CheckExact(table)) {
        if (copium_dict_get_ref(table, key, &v) < 0)
            return -1;
    } else {
        v = PyObject_CallMethodOneArg(table, copium_names.get, key);
        if (v == NULL)
            return -1;
    }
    if (v == NULL || v == Py_None) {
        Py_XDECREF(v);
        return 0;
    }
    *value = v;
    return 1;
}

/* Borrowed table[key] for an exact dict, NULL when absent; -1 in *err on error. */
static PyObject *peek(PyObject *table, PyObject *key, int *err)
{
    PyObject *v = PyDict_GetItemWithError(table, key);
    if (v == NULL && PyErr_Occurred()) {
        PyErr_Clear();
        *err = 1;
    }
    return v;
}

int copium_stdlib_is_overridden(PyTypeObject *t)
{
    PyObject *deep = copium_stdlib.deepcopy_dispatch, *shallow = copium_stdlib.copy_dispatch;
    PyObject *table = copium_stdlib.dispatch_table;
    if (deep == NULL || table == NULL || !PyDict_CheckExact(deep) || !PyDict_CheckExact(table))
        return 1; /* stdlib calls .get on something copium cannot watch: it decides */
#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14 replaced copy._copy_dispatch by sets; a program that brings the name back gets
     * nothing from stdlib for it, so it changes no route. (The sets themselves are not
     * watched: changing which builtin types they name is not followed.) */
    shallow = NULL;
#else
    if (shallow == NULL || !PyDict_CheckExact(shallow))
        return 1;
#endif
    if (orig_deepcopy_dispatch == NULL)
        return 1;
    PyObject *key = (PyObject *)t;
    int err = 0;
    PyObject *deep_now = peek(deep, key, &err);
    PyObject *copy_now = shallow ? peek(shallow, key, &err) : NULL;
    PyObject *reduce_now = peek(table, key, &err);
    if (deep_now != peek(orig_deepcopy_dispatch, key, &err) ||
        copy_now != peek(orig_copy_dispatch, key, &err) || err)
        return 1;
    if (reduce_now == peek(orig_dispatch_table, key, &err))
        return err;
    /* A dispatch_table change matters only where stdlib gets that far: past its dispatch
     * dicts (whose entries are the original, truthy functions here), past classes and past a
     * class-level __deepcopy__ / __copy__. */
    if (PyType_IsSubtype(t, &PyType_Type))
        return 0;
    if (deep_now == NULL && copium_type_lookup(t, copium_names.deepcopy) == NULL)
        return 1;
    if (copy_now == NULL && copium_type_lookup(t, copium_names.copy) == NULL &&
        copium_type_lookup(Py_TYPE(t), copium_names.copy) == NULL)
        return 1;
    return 0;
}

static int is_builtin_handler(const copium_handler *h)
{
    const copium_handler *const builtin[] = {
        &copium_atomic_handler,
        &copium_stdlib_atomic_handler,
        &copium_immutable_handler,
        &copium_list_handler,
        &copium_tuple_handler,
        &copium_dict_handler,
        &copium_set_handler,
        &copium_frozenset_handler,
        &copium_bytearray_handler,
        &copium_method_handler,
#if PY_VERSION_HEX >= 0x030F0000
        &copium_frozendict_handler,
#endif
    };
    /* The registry holds copies of the vtables: compare what they contain. The name pointer
     * is a string literal of this library, which no plugin can share. */
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        const copium_handler *b = builtin[i];
        if (h->name == b->name && h->flags == b->flags && h->deepcopy == b->deepcopy &&
            h->copy == b->copy)
            return 1;
    }
    return copium_datetime_is_handler(h) || copium_uuid_is_handler(h);
}

static int collect_overridden(PyTypeObject *type, const copium_handler *h, void *arg)
{
    if (is_builtin_handler(h) && copium_stdlib_is_overridden(type))
        return PyList_Append((PyObject *)arg, (PyObject *)type) < 0 ? -1 : 0;
    return 0;
}

COPIUM_NOINLINE int copium_handlers_resync(void)
{
    if (copium_stdlib.copy_dict == NULL)
        return 0; /* not installed */
#if PY_VERSION_HEX >= 0x030C0000
    watch_all(0);
#else
    unwatch_all(1); /* read_bindings may drop the dicts the watch reads */
#endif
    if (read_bindings() < 0)
        return -1; /* still stale (and, from 3.12, dirty): the next call syncs again */
#if PY_VERSION_HEX >= 0x030C0000
    watch_all(1);
#endif
    /* Unregister after the walk: releasing a registration may free its type. The state is
     * recorded as seen only once the walk succeeded: after a failure (MemoryError) it stays
     * stale, and the next call syncs again. */
    PyObject *doomed = PyList_New(0);
    if (doomed == NULL)
        return -1;
    if (copium_registry_foreach(collect_overridden, doomed) != 0) {
        Py_DECREF(doomed);
        return -1;
    }
    remember_state();
    copium_stdlib.epoch++;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(doomed); i++)
        copium_registry_unregister((PyTypeObject *)PyList_GET_ITEM(doomed, i));
    Py_DECREF(doomed);
    /* Resolutions cached before the change may be wrong in either direction now. */
    copium_registry_invalidate();
    return 0;
}
