/* Reading a combined dict's entry table in place. A scan that only looks at the types of a
 * dict's keys and values (is every one an atom?) costs one PyDict_Next call per entry through
 * the public API, more than the table copy it decides on. CPython's table is private and its
 * layout changes between versions, so this module mirrors it per version and checks the
 * mirror at start-up against PyDict_Next on reference dicts; when the check fails (or on a
 * free-threaded build) every answer is "not available" and callers use PyDict_Next. */
#ifndef COPIUM_DICT_TABLE_H
#define COPIUM_DICT_TABLE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The entries of a combined table: entry i's key is at base + i * stride + key_offset, its
 * value at base + i * stride + key_offset + sizeof(PyObject *). A NULL value marks a deleted
 * entry. Valid while no code can run that mutates the dict. */
typedef struct {
    const char *base;
    Py_ssize_t count;
    Py_ssize_t stride;
    Py_ssize_t key_offset;
    Py_ssize_t slots; /* the size of the hash index: with the key kind, the table's size */
    int str_keys;     /* 1: the table admits exact str keys only (3.11+ keeps such tables apart) */
} copium_dict_entries;

#define COPIUM_DICT_ENTRY_KEY(e, i)                                                                \
    (*(PyObject *const *)((e)->base + (i) * (e)->stride + (e)->key_offset))
/* Where entry i's value is stored (written only to a table that only its builder can see). */
#define COPIUM_DICT_ENTRY_VALUE_SLOT(e, i)                                                         \
    ((PyObject **)((e)->base + (i) * (e)->stride + (e)->key_offset + sizeof(PyObject *)))
#define COPIUM_DICT_ENTRY_VALUE(e, i) (*(PyObject *const *)COPIUM_DICT_ENTRY_VALUE_SLOT(e, i))

/* Fill *out for an exact dict with a combined table: 1, or 0 when the direct read is not
 * available (split table, unverified layout). Never fails. */
int copium_dict_entries_of(PyObject *dict, copium_dict_entries *out);

/* 1 when dict still has the table e was read from, with as many entries. */
int copium_dict_entries_unchanged(PyObject *dict, const copium_dict_entries *e);

/* Verify the mirrored layout against PyDict_Next; the direct read stays off when it does not
 * match. 0, or -1 with an exception set (allocation failure only). */
int copium_dict_table_init(void);

/* 1 when the start-up check passed and the direct read is on (for tests and diagnostics). */
int copium_dict_table_verified(void);

#endif
