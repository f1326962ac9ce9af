/* Batch deep copies (see replicate.h): one plan, n builds. While the builds run no Python code
 * (plan.h: no engine part, every key and element hashed in C) the cyclic collector stays
 * paused across all of them, which would otherwise traverse, again and again, the copies made
 * so far; it runs as usual right after, on all of them at once. */
#include "replicate.h"

#include "../core/listbuild.h"
#include "plan.h"

int copium_replicate(PyObject *obj, Py_ssize_t n, PyObject *result)
{
    PyObject *first;
    copium_plan *plan = copium_plan_record(obj, COPIUM_PLAN_REPLICATE, NULL, &first);
    if (plan == NULL)
        return PyErr_Occurred() ? -1 : 0;
    Py_ssize_t k = 0;
    int rc = 1;
    if (first != NULL) { /* the copy recording made (a plan with engine parts) */
        if (copium_list_append_steal(result, first) < 0)
            rc = -1;
        k = 1;
    }
    int paused = copium_plan_quiet(plan) ? PyGC_Disable() : 0;
    for (; k < n && rc > 0; k++) {
        PyObject *copy = copium_plan_build(plan);
        if (copy == NULL || copium_list_append_steal(result, copy) < 0)
            rc = -1;
    }
    if (paused)
        PyGC_Enable();
    copium_plan_free(plan);
    return rc;
}
