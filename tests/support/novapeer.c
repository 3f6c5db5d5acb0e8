/*
 * novapeer.c - the nova tests' cloud (see novapeer.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "novapeer.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	occo_buf_append(ud, p, size * n, NULL);
	return size * n;
}

/* Keeps X-Subject-Token. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	char **token = ud;
	size_t len = size * n, k = strlen("X-Subject-Token:");

	if (len > k && !strncasecmp(p, "X-Subject-Token:", k)) {
		const char *v = p + k, *end = p + len;

		while (v < end && *v == ' ')
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n'))
			end--;
		free(*token);
		*token = occo_strndup(v, (size_t)(end - v));
	}
	return len;
}

static int call(const char *method, const char *url, const char *token, const char *body,
		json_t **out, char **subject)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct occo_buf b;
	long status = -1;
	char *auth = NULL;

	occo_buf_init(&b, 256u << 20);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "OpenStack-API-Version: compute 2.52");
	if (token) {
		auth = occo_asprintf("X-Auth-Token: %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (subject) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, subject);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(auth);
	if (out)
		*out = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
	occo_buf_release(&b);
	return (int)status;
}

static char *env_value(const char *text, const char *key)
{
	char *k = occo_asprintf("\n%s=", key);
	const char *p = strstr(text, k), *end;

	if (!p) {
		free(k);
		return NULL;
	}
	p += strlen(k);
	free(k);
	end = strchr(p, '\n');
	return occo_strndup(p, end ? (size_t)(end - p) : strlen(p));
}

int occo_test_nova_open(struct occo_test_nova *n)
{
	const char *dir = getenv("NOVAPEER_DIR");
	char *path, *text = NULL, *body, *with_nl;
	FILE *f;
	size_t len = 0;
	int st;

	memset(n, 0, sizeof(*n));
	path = occo_asprintf("%s/novapeer.env", dir && *dir ? dir : "/tmp/occo-novapeer");
	f = fopen(path, "r");
	if (!f) {
		char *argv[] = { "sh", "-c", OCCO_SOURCE_DIR "/scripts/novapeer.sh installed",
				 NULL };

		if (!getenv("CI") && occo_test_run(NULL, argv, NULL, NULL, NULL) != 0) {
			fprintf(stderr, "no OpenStack test cloud (scripts/novapeer.sh install): "
					"skipped\n");
			free(path);
			exit(OCCO_TEST_SKIP);
		}
		fprintf(stderr,
			"the OpenStack test cloud is not running (%s is missing): run "
			"scripts/novapeer.sh start, or the tests through ctest (fixture "
			"novapeer)\n",
			path);
		free(path);
		return -1;
	}
	if (getdelim(&text, &len, 0, f) < 0) {
		fclose(f);
		free(path);
		return -1;
	}
	fclose(f);
	free(path);
	with_nl = occo_asprintf("\n%s", text);
	free(text);
	n->auth_url = env_value(with_nl, "NOVAPEER_AUTH_URL");
	n->compute = env_value(with_nl, "NOVAPEER_COMPUTE_URL");
	n->network = env_value(with_nl, "NOVAPEER_NETWORK_URL");
	n->user = env_value(with_nl, "NOVAPEER_USER");
	n->password = env_value(with_nl, "NOVAPEER_PASSWORD");
	n->project_id = env_value(with_nl, "NOVAPEER_PROJECT_ID");
	n->image_id = env_value(with_nl, "NOVAPEER_IMAGE_ID");
	n->net_id = env_value(with_nl, "NOVAPEER_NET_ID");
	n->public_net_id = env_value(with_nl, "NOVAPEER_PUBLIC_NET_ID");
	free(with_nl);
	if (!n->auth_url || !n->compute || !n->network || !n->user || !n->password ||
	    !n->project_id || !n->image_id || !n->net_id || !n->public_net_id) {
		fprintf(stderr, "novapeer.env lacks a value\n");
		return -1;
	}
	body = occo_asprintf(
		"{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
		"{\"name\":\"%s\",\"domain\":{\"name\":\"Default\"},\"password\":\"%s\"}}},"
		"\"scope\":{\"project\":{\"id\":\"%s\"}}}}",
		n->user, n->password, n->project_id);
	path = occo_asprintf("%s/auth/tokens", n->auth_url);
	st = call("POST", path, NULL, body, NULL, &n->token);
	free(path);
	free(body);
	if (st != 201 || !n->token) {
		fprintf(stderr, "keystone gave no token (HTTP %d)\n", st);
		return -1;
	}
	body = occo_asprintf(
		"{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":"
		"{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"%s\"}}},"
		"\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}",
		n->password);
	path = occo_asprintf("%s/auth/tokens", n->auth_url);
	st = call("POST", path, NULL, body, NULL, &n->admin_token);
	free(path);
	free(body);
	if (st != 201 || !n->admin_token) {
		fprintf(stderr, "keystone gave admin no token (HTTP %d)\n", st);
		return -1;
	}
	return 0;
}

void occo_test_nova_close(struct occo_test_nova *n)
{
	free(n->auth_url);
	free(n->compute);
	free(n->network);
	free(n->user);
	free(n->password);
	free(n->project_id);
	free(n->image_id);
	free(n->net_id);
	free(n->public_net_id);
	free(n->token);
	free(n->admin_token);
	memset(n, 0, sizeof(*n));
}

int occo_test_nova_call(struct occo_test_nova *n, const char *method, const char *base,
			const char *path, const char *body, json_t **out)
{
	char *url = occo_asprintf("%s%s", base, path);
	int st = call(method, url, n->token, body, out, NULL);

	free(url);
	return st;
}

int occo_test_nova_admin_call(struct occo_test_nova *n, const char *method, const char *base,
			      const char *path, const char *body, json_t **out)
{
	char *url = occo_asprintf("%s%s", base, path);
	int st = call(method, url, n->admin_token, body, out, NULL);

	free(url);
	return st;
}

json_t *occo_test_nova_servers(struct occo_test_nova *n, const char *infra_id)
{
	char *path = occo_asprintf("/servers/detail?tags=occopus-infra-%s", infra_id);
	json_t *js = NULL, *v;

	if (occo_test_nova_call(n, "GET", n->compute, path, NULL, &js) != 200)
		fail_msg("GET /servers/detail failed");
	free(path);
	v = json_incref(json_object_get(js, "servers"));
	json_decref(js);
	return v ? v : json_array();
}

json_t *occo_test_nova_fips(struct occo_test_nova *n)
{
	json_t *js = NULL, *v;

	if (occo_test_nova_call(n, "GET", n->network, "/v2.0/floatingips", NULL, &js) != 200)
		fail_msg("GET /v2.0/floatingips failed");
	v = json_incref(json_object_get(js, "floatingips"));
	json_decref(js);
	return v ? v : json_array();
}

int occo_test_nova_delete(struct occo_test_nova *n, const char *server_id)
{
	char *path = occo_asprintf("/servers/%s", server_id);
	int st = occo_test_nova_call(n, "DELETE", n->compute, path, NULL, NULL), i;

	for (i = 0; st == 204 && i < 600; i++) {
		if (occo_test_nova_call(n, "GET", n->compute, path, NULL, NULL) == 404)
			break;
		usleep(100000);
	}
	free(path);
	return st == 204 || st == 404 ? 0 : -1;
}

static int b64(char c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

char *occo_test_nova_user_data(struct occo_test_nova *n, const char *server_id)
{
	char *url = occo_asprintf("%s/servers/%s", n->compute, server_id), *out;
	json_t *js = NULL;
	const char *ud;
	size_t i, k = 0;
	unsigned acc = 0;
	int bits = 0, v;

	if (call("GET", url, n->admin_token, NULL, &js, NULL) != 200)
		fail_msg("GET %s failed", url);
	free(url);
	ud = json_string_value(
		json_object_get(json_object_get(js, "server"), "OS-EXT-SRV-ATTR:user_data"));
	if (!ud) {
		json_decref(js);
		return NULL;
	}
	out = occo_malloc(strlen(ud) + 1);
	for (i = 0; ud[i]; i++) {
		if ((v = b64(ud[i])) < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[k] = 0;
	json_decref(js);
	return out;
}
