/* What the two files of test_plugin_multifile's plugin share (plugin_multifile_handler.c
 * defines these): the handler file's view of the API pointer, its handler and a registration
 * made from it. Included after copium's header. */
#ifndef COPIUM_TEST_PLUGIN_MULTIFILE_H
#define COPIUM_TEST_PLUGIN_MULTIFILE_H

/* &copium_API as the handler file sees it: the same object as the main file's. */
const copium_api *const *multifile_handler_api_address(void);
extern int multifile_handler_calls;
extern const copium_handler multifile_box_handler;
/* copium_register_handler(type, &multifile_box_handler), called in the handler file. */
int multifile_register_box(PyTypeObject *type);

#endif
