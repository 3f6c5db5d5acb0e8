/*
 * test_ec2_query.c - the parts of the ec2 resource handler that need no cloud: form encoding
 * for SigV4, base64, the state mapping of OCCOPUS.md 4.3, reading instances out of EC2's
 * answers (shaped as EC2 and moto send them), and what each error answer means.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "../../../resourcehandler/src/plugins/ec2_query.h"
#include "occo/util/alloc.h"

static void test_rh__ec2_param__encoding(void **state)
{
	struct occo_buf b;
	struct occo_err err;

	(void)state;
	occo_buf_init(&b, 1024);
	assert_int_equal(rh__ec2_param(&b, "Action", "DescribeInstances", NULL), 0);
	assert_int_equal(rh__ec2_param(&b, "Filter.1.Name", "tag:occopus:token", NULL), 0);
	assert_int_equal(rh__ec2_paramf(&b, "a b+c/\xc3\xa9~-_.&=", NULL, "Tag.%d.Value", 7), 0);
	assert_int_equal(rh__ec2_param(&b, "Empty", NULL, NULL), 0);
	assert_string_equal(occo_buf_str(&b),
			    "Action=DescribeInstances&Filter.1.Name=tag%3Aoccopus%3Atoken"
			    "&Tag.7.Value=a%20b%2Bc%2F%C3%A9~-_.%26%3D&Empty=");
	occo_buf_release(&b);
	occo_buf_init(&b, 8);
	assert_int_equal(rh__ec2_param(&b, "Action", "RunInstances", &err), -OCCO_ETOOBIG);
	occo_buf_release(&b);
}

static void test_rh__ec2_base64__rfc4648(void **state)
{
	static const char *const cases[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = rh__ec2_base64(cases[i][0], strlen(cases[i][0]));

		assert_string_equal(s, cases[i][1]);
		free(s);
	}
	{
		char *s = rh__ec2_base64("\xff\xfe\x00", 3);

		assert_string_equal(s, "//4A");
		free(s);
	}
}

static void test_rh__ec2_state__occopus_mapping(void **state)
{
	(void)state;
	assert_int_equal(rh__ec2_state("pending"), RH_PENDING);
	assert_int_equal(rh__ec2_state("running"), RH_READY);
	assert_int_equal(rh__ec2_state("shutting-down"), RH_SHUTDOWN);
	assert_int_equal(rh__ec2_state("terminated"), RH_SHUTDOWN);
	assert_int_equal(rh__ec2_state("stopping"), RH_TEMP_FAILED);
	assert_int_equal(rh__ec2_state("stopped"), RH_TEMP_FAILED);
	assert_int_equal(rh__ec2_state("rebooting"), RH_UNKNOWN);
	assert_int_equal(rh__ec2_state(NULL), RH_UNKNOWN);
}

static const char describe[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
	" <requestId>8f7724cf</requestId>\n"
	" <reservationSet>\n"
	"  <item><reservationId>r-1</reservationId><instancesSet>\n"
	"   <item><instanceId>i-a</instanceId>\n"
	"    <instanceState><code>16</code><name>running</name></instanceState>\n"
	"    <privateDnsName>ip-10-0-0-5.ec2.internal</privateDnsName>\n"
	"    <dnsName>ec2-54-1-2-3.compute-1.amazonaws.com</dnsName>\n"
	"    <privateIpAddress>10.0.0.5</privateIpAddress><ipAddress>54.1.2.3</ipAddress>\n"
	"    <networkInterfaceSet><item><association><publicIp>9.9.9.9</publicIp>"
	"</association></item></networkInterfaceSet>\n"
	"    <tagSet><item><key>Name</key><value>x</value></item>\n"
	"     <item><key>occopus:token</key><value>occo-1</value></item></tagSet>\n"
	"   </item>\n"
	"   <item><instanceId>i-b</instanceId>\n"
	"    <instanceState><code>80</code><name>stopped</name></instanceState>\n"
	"    <stateReason><code>Client.UserInitiatedShutdown</code>\n"
	"     <message>Client.UserInitiatedShutdown: User initiated shutdown</message>"
	"</stateReason>\n"
	"    <dnsName/><privateIpAddress>10.0.0.6</privateIpAddress>\n"
	"   </item>\n"
	"  </instancesSet></item>\n"
	"  <item><reservationId>r-2</reservationId><instancesSet>\n"
	"   <item><instanceId>i-c</instanceId>\n"
	"    <instanceState><name>exploding</name></instanceState>\n"
	"    <dnsName>10.0.0.7</dnsName><privateIpAddress>10.0.0.7</privateIpAddress>\n"
	"   </item>\n"
	"   <item><instanceState><name>running</name></instanceState></item>\n"
	"  </instancesSet></item>\n"
	" </reservationSet>\n"
	" <nextToken>r-2</nextToken>\n"
	"</DescribeInstancesResponse>\n";

static void test_rh__ec2_parse_instances__describe(void **state)
{
	struct rh__ec2_insts l = { 0 };
	struct occo_err err;
	char *next = NULL;
	char *a;

	(void)state;
	assert_int_equal(rh__ec2_parse_instances(describe, strlen(describe), &l, 100, &next, &err),
			 0);
	assert_string_equal(next, "r-2");
	free(next);
	assert_int_equal(l.n, 3); /* the item without an id is skipped */
	assert_string_equal(l.v[0].id, "i-a");
	assert_string_equal(l.v[0].token, "occo-1");
	assert_int_equal(l.v[0].state, RH_READY);
	a = json_dumps(l.v[0].addresses, JSON_COMPACT);
	assert_string_equal(a, "[\"ec2-54-1-2-3.compute-1.amazonaws.com\",\"54.1.2.3\","
			       "\"10.0.0.5\"]");
	free(a);
	assert_string_equal(l.v[0].private_address, "10.0.0.5");
	assert_null(l.v[0].message);

	assert_int_equal(l.v[1].state, RH_TEMP_FAILED);
	assert_null(l.v[1].token);
	assert_string_equal(l.v[1].message,
			    "Client.UserInitiatedShutdown: User initiated shutdown");
	assert_int_equal(json_array_size(l.v[1].addresses), 1);

	assert_int_equal(l.v[2].state, RH_UNKNOWN);
	assert_string_equal(l.v[2].message, "unknown EC2 state 'exploding'");
	assert_int_equal(json_array_size(l.v[2].addresses), 1); /* no repeats */

	/* a second page appends */
	assert_int_equal(rh__ec2_parse_instances(describe, strlen(describe), &l, 100, &next, &err),
			 0);
	free(next);
	assert_int_equal(l.n, 6);
	/* bounded */
	assert_int_equal(rh__ec2_parse_instances(describe, strlen(describe), &l, 7, &next, &err),
			 -OCCO_ETOOBIG);
	rh__ec2_insts_release(&l);
}

