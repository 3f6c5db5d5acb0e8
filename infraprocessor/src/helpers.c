/*
 * helpers.c - getip & co. over a view of the nodes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/clock.h"

#include "occo/infraprocessor/helpers.h"

/* The instances of node `name`, or an error that says which node is missing. */
static const json_t *instances(const json_t *view, const json_t *args, struct occo_err *err)
{
	const json_t *name = json_array_get(args, 0);
	const json_t *list;

	if (json_array_size(args) != 1 || !json_is_string(name)) {
		occo_err_set(err, OCCO_EINVAL, "takes one node name");
		return NULL;
	}
	list = json_object_get(view, json_string_value(name));
	if (!json_is_array(list) || json_array_size(list) == 0) {
		occo_err_set(err, OCCO_EINVAL, "no node exists with the given name '%s'",
			     json_string_value(name));
		return NULL;
	}
	return list;
}

static const json_t *first_address(const json_t *inst)
{
	const json_t *a = json_object_get(inst, "addresses");

	if (json_is_array(a))
		a = json_array_get(a, 0);
	return json_is_string(a) ? a : NULL;
}

static int no_address(const json_t *args, struct occo_err *err)
{
	return occo_err_set(err, OCCO_EINVAL, "node '%s' has no address yet",
			    json_string_value(json_array_get(args, 0)));
}

static int fn_getip(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		    struct occo_err *err)
{
	const json_t *list = instances(ud, args, err);
	const json_t *a;

	if (!list)
		return -OCCO_EINVAL;
	a = first_address(json_array_get(list, 0));
	if (!a)
		return no_address(args, err);
	*result = json_incref((json_t *)a);
	return 0;
}

static int fn_getprivip(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
			struct occo_err *err)
{
	const json_t *list = instances(ud, args, err);
	const json_t *a;

	if (!list)
		return -OCCO_EINVAL;
	a = json_object_get(json_array_get(list, 0), "private");
	if (!json_is_string(a))
		a = first_address(json_array_get(list, 0));
	if (!a)
		return no_address(args, err);
	*result = json_incref((json_t *)a);
	return 0;
}

static int fn_getipall(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		       struct occo_err *err)
{
	const json_t *list = instances(ud, args, err), *inst, *a;
	json_t *out;
	size_t i;

	if (!list)
		return -OCCO_EINVAL;
	out = json_array();
	json_array_foreach (list, i, inst) {
		a = first_address(inst);
		if (a)
			json_array_append(out, (json_t *)a);
	}
	*result = out;
	return 0;
}

/* Python's slice bound: negative counts from the end, then clamp to [0, len]. */
static size_t slice_bound(json_int_t v, size_t len)
{
	if (v < 0)
		v += (json_int_t)len;
	if (v < 0)
		return 0;
	return (size_t)v > len ? len : (size_t)v;
}

/* cut(s, start, end) = s[start:end], counted in characters (UTF-8). */
static int fn_cut(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		  struct occo_err *err)
{
	const json_t *s = json_array_get(args, 0);
	const json_t *a = json_array_get(args, 1), *b = json_array_get(args, 2);
	const char *str, *p;
	size_t nchars = 0, from, to, i, start_byte = 0, end_byte;

	if (json_array_size(args) != 3 || !json_is_string(s) ||
	    !(json_is_integer(a) || json_is_null(a)) || !(json_is_integer(b) || json_is_null(b)))
		return occo_err_set(err, OCCO_EINVAL, "cut() takes a string and two integers");
	str = json_string_value(s);
	for (p = str; *p; p++)
		nchars += ((unsigned char)*p & 0xc0) != 0x80;
	from = json_is_null(a) ? 0 : slice_bound(json_integer_value(a), nchars);
	to = json_is_null(b) ? nchars : slice_bound(json_integer_value(b), nchars);
	if (to < from)
		to = from;
	end_byte = strlen(str);
	for (i = 0, p = str; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (i == from)
			start_byte = (size_t)(p - str);
		if (i == to) {
			end_byte = (size_t)(p - str);
			break;
		}
		i++;
	}
	if (from == nchars)
		start_byte = strlen(str);
	*result = json_stringn(str + start_byte, end_byte - start_byte);
	return 0;
}

