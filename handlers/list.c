/* The list handler. Deep copy follows stdlib's _deepcopy_list: the new list is memoized before
 * its items are copied (so a list can contain itself), items are fetched by index with the
 * length re-read at every step (a list iterator's semantics, so a list changed by an item's
 * __deepcopy__ copies exactly as stdlib copies it), and the copy grows by appends. The copy is
 * allocated at the original's length up front, so those appends never reallocate. */
#include "handlers.h"

#include "../core/engine.h"
#include "../core/listbuild.h"

static PyObject *list_deepcopy(copium_ctx *ctx, PyObject *obj, copium_hash_t hash, void *data)
{
    (void)data;
    PyObject *copy = copium_list_presized(PyList_GET_SIZE(obj));
    if (copy == NULL)
        return NULL;
    if (copium_memo_remember(ctx, obj, hash, copy) < 0)
        goto error;
    copium_atom_cache atoms = {0};
    PyObject *run_orig = NULL, *run_copy = NULL; /* borrowed: the lists hold them */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(obj); i++) {
        PyObject *item = PyList_GET_ITEM(obj, i);
        PyObject *item_copy;
        if (copium_child_is_atom(ctx, &atoms, item)) {
            /* A run of atoms of one type (known atomic: no registry lookup, so no code runs
             * and neither list can change meanwhile) is copied in one tight loop, the copy's
             * length set once after it; within the room the copy was allocated with. Not
             * where each atom is asked about (atoms.type NULL: see copium_atom_cache). */
            PyListObject *src = (PyListObject *)obj, *dst = (PyListObject *)copy;
            Py_ssize_t at = Py_SIZE(dst), end = Py_SIZE(src);
            if (atoms.type == NULL)
                end = i;
            else if (end - i > dst->allocated - at)
                end = i + (dst->allocated - at);
            if (end > i) {
                PyTypeObject *type = Py_TYPE(item);
                Py_ssize_t j = i;
                do {
                    dst->ob_item[at++] = Py_NewRef(item);
                    if (++j == end)
                        break;
                    item = src->ob_item[j];
                } while (Py_IS_TYPE(item, type));
                Py_SET_SIZE(copy, at);
                i = j - 1;
                continue;
            }
            item_copy = Py_NewRef(item);
        } else if (item == run_orig) {
            /* `y = memo.get(d, _nil)` again for the object of the item before, which the memo
             * had this copy for: no code has run since, so it still has. */
            item_copy = Py_NewRef(run_copy);
        } else {
            /* The child's copy may run code that removes it from the list: hold it. */
            Py_INCREF(item);
            item_copy = copium_deepcopy_child(ctx, item);
            copium_atom_cache_reset(&atoms);
            run_orig = NULL;
            /* The same object next ([row] * n): once the memo is seen to hold this copy for
             * it, its repeats take the copy without a lookup each. */
            if (item_copy != NULL && i + 1 < PyList_GET_SIZE(obj) &&
                PyList_GET_ITEM(obj, i + 1) == item && copium_memo_holds(ctx, item, item_copy)) {
                run_orig = item;
                run_copy = item_copy;
            }
            Py_DECREF(item);
            if (item_copy == NULL)
                goto error;
        }
        if (copium_list_append_steal(copy, item_copy) < 0)
            goto error;
    }
    if (copium_memo_complete(ctx, obj, hash, copy) < 0)
        goto error;
    return copy;
error:
    Py_DECREF(copy);
    return NULL;
}

static PyObject *list_copy(PyObject *obj, void *data)
{
    (void)data;
    return PyList_GetSlice(obj, 0, PyList_GET_SIZE(obj));
}

const copium_handler copium_list_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "list",
    .flags = COPIUM_HANDLER_QUIET,
    .deepcopy = list_deepcopy,
    .copy = list_copy,
};
