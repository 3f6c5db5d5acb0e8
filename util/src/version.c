/*
 * version.c - the version and install prefix, stamped in by CMake.
 */
#include "occo/util/version.h"

const char *occo_version(void)
{
	return OCCO_VERSION;
}

const char *occo_install_prefix(void)
{
	return OCCO_PREFIX;
}

const char *occo_sysconf_dir(void)
{
	return OCCO_SYSCONFDIR;
}
