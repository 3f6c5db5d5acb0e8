/*
 * test_broken_corpus.c - every broken input of tests/corpus/broken (and a few generated here:
 * binary junk, a 50 MB file, 100,000 levels of nesting) makes the program that reads it exit 1
 * with an error that names the file, line and column; none crashes or hangs.
 *
 * cases.tsv lists each file, the program (build: occopus-build --plan, import:
 * occopus-import --check, render: occopus-render) and what its stderr must say. Every file of the directory must be
 * listed, so a case cannot be added without its expectation.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"

#define CORPUS OCCO_SOURCE_DIR "/tests/corpus/broken"
#define TIME_LIMIT "30"

/* Run a program on a file under a time limit; returns its exit code, *err its stderr. */
static int run_on(const char *program, const char *dir, const char *file, char **err)
{
	static const struct {
		const char *name, *path, *flag;
	} programs[] = {
		{ "build", "api/occopus-build", "--plan" },
		{ "import", "api/occopus-import", "--check" },
		{ "render", "api/occopus-render", NULL },
	};
	char *env[] = { "OCCOPUS_CONFIG_PATH=", NULL };
	char *argv[8], *path;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (!strcmp(programs[i].name, program))
			break;
	if (i == sizeof(programs) / sizeof(programs[0]))
		fail_msg("unknown program '%s' in cases.tsv", program);
	path = occo_test_program(programs[i].path);
	argv[n++] = "timeout";
	argv[n++] = "-s";
	argv[n++] = "KILL";
	argv[n++] = TIME_LIMIT;
	argv[n++] = path;
	if (programs[i].flag)
		argv[n++] = (char *)programs[i].flag;
	argv[n++] = (char *)file;
	argv[n] = NULL;
	rc = occo_test_run(dir, argv, env, NULL, err);
	free(path);
	return rc;
}

/* stderr without the "error: " labels, so expectations read "FILE:LINE:COL: message". */
static void strip_labels(char *s)
{
	char *p;

	while ((p = strstr(s, "error: ")) != NULL)
		memmove(p, p + 7, strlen(p + 7) + 1);
}

static void test_corpus__every_case_is_a_positioned_error(void **state)
{
	FILE *f = fopen(CORPUS "/cases.tsv", "r");
	char line[1024];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *file, *program, *expect, *err, *save;
		int rc;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		file = strtok_r(line, "\t", &save);
		program = strtok_r(NULL, "\t", &save);
		expect = strtok_r(NULL, "\t", &save);
		assert_non_null(expect);
		rc = run_on(program, CORPUS, file, &err);
		strip_labels(err);
		if (rc != 1 || !strstr(err, expect))
			fail_msg("%s (%s): exit %d (want 1), want '%s' in:\n%s", file, program, rc,
				 expect, err);
		free(err);
		n++;
	}
	fclose(f);
	assert_true(n >= 40);
}

static void test_corpus__every_file_has_a_case(void **state)
{
	DIR *d = opendir(CORPUS);
	struct dirent *e;
	FILE *f;
	char *tsv;
	size_t len;

	assert_non_null(d);
	f = fopen(CORPUS "/cases.tsv", "r");
	assert_non_null(f);
	tsv = occo_calloc(1, 1 << 20);
	len = fread(tsv, 1, (1 << 20) - 1, f);
	tsv[len] = '\0';
	fclose(f);
	while ((e = readdir(d)) != NULL) {
		char *key;

		len = strlen(e->d_name);
		if ((len < 6 || strcmp(e->d_name + len - 5, ".yaml")) &&
		    (len < 4 || strcmp(e->d_name + len - 3, ".j2")))
			continue;
		key = occo_asprintf("\n%s\t", e->d_name);
		if (!strstr(tsv, key))
			fail_msg("%s has no line in cases.tsv", e->d_name);
		free(key);
	}
	closedir(d);
	free(tsv);
}

static void write_bytes(const char *path, const void *data, size_t n, size_t times)
{
	FILE *f = fopen(path, "w");
	size_t i;

	assert_non_null(f);
	for (i = 0; i < times; i++)
		assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static void test_corpus__generated_inputs(void **state)
{
	static const char *const programs[] = { "build", "import" };
	char *dir = occo_test_tmpdir("corpus");
	unsigned char junk[65536];
	char chunk[1 << 16];
	char *path, *err;
	size_t p;

	/* binary junk */
	assert_int_equal(occo_random_bytes(junk, sizeof(junk), NULL), 0);
	path = occo_asprintf("%s/junk.yaml", dir);
	write_bytes(path, junk, sizeof(junk), 1);
	free(path);
	/* 50 MB of one long plain scalar */
	memset(chunk, 'a', sizeof(chunk));
	path = occo_asprintf("%s/big.yaml", dir);
	write_bytes(path, chunk, sizeof(chunk), 50 * 16);
	free(path);
	/* 100,000 nested flow sequences */
	path = occo_asprintf("%s/deep.yaml", dir);
	write_bytes(path, "[", 1, 100000);
	free(path);

	for (p = 0; p < 2; p++) {
		assert_int_equal(run_on(programs[p], dir, "junk.yaml", &err), 1);
		assert_non_null(strstr(err, "junk.yaml:"));
		free(err);
		assert_int_equal(run_on(programs[p], dir, "big.yaml", &err), 1);
		if (!strstr(err, "big.yaml") || !strstr(err, "limit"))
			fail_msg("big.yaml: %s", err);
		free(err);
		assert_int_equal(run_on(programs[p], dir, "deep.yaml", &err), 1);
		strip_labels(err);
		if (!strstr(err, "deep.yaml:1:") || !strstr(err, "nest"))
			fail_msg("deep.yaml: %s", err);
		free(err);
	}
	occo_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus__every_case_is_a_positioned_error),
		cmocka_unit_test(test_corpus__every_file_has_a_case),
		cmocka_unit_test(test_corpus__generated_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
