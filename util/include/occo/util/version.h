/*
 * version.h - the one version of occopus-c (semantic: MAJOR.MINOR.PATCH), set in CMakeLists.txt.
 */
#ifndef OCCO_UTIL_VERSION_H
#define OCCO_UTIL_VERSION_H

/* "0.1.0" */
const char *occo_version(void);
/* The install prefix the programs were built for. */
const char *occo_install_prefix(void);
/*
 * The system configuration directory of that prefix, where occopus/ is looked up: /etc for the
 * prefix /usr (the Debian package), <prefix>/etc otherwise (GNUInstallDirs' rule).
 */
const char *occo_sysconf_dir(void);

#endif
