/* Pausing the cyclic garbage collector while a copy runs no Python code. A deep copy of builtin
 * containers allocates one tracked object per container, and the collector would traverse the
 * young copy again and again each time the allocation count passes its threshold; paused, the
 * objects are still counted, and the first allocation after the copy runs one collection if
 * one is due. Nothing can see the pause. A top-level call takes it only when its object's
 * handler is dispatched as quiet (COPIUM_HANDLER_QUIET or COPIUM_HANDLER_SETTLES: the handler
 * runs no Python code without settling first, its children go back through the engine), and
 * it ends before anything else could run: a handler dispatched otherwise, a quiet one about to
 * run Python code (the generic handler for an object off the native object path), a registry
 * miss, a Python memo, a dict key or set element whose hash is not computed in C. Under the GIL no
 * other thread runs while no Python code does; on a free-threaded build the collector is never
 * paused. Only up to 3.12: measured on 3.13 it gained nothing, and on 3.14, whose collector is
 * incremental, it made documents 6-16% slower. The pause starts after COPIUM_GC_PAUSE_AFTER quiet
 * containers (the engine counts them per call): a small copy, which no collection would interrupt
 * anyway, does not pay for it. */
#ifndef COPIUM_GCPAUSE_H
#define COPIUM_GCPAUSE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#if !defined(Py_GIL_DISABLED) && PY_VERSION_HEX < 0x030D0000
#define COPIUM_GC_CAN_PAUSE   1
#define COPIUM_GC_PAUSE_AFTER 64
#endif

/* The pause's state, one per interpreter (the collector is per interpreter): part of the
 * core's state (state.h). */
typedef struct {
    /* 1 while copium holds the collector paused. */
    int paused;
    /* How many times Python code may have run inside copies (copium_gc_resume calls). A call
     * may pause the collector only while this is what it was when the call began: once Python
     * code may have run, it may have left objects whose __eq__ or __hash__ a later step runs
     * (a key in a dict being built, an entry in the memo). */
    uint64_t code_events;
} copium_gcpause;

/* Pause the collector if it is enabled and not already paused. */
void copium_gc_pause(copium_gcpause *gc);

void copium_gc_resume_slow(copium_gcpause *gc);

/* Before anything that may run Python code: end the pause, if there is one, and keep the
 * rest of the call from starting one. */
static inline void copium_gc_resume(copium_gcpause *gc)
{
#ifdef COPIUM_GC_CAN_PAUSE
    gc->code_events++;
    if (gc->paused)
        copium_gc_resume_slow(gc);
#else
    (void)gc;
#endif
}

#endif
