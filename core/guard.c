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

/* This thread's stack floor, measured once; 1 is "not measured yet" (no real floor is 1). Per
 * thread, not per interpreter: it is the thread's stack, whatever interpreter runs on it. */
static _Thread_local uintptr_t thread_stack_floor = 1;

/* Room left below the floor: for the Python code hooks run and for CPython's own calls. */
#define STACK_MARGIN_MAX (256 * 1024)

static uintptr_t measure_stack(void)
{
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
        return 0;
    }
#else
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
#endif
    if (pthread_attr_getstack(&attr, &addr, &sz) == 0) {
        low = (uintptr_t)addr;
        size = sz;
    }
    pthread_attr_destroy(&attr);
#endif
    if (size == 0)
        return 0;
    uintptr_t margin = size / 4 < STACK_MARGIN_MAX ? size / 4 : STACK_MARGIN_MAX;
    return low + margin;
#else
    return 0;
#endif
}

void copium_guard_prepare(copium_guard *g)
{
    if (thread_stack_floor == 1)
        thread_stack_floor = measure_stack();
    g->stack_floor = thread_stack_floor;
    g->depth = 0;
    g->limit = Py_GetRecursionLimit();
}

int copium_guard_fail(copium_guard *g)
{
    g->depth--;
    PyErr_SetString(PyExc_RecursionError,
                    "maximum recursion depth exceeded while deep-copying an object");
    return -1;
}
