/* t-inflect.c - the case helpers, table-driven. */
#include <string.h>

#include "inflect.h"
#include "tap.h"

struct tcase {
	const char *helper, *in, *want;
};

static const struct tcase cases[] = {
	/* snake: every separator style and capital boundary */
	{"snake", "OrderLine", "order_line"},
	{"snake", "orderLine", "order_line"},
	{"snake", "HTTPServer", "http_server"},
	{"snake", "order line", "order_line"},
	{"snake", "order-line", "order_line"},
	{"snake", "v2Api", "v2_api"},
	{"snake", "order_line", "order_line"},
	{"snake", "getHTTPResponseCode", "get_http_response_code"},
	{"snake", "Order2Line", "order2_line"},
	{"snake", "ABC", "abc"},
	{"snake", "  padded  name ", "padded_name"},
	{"snake", "a__b--c", "a_b_c"},
	{"snake", "userID", "user_id"},
	{"snake", "", ""},
	{"snake", "café_Menu", "café_menu"},
	/* camel, pascal, kebab */
	{"camel", "order_line", "orderLine"},
	{"camel", "OrderLine", "orderLine"},
	{"camel", "HTTPServer", "httpServer"},
	{"camel", "order line item", "orderLineItem"},
	{"pascal", "order_line", "OrderLine"},
	{"pascal", "orderLine", "OrderLine"},
	{"pascal", "http_server", "HttpServer"},
	{"pascal", "v2-api", "V2Api"},
	{"kebab", "OrderLine", "order-line"},
	{"kebab", "order_line", "order-line"},
	{"kebab", "HTTPServer", "http-server"},
	/* upper and lower keep separators */
	{"upper", "order_line", "ORDER_LINE"},
	{"upper", "Order Line", "ORDER LINE"},
	{"lower", "OrderLine", "orderline"},
	{"lower", "HTTP-Server", "http-server"},
	/* plural */
	{"plural", "order", "orders"},
	{"plural", "category", "categories"},
	{"plural", "box", "boxes"},
	{"plural", "bus", "buses"},
	{"plural", "status", "statuses"},
	{"plural", "person", "people"},
	{"plural", "child", "children"},
	{"plural", "day", "days"},
	{"plural", "OrderLine", "OrderLines"},
	{"plural", "order_line", "order_lines"},
	{"plural", "Person", "People"},
	{"plural", "PERSON", "PEOPLE"},
	{"plural", "BOX", "BOXES"},
	{"plural", "class", "classes"},
	{"plural", "match", "matches"},
	{"plural", "dish", "dishes"},
	{"plural", "quiz", "quizzes"},
	{"plural", "knife", "knives"},
	{"plural", "hero", "heroes"},
	{"plural", "photo", "photos"},
	{"plural", "analysis", "analyses"},
	{"plural", "basis", "bases"},
	{"plural", "key", "keys"},
	{"plural", "city", "cities"},
	{"plural", "news", "news"},
	{"plural", "orders", "orders"},
	{"plural", "people", "people"},
	{"plural", "alias", "aliases"},
	{"plural", "cache", "caches"},
	{"plural", "sale_person", "sale_people"},
	{"plural", "UserAddress", "UserAddresses"},
	{"plural", "HTTPProxy", "HTTPProxies"},
	{"plural", "menu", "menus"},
	{"plural", "", ""},
	/* singular */
	{"singular", "orders", "order"},
	{"singular", "categories", "category"},
	{"singular", "boxes", "box"},
	{"singular", "buses", "bus"},
	{"singular", "statuses", "status"},
	{"singular", "status", "status"},
	{"singular", "people", "person"},
	{"singular", "children", "child"},
	{"singular", "days", "day"},
	{"singular", "news", "news"},
	{"singular", "OrderLines", "OrderLine"},
	{"singular", "order_lines", "order_line"},
	{"singular", "People", "Person"},
	{"singular", "classes", "class"},
	{"singular", "addresses", "address"},
	{"singular", "matches", "match"},
	{"singular", "houses", "house"},
	{"singular", "databases", "database"},
	{"singular", "responses", "response"},
	{"singular", "knives", "knife"},
	{"singular", "moves", "move"},
	{"singular", "heroes", "hero"},
	{"singular", "shoes", "shoe"},
	{"singular", "movies", "movie"},
	{"singular", "ties", "tie"},
	{"singular", "analyses", "analysis"},
	{"singular", "caches", "cache"},
	{"singular", "aliases", "alias"},
	{"singular", "quizzes", "quiz"},
	{"singular", "menus", "menu"},
	{"singular", "order", "order"},
	{"singular", "series", "series"},
	{"singular", "ORDERS", "ORDER"},
	{"singular", "class", "class"},
	/* chains */
	{"plural.snake", "OrderLine", "order_lines"},
	{"snake.plural", "OrderLine", "order_lines"},
	{"singular.pascal", "order_lines", "OrderLine"},
	{"plural.upper", "category", "CATEGORIES"},
};

