/* Atoms: objects stdlib returns as themselves from both deepcopy and copy (immutable builtins,
 * types, functions, code, range, property, weakref.ref, Ellipsis, NotImplemented, and exact
 * stdlib types whose own __deepcopy__/__copy__ return self). The engine recognises the flag and
 * never calls a function, so the vtable has none. Its two vtables are one handler: the second
 * is the atom's with the flag that marks the atoms of stdlib's own table, so both stay here. */
#include "handlers.h"

const copium_handler copium_atomic_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "atomic",
    .flags = COPIUM_HANDLER_ATOMIC,
};

/* The same for the types stdlib's deepcopy itself treats as atomic (3.14: returned before the
 * memo is consulted). */
const copium_handler copium_stdlib_atomic_handler = {
    .struct_size = sizeof(copium_handler),
    .name = "atomic",
    .flags = COPIUM_HANDLER_ATOMIC | COPIUM_HANDLER_STDLIB_ATOM,
};