extern char **environ;

/* Split on white space into a NULL-terminated argv (the strings point into `copy`). */
static char **split_words(char *copy, size_t *n)
{
	char **argv = occo_calloc(strlen(copy) / 2 + 2, sizeof(*argv));
	char *save, *w;

	*n = 0;
	for (w = strtok_r(copy, " \t\n\r\v\f", &save); w; w = strtok_r(NULL, " \t\n\r\v\f", &save))
		argv[(*n)++] = w;
	argv[*n] = NULL;
	return argv;
}

/* Read the child's output until EOF, the deadline or the size limit. */
static int read_output(int fd, pid_t pid, const struct iproc_cmd_limits *lim, struct occo_buf *out,
		       const char *what, struct occo_err *err)
{
	uint64_t deadline = occo_clock_now_ms() + lim->timeout_ms;
	char chunk[4096];

	for (;;) {
		uint64_t now = occo_clock_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc;

		if (now >= deadline) {
			kill(pid, SIGKILL);
			return occo_err_set(err, OCCO_ETIMEDOUT, "'%s' took longer than %u ms",
					    what, lim->timeout_ms);
		}
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (occo_buf_append(out, chunk, (size_t)n, err) < 0) {
			kill(pid, SIGKILL);
			return occo_err_prefix(err, "output of '%s'", what);
		}
	}
}

static int fn_cmd(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		  struct occo_err *err)
{
	const struct iproc_cmd_limits *lim = ud;
	const json_t *c = json_array_get(args, 0);
	posix_spawn_file_actions_t fa;
	struct occo_buf out;
	int fds[2], status = 0, rc;
	char *copy, **argv;
	size_t n;
	pid_t pid;

	if (json_array_size(args) != 1 || !json_is_string(c))
		return occo_err_set(err, OCCO_EINVAL, "takes one command line");
	copy = occo_strdup(json_string_value(c));
	argv = split_words(copy, &n);
	if (!n) {
		free(argv);
		free(copy);
		return occo_err_set(err, OCCO_EINVAL, "empty command line");
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(argv);
		free(copy);
		return occo_err_sys(err, OCCO_EIO, errno, "cannot make a pipe");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		occo_err_sys(err, OCCO_ENOENT, rc, "cannot run '%s'", argv[0]);
		free(argv);
		free(copy);
		return -OCCO_ENOENT;
	}
	occo_buf_init(&out, lim->max_output);
	rc = read_output(fds[0], pid, lim, &out, json_string_value(c), err);
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = occo_err_set(err, OCCO_EREMOTE, "'%s' failed (%s %d)", json_string_value(c),
				  WIFEXITED(status) ? "exit status" : "signal",
				  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (rc == 0)
		*result = json_stringn(occo_buf_str(&out), out.len);
	occo_buf_release(&out);
	free(argv);
	free(copy);
	return rc;
}

void iproc_helpers_allow_cmd(struct iproc_helpers *h, unsigned timeout_ms, size_t max_output)
{
	h->cmd.timeout_ms = timeout_ms;
	h->cmd.max_output = max_output;
	h->funcs[4] = (struct occo_tmpl_func){ "cmd", fn_cmd, &h->cmd };
	h->env.nfuncs = 5;
	h->env.flags |= OCCO_TMPL_ALLOW_CMD;
}

void iproc_helpers_init(struct iproc_helpers *h, const json_t *view)
{
	h->view = view;
	h->funcs[0] = (struct occo_tmpl_func){ "getip", fn_getip, (void *)view };
	h->funcs[1] = (struct occo_tmpl_func){ "getprivip", fn_getprivip, (void *)view };
	h->funcs[2] = (struct occo_tmpl_func){ "getipall", fn_getipall, (void *)view };
	h->funcs[3] = (struct occo_tmpl_func){ "cut", fn_cut, NULL };
	h->env.funcs = h->funcs;
	h->env.nfuncs = 4; /* cmd() only when allowed */
	h->env.flags = 0;
}

const struct occo_tmpl_env *iproc_helpers_env(const struct iproc_helpers *h)
{
	return &h->env;
}
