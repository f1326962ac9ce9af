/* The recursion guard. A deep copy recurses in C, once per level of nesting, so it must stop
 * before the thread's C stack runs out, whatever the recursion limit says: a structure nested a
 * million levels deep raises RecursionError, never crashes. Two bounds, checked on every level:
 * the interpreter's recursion limit (sys.getrecursionlimit(), read at each top-level call, one
 * unit per level, so copium goes at least as deep as stdlib, whose Python frames take two or
 * more units per level), and the thread's real stack, measured once per thread. CPython's own
 * Py_EnterRecursiveCall is not used: from 3.12 its C limit is fixed and ignores a raised
 * sys.setrecursionlimit(), and before 3.12 it follows a raised limit past the end of the stack. */
#ifndef COPIUM_GUARD_H
#define COPIUM_GUARD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Kept in each call's context (reached through the pointer every handler already has, not
 * through thread-local storage, which costs a call in a shared library). A nested top-level
 * call has a guard of its own; the stack bound is absolute, so it still protects the thread. */
typedef struct {
    uintptr_t stack_floor; /* lowest stack address a level may use; 0 when unknown */
    int depth;
    int limit;
} copium_guard;

/* Measure this thread's stack (once per thread) and read the recursion limit: before a
 * top-level copy. */
void copium_guard_prepare(copium_guard *g);

int copium_guard_fail(copium_guard *g);

/* 0 to go one level deeper, or -1 with RecursionError set. */
static inline int copium_guard_enter(copium_guard *g)
{
    char probe;
    if (++g->depth > g->limit || (uintptr_t)&probe < g->stack_floor)
        return copium_guard_fail(g);
    return 0;
}

static inline void copium_guard_leave(copium_guard *g)
{
    g->depth--;
}

#endif
