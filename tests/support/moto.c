/*
 * moto.c - a moto EC2 server for the tests (see moto.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "moto.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/xml.h"

#define NO_AUTH_CALLS "3" /* CreateUser, PutUserPolicy, CreateAccessKey */
#define FORM "Content-Type: application/x-www-form-urlencoded; charset=utf-8"

int occo_test_moto_available(void)
{
	return occo_test_have_program("moto_server");
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	occo_buf_append(ud, p, size * n, NULL);
	return size * n;
}

/* A blocking POST; returns the status or -1. */
static int post(const char *url, const char *sigv4, const char *user, const char *pass,
		const char *ctype, const char *body, char **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct occo_buf b;
	long status = -1;

	occo_buf_init(&b, 64u << 20);
	h = curl_slist_append(h, ctype);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (sigv4) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out)
		*out = occo_buf_detach(&b, NULL);
	occo_buf_release(&b);
	return (int)status;
}

static int get_ok(const char *url)
{
	CURL *c = curl_easy_init();
	long status = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status == 200;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

char *occo_test_xml_text(const char *body, const char *name)
{
	json_t *all = occo_test_xml_texts(body, name);
	char *s = json_array_size(all) ? occo_strdup(json_string_value(json_array_get(all, 0)))
				       : NULL;

	json_decref(all);
	return s;
}

static void texts(const struct occo_xml_node *n, const char *name, json_t *out)
{
	for (; n; n = n->next) {
		if (!strcmp(n->name, name))
			json_array_append_new(out, json_string(n->text));
		texts(n->child, name, out);
	}
}

json_t *occo_test_xml_texts(const char *body, const char *name)
{
	json_t *out = json_array();
	struct occo_xml *x;

	if (body && occo_xml_parse(body, strlen(body), &x, NULL) == 0) {
		texts(occo_xml_root(x), name, out);
		occo_xml_free(x);
	}
	return out;
}

/* The first calls, unchecked: an IAM user allowed everything, and its key. */
static int bootstrap(struct occo_test_moto *m)
{
	static const char policy[] =
		"PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B"
		"%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A"
		"%22%7D%5D%7D&Action=PutUserPolicy&UserName=ci&PolicyName=all&Version=2010-05-08";
	const char *sig = "aws:amz:" OCCO_TEST_MOTO_REGION ":iam";
	char *body = NULL;
	int rc = -1;

	free(m->access);
	free(m->secret);
	m->access = m->secret = NULL;
	if (post(m->url, sig, "bootstrap", "bootstrap", FORM,
		 "Action=CreateUser&UserName=ci&Version=2010-05-08", NULL) != 200 ||
	    post(m->url, sig, "bootstrap", "bootstrap", FORM, policy, NULL) != 200 ||
	    post(m->url, sig, "bootstrap", "bootstrap", FORM,
		 "Action=CreateAccessKey&UserName=ci&Version=2010-05-08", &body) != 200) {
		fprintf(stderr, "moto: cannot make the IAM user and key\n");
		goto out;
	}
	m->access = occo_test_xml_text(body, "AccessKeyId");
	m->secret = occo_test_xml_text(body, "SecretAccessKey");
	if (!m->access || !m->secret) {
		fprintf(stderr, "moto: no access key in %s\n", body);
		goto out;
	}
	rc = 0;
out:
	free(body);
	return rc;
}

static int spawn(struct occo_test_moto *m)
{
	char port[16];
	pid_t pid;
	int i, status;

	m->port = free_port();
	snprintf(port, sizeof(port), "%d", m->port);
	free(m->url);
	m->url = occo_asprintf("http://127.0.0.1:%d/", m->port);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("INITIAL_NO_AUTH_ACTION_COUNT", NO_AUTH_CALLS, 1);
		setenv("MOTO_ENABLE_AMI_VALIDATION", "true", 1);
		setenv("MOTO_ENABLE_KEYPAIR_VALIDATION", "true", 1);
		execlp("moto_server", "moto_server", "-H", "127.0.0.1", "-p", port, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* as the child does: no race with a kill of the group */
	m->pid = pid;
	for (i = 0; i < 600; i++) {
		char *url = occo_asprintf("%smoto-api/", m->url);
		int up = get_ok(url);

		free(url);
		if (up)
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			m->pid = 0;
			return -1; /* e.g. the port was taken meanwhile */
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "moto_server did not answer on %s\n", m->url);
	return -1;
}

int occo_test_moto_start(struct occo_test_moto *m)
{
	int tries;

	memset(m, 0, sizeof(*m));
	m->dir = occo_test_tmpdir("moto");
	m->log = occo_asprintf("%s/moto.log", m->dir);
	for (tries = 0; tries < 3; tries++) {
		if (spawn(m) == 0)
			return bootstrap(m);
		if (m->pid > 0)
			break; /* it runs but does not answer */
	}
	fprintf(stderr, "cannot start moto_server (see %s)\n", m->log);
	return -1;
}

int occo_test_moto_reset(struct occo_test_moto *m)
{
	char *url = occo_asprintf("%smoto-api/reset", m->url);
	char *auth = occo_asprintf("%smoto-api/reset-auth", m->url);
	/* reset-auth reads its body as text: a form content type makes it fail */
	int ok = post(url, NULL, NULL, NULL, FORM, "", NULL) == 200 &&
		 post(auth, NULL, NULL, NULL, "Content-Type: text/plain", NO_AUTH_CALLS, NULL) ==
			 200;

	free(url);
	free(auth);
	if (!ok) {
		fprintf(stderr, "moto: reset failed\n");
		return -1;
	}
	return bootstrap(m);
}

void occo_test_moto_stop(struct occo_test_moto *m)
{
	if (m->pid > 0) {
		/* nothing of it is worth keeping, and on SIGTERM it takes seconds to exit */
		kill(-m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
	}
	occo_test_rmtree(m->dir);
	free(m->dir);
	free(m->log);
	free(m->url);
	free(m->access);
	free(m->secret);
	memset(m, 0, sizeof(*m));
}

int occo_test_moto_ec2(const struct occo_test_moto *m, const char *form, char **body)
{
	char *full = occo_asprintf("%s&Version=2016-11-15", form);
	int rc = post(m->url, "aws:amz:" OCCO_TEST_MOTO_REGION ":ec2", m->access, m->secret, FORM,
		      full, body);

	free(full);
	return rc;
}

long occo_test_moto_requests(const struct occo_test_moto *m)
{
	FILE *f = fopen(m->log, "r");
	char line[1024];
	long n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, "\"POST / HTTP") != NULL;
	if (f)
		fclose(f);
	return n;
}

char *occo_test_moto_ami(const struct occo_test_moto *m)
{
	char *body = NULL, *id = NULL;

	if (occo_test_moto_ec2(m,
			       "Action=DescribeImages&Filter.1.Name=name"
			       "&Filter.1.Value.1=amzn-ami-hvm-%2A-x86_64-gp2",
			       &body) == 200)
		id = occo_test_xml_text(body, "imageId");
	free(body);
	return id;
}

static const char *tag_of(const struct occo_xml_node *it, const char *key)
{
	const struct occo_xml_node *t;

	for (t = occo_xml_find(it, "tagSet/item"); t; t = occo_xml_next(t))
		if (!strcmp(occo_xml_text(t, "key") ? occo_xml_text(t, "key") : "", key))
			return occo_xml_text(t, "value");
	return NULL;
}

json_t *occo_test_moto_instances(const struct occo_test_moto *m, const char *infra_id)
{
	char *form =
		occo_asprintf("Action=DescribeInstances&Filter.1.Name=tag%%3Aoccopus%%3Ainfra_id"
			      "&Filter.1.Value.1=%s",
			      infra_id);
	const struct occo_xml_node *r, *it, *g;
	json_t *out = json_array();
	struct occo_xml *x;
	char *body = NULL;

	if (occo_test_moto_ec2(m, form, &body) == 200 &&
	    occo_xml_parse(body, strlen(body), &x, NULL) == 0) {
		for (r = occo_xml_find(occo_xml_root(x), "reservationSet/item"); r;
		     r = occo_xml_next(r)) {
			for (it = occo_xml_find(r, "instancesSet/item"); it;
			     it = occo_xml_next(it)) {
				json_t *groups = json_array();

				for (g = occo_xml_find(it, "groupSet/item"); g;
				     g = occo_xml_next(g))
					json_array_append_new(
						groups, json_string(occo_xml_text(g, "groupId")));
				json_array_append_new(
					out,
					json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}",
						  "id", occo_xml_text(it, "instanceId"), "dns",
						  occo_xml_text(it, "dnsName"), "state",
						  occo_xml_text(it, "instanceState/name"), "token",
						  tag_of(it, "occopus:token"), "node",
						  tag_of(it, "occopus:node_name"), "key_name",
						  occo_xml_text(it, "keyName"), "subnet_id",
						  occo_xml_text(it, "subnetId"), "groups", groups));
			}
		}
		occo_xml_free(x);
	}
	free(body);
	free(form);
	return out;
}

