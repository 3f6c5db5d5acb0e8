/*
 * fs.c - file helpers shared by the local back-end and its package store (see rh_int.h). They
 * block: call them from libuv's thread pool, never from the loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "rh_int.h"

int rh__mkdir_p(const char *dir, mode_t mode, struct occo_err *err)
{
	char *p = occo_strdup(dir), *s = p, c;
	int rc = 0;

	do {
		s += strspn(s, "/");
		s += strcspn(s, "/");
		c = *s;
		*s = '\0';
		if (*p && mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = occo_err_sys(err, OCCO_EIO, errno, "cannot create '%s'", p);
			break;
		}
		*s = c;
	} while (c);
	free(p);
	return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int rh__rmtree(const char *path, struct occo_err *err)
{
	struct stat st;

	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return occo_err_sys(err, OCCO_EIO, errno, "cannot remove '%s'", path);
	if (lstat(path, &st) == 0)
		return occo_err_set(err, OCCO_EIO, "cannot remove '%s'", path);
	return 0;
}

int rh__write_atomic(const char *path, const char *content, mode_t mode, struct occo_err *err)
{
	char *tmp = occo_asprintf("%s.tmp.%d", path, (int)getpid());
	size_t len = strlen(content);
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot create '%s'", tmp);
		goto out;
	}
	if (write(fd, content, len) != (ssize_t)len) {
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot write '%s'", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot rename '%s'", tmp);
		unlink(tmp);
	}
out:
	free(tmp);
	return rc;
}
