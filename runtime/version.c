/* version — the library's version string, from configure. */
#include "config.h"
#include "plast.h"

const char *plast_version(void) { return PACKAGE_VERSION; }