/* Every helper on awkward names: separators of every kind, acronyms,
 * digits, UTF-8, punctuation, a long name.  The outputs are those of the
 * first implementation. */
struct row {
	const char *in, *want[8];
};

static const struct row rows[] = {
	{"",
		{"", "", "", "", "", "", "", ""}},
	{" ",
		{"", "", "", "", " ", " ", " ", " "}},
	{"_",
		{"", "", "", "", "_", "_", "_", "_"}},
	{"a",
		{"a", "a", "A", "a", "A", "a", "as", "a"}},
	{"A",
		{"a", "a", "A", "a", "A", "a", "As", "A"}},
	{"aB",
		{"a_b", "aB", "AB", "a-b", "AB", "ab", "aBs", "aB"}},
	{"AB",
		{"ab", "ab", "Ab", "ab", "AB", "ab", "ABS", "AB"}},
	{"ABc",
		{"a_bc", "aBc", "ABc", "a-bc", "ABC", "abc", "ABcs", "ABc"}},
	{"a1B",
		{"a1_b", "a1B", "A1B", "a1-b", "A1B", "a1b", "a1Bs", "a1B"}},
	{"1a",
		{"1a", "1a", "1a", "1a", "1A", "1a", "1as", "1a"}},
	{"x2Y3z",
		{"x2_y3z", "x2Y3z", "X2Y3z", "x2-y3z", "X2Y3Z", "x2y3z", "x2Y3zes", "x2Y3z"}},
	{"HTTPServerURLs",
		{"http_server_ur_ls", "httpServerUrLs", "HttpServerUrLs", "http-server-ur-ls", "HTTPSERVERURLS", "httpserverurls", "HTTPServerURLs", "HTTPServerURL"}},
	{"getHTTP2Response",
		{"get_http2_response", "getHttp2Response", "GetHttp2Response", "get-http2-response", "GETHTTP2RESPONSE", "gethttp2response", "getHTTP2Responses", "getHTTP2Response"}},
	{"\tfoo\nbar\rbaz\vqux\fend",
		{"foo_bar_baz_qux_end", "fooBarBazQuxEnd", "FooBarBazQuxEnd", "foo-bar-baz-qux-end", "\tFOO\nBAR\rBAZ\vQUX\fEND", "\tfoo\nbar\rbaz\vqux\fend", "\tfoo\nbar\rbaz\vqux\fends", "\tfoo\nbar\rbaz\vqux\fend"}},
	{"-lead_trail-",
		{"lead_trail", "leadTrail", "LeadTrail", "lead-trail", "-LEAD_TRAIL-", "-lead_trail-", "-lead_trails-", "-lead_trail-"}},
	{"caf\xc3" "\xa9" "_Menu\xc3" "\x89" "tat",
		{"caf\xc3" "\xa9" "_menu\xc3" "\x89" "tat", "caf\xc3" "\xa9" "Menu\xc3" "\x89" "tat", "Caf\xc3" "\xa9" "Menu\xc3" "\x89" "tat", "caf\xc3" "\xa9" "-menu\xc3" "\x89" "tat", "CAF\xc3" "\xa9" "_MENU\xc3" "\x89" "TAT", "caf\xc3" "\xa9" "_menu\xc3" "\x89" "tat", "caf\xc3" "\xa9" "_Menu\xc3" "\x89" "tats", "caf\xc3" "\xa9" "_Menu\xc3" "\x89" "tat"}},
	{"user.name@host",
		{"user.name@host", "user.name@host", "User.name@host", "user.name@host", "USER.NAME@HOST", "user.name@host", "user.name@hosts", "user.name@host"}},
	{"XMLHttpRequest",
		{"xml_http_request", "xmlHttpRequest", "XmlHttpRequest", "xml-http-request", "XMLHTTPREQUEST", "xmlhttprequest", "XMLHttpRequests", "XMLHttpRequest"}},
	{"person",
		{"person", "person", "Person", "person", "PERSON", "person", "people", "person"}},
	{"BOXES",
		{"boxes", "boxes", "Boxes", "boxes", "BOXES", "boxes", "BOXES", "BOX"}},
	{"wolf_pack_leaf",
		{"wolf_pack_leaf", "wolfPackLeaf", "WolfPackLeaf", "wolf-pack-leaf", "WOLF_PACK_LEAF", "wolf_pack_leaf", "wolf_pack_leaves", "wolf_pack_leaf"}},
	{"status_quo",
		{"status_quo", "statusQuo", "StatusQuo", "status-quo", "STATUS_QUO", "status_quo", "status_quos", "status_quo"}},
	{"iPhone",
		{"i_phone", "iPhone", "IPhone", "i-phone", "IPHONE", "iphone", "iPhones", "iPhone"}},
	{"ID",
		{"id", "id", "Id", "id", "ID", "id", "IDS", "ID"}},
	{"a--B__c  D",
		{"a_b_c_d", "aBCD", "ABCD", "a-b-c-d", "A--B__C  D", "a--b__c  d", "a--B__c  Ds", "a--B__c  D"}},
	{"Foo Bar Baz Qux Quux Corge Grault Garply Waldo Fred Plugh Xyzzy Thud Wibble Wobble Wubble Flob",
		{"foo_bar_baz_qux_quux_corge_grault_garply_waldo_fred_plugh_xyzzy_thud_wibble_wobble_wubble_flob", "fooBarBazQuxQuuxCorgeGraultGarplyWaldoFredPlughXyzzyThudWibbleWobbleWubbleFlob", "FooBarBazQuxQuuxCorgeGraultGarplyWaldoFredPlughXyzzyThudWibbleWobbleWubbleFlob", "foo-bar-baz-qux-quux-corge-grault-garply-waldo-fred-plugh-xyzzy-thud-wibble-wobble-wubble-flob", "FOO BAR BAZ QUX QUUX CORGE GRAULT GARPLY WALDO FRED PLUGH XYZZY THUD WIBBLE WOBBLE WUBBLE FLOB", "foo bar baz qux quux corge grault garply waldo fred plugh xyzzy thud wibble wobble wubble flob", "Foo Bar Baz Qux Quux Corge Grault Garply Waldo Fred Plugh Xyzzy Thud Wibble Wobble Wubble Flobs", "Foo Bar Baz Qux Quux Corge Grault Garply Waldo Fred Plugh Xyzzy Thud Wibble Wobble Wubble Flob"}},
};

