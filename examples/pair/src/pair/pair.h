/* What the three C files of pair._pair share: the Pair object's layout, the functions each file
 * gives the others, and copium's header included the way a plugin of several C files includes
 * it.
 *
 * COPIUM_UNIQUE_SYMBOL names the one pointer to copium's function table for the whole
 * extension: _pair.c, which calls copium_import(), defines it; pair_handler.c and pair_type.c
 * define COPIUM_NO_IMPORT before including this header, so they only declare it (and have no
 * copium_import() to call by mistake). Without these two macros each C file would get a
 * pointer of its own, and a file that never called copium_import() would call through NULL. */
#ifndef PAIR_H
#define PAIR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define COPIUM_UNIQUE_SYMBOL pair_copium_API
#include <copium.h>

/* Two strong references, never NULL (tp_clear puts None back instead of NULL), so neither the
 * methods nor the copy handler have to check for a half-cleared Pair. */
typedef struct {
    PyObject ob_base; /* what PyObject_HEAD expands to */
    PyObject *first;
    PyObject *second;
} PairObject;

/* pair_type.c: the Pair type, a heap type made for (and owned by) one module object. */
PyObject *pair_type_create(PyObject *module);
/* A new instance of type (a Pair type) holding new references to first and second. */
PyObject *pair_create(PyTypeObject *type, PyObject *first, PyObject *second);

/* pair_handler.c: how copium copies a Pair. */
extern const copium_handler pair_handler;

#endif
