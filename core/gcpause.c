/* The collector's pause (see gcpause.h): one flag, guarded by the GIL. */
#include "gcpause.h"

int copium_gc_paused;
uint64_t copium_gc_code_events;

void copium_gc_pause(void)
{
#ifdef COPIUM_GC_CAN_PAUSE
    if (!copium_gc_paused && PyGC_Disable())
        copium_gc_paused = 1;
#endif
}

void copium_gc_resume_slow(void)
{
    copium_gc_paused = 0;
    PyGC_Enable();
}
