/* The handler vtable, as the core sees it: the public plugin header (plugins/copium.h) is the
 * one definition, so that builtin handlers and third-party plugins use the very same struct.
 * COPIUM_INTERNAL leaves out the plugin-side import function and macros, whose names the core
 * implements as real functions. */
#ifndef COPIUM_HANDLER_H
#define COPIUM_HANDLER_H

#define COPIUM_INTERNAL 1
#include "../plugins/copium.h"

#include "hash.h"

#endif