int
main(void)
{
	size_t i;
	struct buf b = {0};
	const char *names[] = {"snake", "camel", "pascal", "kebab", "upper", "lower",
		"plural", "singular"};

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct tcase *c = &cases[i];
		int r;

		buf_clear(&b);
		r = inflect_apply(c->helper, strlen(c->helper), c->in, strlen(c->in), &b);
		is_int(r, 0, "%s(%s) succeeds", c->helper, c->in);
		is_str(b.data ? b.data : "", c->want, "%s(\"%s\") = \"%s\"", c->helper, c->in,
			c->want);
	}

	for (i = 0; i < sizeof rows / sizeof *rows; i++) {
		char label[40];
		size_t k;
		int same = 1, nul = 1;

		text_snip(label, sizeof label, rows[i].in, strlen(rows[i].in));
		for (k = 0; k < 8; k++) {
			struct buf o = {0}; /* fresh: an empty result must still be a string */

			if (inflect_apply(names[k], strlen(names[k]), rows[i].in, strlen(rows[i].in),
				    &o) != 0 ||
				o.len != strlen(rows[i].want[k]) ||
				memcmp(o.data ? o.data : "", rows[i].want[k], o.len) != 0) {
				same = 0;
				note("%s of row %zu differs", names[k], i);
			}
			if (o.data && o.data[o.len] != '\0')
				nul = 0;
			buf_free(&o);
		}
		ok(same, "every helper on \"%s\"", label);
		ok(nul, "the output buffer stays NUL-terminated (\"%s\")", label);
	}

	for (i = 0; i < sizeof names / sizeof *names; i++)
		ok(inflect_is_helper(names[i], strlen(names[i])), "%s is a helper", names[i]);
	ok(!inflect_is_helper("name", 4), "name is not a helper");
	ok(!inflect_is_helper("snakes", 6), "snakes is not a helper");
	ok(!inflect_is_helper("snak", 4), "a prefix of a helper is not a helper");
	ok(!inflect_is_helper("", 0), "the empty name is not a helper");
	ok(!inflect_is_helper("plural.snake", 12), "a chain is not a single helper");
	ok(inflect_is_helper("snakex", 5), "the length bounds the name");

	buf_clear(&b);
	buf_adds(&b, "keep");
	is_int(inflect_apply("title", 5, "x", 1, &b), -1, "an unknown helper is -1");
	is_int(inflect_apply("snake.bogus", 11, "x", 1, &b), -1, "a chain with an unknown part is -1");
	is_str(b.data, "keep", "a failed apply appends nothing");
	is_int(inflect_apply("upper", 5, "ab", 2, &b), 0, "apply appends");
	is_str(b.data, "keepAB", "apply appends after existing content");
	buf_clear(&b);
	is_int(inflect_apply("snake", 5, "OrderLineX", 9, &b), 0, "the input length is honoured");
	is_str(b.data, "order_line", "only n bytes of the input are read");

	buf_free(&b);
	return done_testing();
}
