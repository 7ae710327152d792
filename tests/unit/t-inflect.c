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
