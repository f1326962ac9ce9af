/* The second C file of test_plugin_multifile's plugin: it defines COPIUM_UNIQUE_SYMBOL (the
 * same name as the main file) and COPIUM_NO_IMPORT, so it has no copium_import() and no API
 * pointer of its own: its copium_* macros call through the pointer the main file defined and
 * filled. Its handler copies a Box (a Python class with an `items` list) natively. */
#define COPIUM_UNIQUE_SYMBOL multifile_copium_API
#define COPIUM_NO_IMPORT
#include "../../include/copium/copium.h"

#include "plugin_multifile.h"

const copium_api *const *multifile_handler_api_address(void)
{
    return &copium_API;
}

int multifile_handler_calls;

/* A Box's copy: a new instance of its class (no __init__, as copy's reconstruct makes it),
 * remembered before its `items` list is copied through the engine (so cycles through the box work),
 * stored at the end. */
static PyObject *box_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    multifile_handler_calls++;
    PyObject *type = (PyObject *)Py_TYPE(obj);
    PyObject *copy = PyObject_CallMethod(type, "__new__", "O", type); /* Box.__new__(Box) */
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    PyObject *items = PyObject_GetAttrString(obj, "items");
    if (items == NULL)
        goto error;
    PyObject *items_copy = copium_deepcopy_child(ctx, items);
    Py_DECREF(items);
    if (items_copy == NULL)
        goto error;
    int rc = PyObject_SetAttrString(copy, "items", items_copy);
    Py_DECREF(items_copy);
    if (rc < 0 || copium_memo_store(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

const copium_handler multifile_box_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "multifile-box",
    .deepcopy = box_deepcopy,
};

int multifile_register_box(PyTypeObject *type)
{
    return copium_register_handler(type, &multifile_box_handler);
}