static int b64_value(char c)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

char *occo_test_moto_user_data(const struct occo_test_moto *m, const char *instance_id)
{
	char *form = occo_asprintf("Action=DescribeInstanceAttribute&InstanceId=%s"
				   "&Attribute=userData",
				   instance_id);
	char *body = NULL, *b64 = NULL, *out = NULL, *o;
	unsigned long acc = 0;
	int bits = 0, v;
	const char *p;

	if (occo_test_moto_ec2(m, form, &body) == 200)
		b64 = occo_test_xml_text(body, "value");
	if (b64) {
		out = o = occo_malloc(strlen(b64) + 1);
		for (p = b64; *p && *p != '='; p++) {
			if ((v = b64_value(*p)) < 0)
				continue;
			acc = (acc << 6) | (unsigned long)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				*o++ = (char)((acc >> bits) & 0xff);
			}
		}
		*o = '\0';
	}
	free(b64);
	free(body);
	free(form);
	return out;
}

int occo_test_moto_terminate(const struct occo_test_moto *m, const char *instance_id)
{
	char *form = occo_asprintf("Action=TerminateInstances&InstanceId.1=%s", instance_id);
	int rc = occo_test_moto_ec2(m, form, NULL);

	free(form);
	return rc == 200 ? 0 : -1;
}
