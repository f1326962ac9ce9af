/* The collector's pause (see gcpause.h): one flag per interpreter, guarded by its GIL. */
#include "gcpause.h"

void copium_gc_pause(copium_gcpause *gc)
{
#ifdef COPIUM_GC_CAN_PAUSE
    if (!gc->paused && PyGC_Disable())
        gc->paused = 1;
#else
    (void)gc;
#endif
}

void copium_gc_resume_slow(copium_gcpause *gc)
{
    gc->paused = 0;
    PyGC_Enable();
}
