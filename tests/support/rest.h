/*
 * rest.h - helpers for the tests of occopus-rest-service: the service started in the
 * background (its log in a file, its port read from the log), and HTTP requests made with the
 * curl program.
 */
#ifndef OCCO_TEST_REST_H
#define OCCO_TEST_REST_H

struct occo_test_svc {
	int pid;
	int port;
	char *log; /* the file its stderr goes to */
};

/*
 * Start build/api/occopus-rest-service in `cwd` with `args` (NULL-terminated, after the
 * program's name; "--port 0" is added) and extra environment entries ("K=V", NULL-terminated,
 * may be NULL; OCCOPUS_LOG_LEVEL=info is set first), stderr and stdout to `log` (appended).
 * Waits (10 s at most) for its "listening" line and reads the port. 0 or -1.
 */
int occo_test_svc_start(struct occo_test_svc *s, const char *cwd, char *const args[],
			char *const env_add[], const char *log);

/* Send `sig` and wait for it to exit; returns its exit code, or 128 + the signal. */
int occo_test_svc_stop(struct occo_test_svc *s, int sig);

/* How many lines of the log contain `needle`. */
int occo_test_svc_log_count(const struct occo_test_svc *s, const char *needle);

/*
 * One request with curl: `method` to `url`; `data` (may be NULL) is sent as the body from the
 * file it names when it starts with '@', else as it is; `extra` are more curl arguments
 * (NULL-terminated, may be NULL). Returns the HTTP status (0 when curl failed); *body (may be
 * NULL) gets the answer (malloc'd).
 */
int occo_test_http(const char *method, const char *url, const char *data, char *const extra[],
		   char **body);

#endif