static void test_rh__ec2_parse_instances__run_and_junk(void **state)
{
	static const char run[] =
		"<RunInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">"
		"<reservationId>r-9</reservationId><instancesSet><item>"
		"<instanceId>i-new</instanceId><instanceState><code>0</code><name>pending</name>"
		"</instanceState><stateReason><code/><message/></stateReason></item>"
		"</instancesSet></RunInstancesResponse>";
	struct rh__ec2_insts l = { 0 };
	struct occo_err err;
	char *next = NULL;

	(void)state;
	assert_int_equal(rh__ec2_parse_instances(run, strlen(run), &l, 1, &next, &err), 0);
	assert_null(next);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].id, "i-new");
	assert_int_equal(l.v[0].state, RH_PENDING);
	assert_null(l.v[0].message);
	assert_int_equal(json_array_size(l.v[0].addresses), 0);
	rh__ec2_insts_release(&l);

	assert_int_equal(rh__ec2_parse_instances("<html>oops</html>", 17, &l, 10, &next, &err),
			 -OCCO_EPROTO);
	assert_non_null(strstr(err.msg, "unexpected answer <html>"));
	assert_int_equal(rh__ec2_parse_instances("<Describe", 9, &l, 10, &next, &err),
			 -OCCO_EPROTO);
	assert_non_null(strstr(err.msg, "malformed XML"));
	assert_int_equal(l.n, 0);
}

#define ERR(code, msg)                                                                       \
	"<?xml version=\"1.0\"?><Response><Errors><Error><Code>" code "</Code><Message>" msg \
	"</Message></Error></Errors><RequestID>x</RequestID></Response>"

