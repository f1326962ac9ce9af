/* The recursion guard (see guard.h): finding the thread's stack bounds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* pthread_getattr_np; the value pyconfig.h uses */
#endif
#include "guard.h"

#if defined(__linux__) || defined(__FreeBSD__)
#include <pthread.h>
#if defined(__FreeBSD__)
#include <pthread_np.h>
#endif
#define HAVE_STACK_BOUNDS 1
#elif defined(__APPLE__)
#include <pthread.h>
#define HAVE_STACK_BOUNDS 1
#endif

_Thread_local copium_guard copium_thread_guard;
static _Thread_local int measured;

/* Room left below the floor: for the Python code hooks run and for CPython's own calls. */
#define STACK_MARGIN_MAX (256 * 1024)

static void measure_stack(copium_guard *g)
{
    g->stack_floor = 0;
#if defined(HAVE_STACK_BOUNDS)
    uintptr_t low = 0, size = 0;
#if defined(__APPLE__)
    pthread_t self = pthread_self();
    uintptr_t high = (uintptr_t)pthread_get_stackaddr_np(self);
    size = pthread_get_stacksize_np(self);
    low = high - size;
#else
    pthread_attr_t attr;
    void *addr;
    size_t sz;
#if defined(__FreeBSD__)
    pthread_attr_init(&attr);
    if (pthread_attr_get_np(pthread_self(), &attr) != 0) {
        pthread_attr_destroy(&attr);
        return;
    }
#else
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
#endif
    if (pthread_attr_getstack(&attr, &addr, &sz) == 0) {
        low = (uintptr_t)addr;
        size = sz;
    }
    pthread_attr_destroy(&attr);
#endif
    if (size == 0)
        return;
    uintptr_t margin = size / 4 < STACK_MARGIN_MAX ? size / 4 : STACK_MARGIN_MAX;
    g->stack_floor = low + margin;
#else
    (void)g;
#endif
}

void copium_guard_prepare(void)
{
    copium_guard *g = &copium_thread_guard;
    if (!measured) {
        measure_stack(g);
        measured = 1;
    }
    g->limit = Py_GetRecursionLimit();
}

int copium_guard_fail(void)
{
    copium_thread_guard.depth--;
    PyErr_SetString(PyExc_RecursionError,
                    "maximum recursion depth exceeded while deep-copying an object");
    return -1;
}
