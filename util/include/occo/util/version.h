/*
 * version.h - the one version of occopus-c (semantic: MAJOR.MINOR.PATCH), set in CMakeLists.txt.
 */
#ifndef OCCO_UTIL_VERSION_H
#define OCCO_UTIL_VERSION_H

/* "0.1.0" */
const char *occo_version(void);
/* The install prefix the programs were built for (where etc/occopus/ is looked up). */
const char *occo_install_prefix(void);

#endif