static void test_rh__ec2_error__meanings(void **state)
{
	static const struct {
		int status;
		const char *body;
		enum rh__ec2_fault fault;
		int code;
		const char *msg;
	} cases[] = {
		{ 401,
		  "<ErrorResponse><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able "
		  "to validate the provided access credentials</Message></Error></Errors>"
		  "</ErrorResponse>",
		  RH__EC2_F_AUTH, OCCO_EAUTH,
		  "RunInstances: bad credentials for 'http://e/' (AuthFailure: AWS was not able to "
		  "validate the provided access credentials)" },
		{ 403, ERR("SignatureDoesNotMatch", "The request signature we calculated..."),
		  RH__EC2_F_AUTH, OCCO_EAUTH, "bad credentials for 'http://e/' (SignatureDoes" },
		{ 403, "", RH__EC2_F_AUTH, OCCO_EAUTH,
		  "bad credentials for 'http://e/' (HTTP 403)" },
		{ 401, "<html>no</html>", RH__EC2_F_AUTH, OCCO_EAUTH, "(HTTP 401)" },
		{ 403, ERR("UnauthorizedOperation", "You are not authorized"), RH__EC2_F_OTHER,
		  OCCO_EREMOTE, "RunInstances: UnauthorizedOperation: You are not authorized" },
		{ 503, ERR("RequestLimitExceeded", "Request limit exceeded."), RH__EC2_F_TRANSIENT,
		  OCCO_ELIMIT, "RunInstances: RequestLimitExceeded: Request limit exceeded." },
		{ 500, ERR("InsufficientInstanceCapacity", "We currently do not have..."),
		  RH__EC2_F_TRANSIENT, OCCO_ELIMIT, "InsufficientInstanceCapacity: We currently" },
		{ 500, ERR("InternalError", "An internal error has occurred"), RH__EC2_F_TRANSIENT,
		  OCCO_EREMOTE, "InternalError: An internal error" },
		{ 502, "<html>bad gateway</html>", RH__EC2_F_TRANSIENT, OCCO_EREMOTE,
		  "RunInstances: HTTP 502 from 'http://e/'" },
		{ 400, ERR("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist"),
		  RH__EC2_F_NOT_FOUND, OCCO_EREMOTE,
		  "InvalidInstanceID.NotFound: The instance ID" },
		{ 400, ERR("InvalidAMIID.NotFound", "The image id '[ami-1]' does not exist"),
		  RH__EC2_F_OTHER, OCCO_EREMOTE,
		  "RunInstances: InvalidAMIID.NotFound: The image id '[ami-1]' does not exist" },
		{ 400, ERR("Bad", "line one\nline\ttwo"), RH__EC2_F_OTHER, OCCO_EREMOTE,
		  "Bad: line one line two" },
		{ 404, "", RH__EC2_F_OTHER, OCCO_EPROTO,
		  "RunInstances: HTTP 404 from 'http://e/'" },
		{ 400,
		  "<ErrorResponse><Error><Code>InvalidParameterValue</Code><Message>m</Message>"
		  "</Error></ErrorResponse>",
		  RH__EC2_F_OTHER, OCCO_EREMOTE, "InvalidParameterValue: m" },
	};
	struct occo_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum rh__ec2_fault f;

		occo_err_clear(&err);
		f = rh__ec2_error(cases[i].status, cases[i].body, strlen(cases[i].body),
				  "RunInstances", "http://e/", &err);
		if (f != cases[i].fault || err.code != cases[i].code ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: fault %d code %d '%s'", i, f, err.code, err.msg);
	}
}

static void test_rh__ec2_scrub__every_occurrence(void **state)
{
	char msg[] = "key AKIA1234 and AKIA1234; short ab";

	(void)state;
	rh__ec2_scrub(msg, "AKIA1234");
	assert_string_equal(msg, "key *** and ***; short ab");
	rh__ec2_scrub(msg, "ab"); /* too short to be a secret: words would vanish */
	assert_string_equal(msg, "key *** and ***; short ab");
	rh__ec2_scrub(msg, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rh__ec2_param__encoding),
		cmocka_unit_test(test_rh__ec2_base64__rfc4648),
		cmocka_unit_test(test_rh__ec2_state__occopus_mapping),
		cmocka_unit_test(test_rh__ec2_parse_instances__describe),
		cmocka_unit_test(test_rh__ec2_parse_instances__run_and_junk),
		cmocka_unit_test(test_rh__ec2_error__meanings),
		cmocka_unit_test(test_rh__ec2_scrub__every_occurrence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
