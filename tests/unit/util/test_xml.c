/*
 * test_xml.c - the small XML reader: trees, texts, entities, what it skips, and the documents
 * it refuses (with the line of the fault).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/xml.h"

static struct occo_xml *parse_ok(const char *s)
{
	struct occo_xml *x = NULL;
	struct occo_err err;

	if (occo_xml_parse(s, strlen(s), &x, &err) < 0)
		fail_msg("'%s': %s", s, err.msg);
	return x;
}

static void test_occo_xml_parse__tree_and_paths(void **state)
{
	static const char doc[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<!-- a comment -->\n"
		"<r:Resp xmlns:r=\"http://ec2.amazonaws.com/doc/2016-11-15\">\n"
		"  <set><item><id>i-1</id><st><name>running</name></st></item>\n"
		"       <other/>\n"
		"       <item a='x' b=\"y\"><id>i-2</id><empty></empty><self/></item></set>\n"
		"  <token>t&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#xe9;&#x20AC;&#x1F600;</token>\n"
		"  <data><![CDATA[<not & markup>]]> tail</data>\n"
		"</r:Resp>\n";
	struct occo_xml *x = parse_ok(doc);
	const struct occo_xml_node *root = occo_xml_root(x), *it;

	(void)state;
	assert_string_equal(root->name, "Resp");
	assert_string_equal(root->text, ""); /* a container */
	it = occo_xml_find(root, "set/item");
	assert_non_null(it);
	assert_string_equal(occo_xml_text(it, "id"), "i-1");
	assert_string_equal(occo_xml_text(it, "st/name"), "running");
	it = occo_xml_next(it); /* skips <other/> */
	assert_non_null(it);
	assert_string_equal(occo_xml_text(it, "id"), "i-2");
	assert_string_equal(occo_xml_text(it, "empty"), "");
	assert_string_equal(occo_xml_text(it, "self"), "");
	assert_null(occo_xml_text(it, "missing"));
	assert_null(occo_xml_next(it));
	assert_string_equal(occo_xml_text(root, "token"),
			    "t&<>\"'AB\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(occo_xml_text(root, "data"), "<not & markup> tail");
	assert_string_equal(occo_xml_child(root, NULL)->name, "set");
	assert_ptr_equal(occo_xml_find(root, ""), root);
	occo_xml_free(x);
}

static void test_occo_xml_parse__big_and_not_terminated(void **state)
{
	/* the input need not end with NUL, and thousands of elements are fine */
	char *doc = occo_malloc(20 * 5000 + 32), *p = doc;
	const struct occo_xml_node *it;
	struct occo_xml *x = NULL;
	size_t n = 0;
	int i;

	(void)state;
	p += sprintf(p, "<a>");
	for (i = 0; i < 5000; i++)
		p += sprintf(p, "<i><v>%d</v></i>", i);
	p += sprintf(p, "</a>");
	*p = 'X'; /* not part of the document */
	assert_int_equal(occo_xml_parse(doc, (size_t)(p - doc), &x, NULL), 0);
	for (it = occo_xml_child(occo_xml_root(x), "i"); it; it = occo_xml_next(it))
		n++;
	assert_int_equal(n, 5000);
	occo_xml_free(x);
	free(doc);
}

static void test_occo_xml_parse__refused(void **state)
{
	static const struct {
		const char *doc;
		const char *msg;
	} cases[] = {
		{ "", "line 1: no root element" },
		{ "   \n  ", "line 2: no root element" },
		{ "<a>", "an element is not closed" },
		{ "<a></b>", "closing tag does not match" },
		{ "<a/><b/>", "more than one root element" },
		{ "x<a/>", "text outside the root element" },
		{ "<a/>x", "text outside the root element" },
		{ "<a>&bogus;</a>", "unknown entity" },
		{ "<a>&#;</a>", "bad character reference" },
		{ "<a>&#0;</a>", "invalid code point" },
		{ "<a>&#xD800;</a>", "invalid code point" },
		{ "<a>&#x110000;</a>", "invalid code point" },
		{ "<a>&#12</a>", "bad character reference" },
		{ "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "a DTD is not supported" },
		{ "<a b=c/>", "attribute value without quotes" },
		{ "<a b/>", "attribute without a value" },
		{ "<a b='c/>", "attribute value without its end" },
		{ "<a><!-- x </a>", "comment without its end" },
		{ "<a><![CDATA[x</a>", "CDATA section without its end" },
		{ "<?xml version='1.0'", "processing instruction without its end" },
		{ "<>", "element without a name" },
		{ "<a>\n\n</a", "line 3: unexpected end inside a closing tag" },
		{ "<a", "unexpected end inside a tag" },
	};
	char deep[4 * (OCCO_XML_MAX_DEPTH + 2) + 1];
	struct occo_xml *x = NULL;
	struct occo_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		occo_err_clear(&err);
		assert_int_equal(occo_xml_parse(cases[i].doc, strlen(cases[i].doc), &x, &err),
				 -OCCO_EPROTO);
		if (!strstr(err.msg, cases[i].msg) || strncmp(err.msg, "malformed XML: line ", 20))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
	}
	for (i = 0; i < OCCO_XML_MAX_DEPTH + 1; i++)
		memcpy(deep + 3 * i, "<a>", 3);
	deep[3 * i] = '\0';
	assert_int_equal(occo_xml_parse(deep, strlen(deep), &x, &err), -OCCO_EPROTO);
	assert_non_null(strstr(err.msg, "nested too deeply"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_xml_parse__tree_and_paths),
		cmocka_unit_test(test_occo_xml_parse__big_and_not_terminated),
		cmocka_unit_test(test_occo_xml_parse__refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
