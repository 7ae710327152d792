/* inflect.c - case helpers and English plural/singular for names.
 *
 * Invariants:
 *  - Words: a name is split at runs of '_', '-' and white space, before an
 *    upper-case letter that follows a lower-case letter or a digit
 *    ("orderLine", "v2Api"), and before the last capital of an acronym that
 *    is followed by a lower-case letter ("HTTPServer" -> HTTP, Server).
 *    Digits stay with the word before them.  Any other byte (punctuation,
 *    UTF-8) is part of a word and is never case-mapped.
 *  - snake, kebab, camel and pascal rebuild the name from its words; upper
 *    and lower map the whole string and keep its separators.
 *  - plural and singular change only the last word and keep every byte
 *    before and after it.  A word from the irregular tables takes the case
 *    pattern of the word it replaces (Person -> People, CHILD -> CHILDREN);
 *    a regular suffix is upper case when the word is all upper case.
 *  - Both directions are idempotent on the forms they produce: plural of
 *    "orders" is "orders", singular of "order" is "order".
 *  - No state: every function is pure and safe from any thread.
 *  - The output buffer stays a string (struct buf's rule), also when a
 *    helper appends nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "inflect.h"

static const char *const helpers[] = {
	"snake", "camel", "pascal", "kebab", "upper", "lower", "plural", "singular"
};

enum helper { H_SNAKE, H_CAMEL, H_PASCAL, H_KEBAB, H_UPPER, H_LOWER, H_PLURAL, H_SINGULAR };

/* Irregular nouns: singular, plural. */
static const char *const irregular[][2] = {
	{"person", "people"}, {"child", "children"}, {"man", "men"}, {"woman", "women"},
	{"mouse", "mice"}, {"goose", "geese"}, {"foot", "feet"}, {"tooth", "teeth"},
	{"ox", "oxen"}, {"louse", "lice"}, {"die", "dice"},
	{"cactus", "cacti"}, {"fungus", "fungi"}, {"nucleus", "nuclei"}, {"radius", "radii"},
	{"alumnus", "alumni"}, {"stimulus", "stimuli"}, {"focus", "foci"},
	{"criterion", "criteria"}, {"phenomenon", "phenomena"}, {"datum", "data"},
	{"medium", "media"}, {"curriculum", "curricula"}, {"bacterium", "bacteria"},
	{"stratum", "strata"}, {"millennium", "millennia"},
	{"matrix", "matrices"}, {"vertex", "vertices"}, {"index", "indices"},
	{"appendix", "appendices"}, {"quiz", "quizzes"},
	{"knife", "knives"}, {"wife", "wives"}, {"life", "lives"}, {"leaf", "leaves"},
	{"half", "halves"}, {"wolf", "wolves"}, {"shelf", "shelves"}, {"loaf", "loaves"},
	{"thief", "thieves"}, {"calf", "calves"}, {"elf", "elves"}, {"self", "selves"},
	{"hero", "heroes"}, {"potato", "potatoes"}, {"tomato", "tomatoes"},
	{"echo", "echoes"}, {"veto", "vetoes"}, {"torpedo", "torpedoes"},
	{"embargo", "embargoes"},
	{"analysis", "analyses"}, {"crisis", "crises"}, {"thesis", "theses"},
	{"hypothesis", "hypotheses"}, {"synopsis", "synopses"}, {"diagnosis", "diagnoses"},
	{"parenthesis", "parentheses"}, {"prognosis", "prognoses"}, {"synthesis", "syntheses"},
	{"emphasis", "emphases"}, {"oasis", "oases"}, {"ellipsis", "ellipses"}, {"axis", "axes"},
	{"cache", "caches"}, {"niche", "niches"}, {"ache", "aches"}, {"headache", "headaches"},
	{"mustache", "mustaches"}, {"moustache", "moustaches"}, {"avalanche", "avalanches"},
	{"quiche", "quiches"}, {"cliche", "cliches"},
	{"movie", "movies"}, {"cookie", "cookies"}, {"zombie", "zombies"}, {"rookie", "rookies"},
	{"calorie", "calories"}, {"genie", "genies"}, {"hippie", "hippies"},
	{"goalie", "goalies"}, {"brownie", "brownies"}, {"selfie", "selfies"},
	{"smoothie", "smoothies"}, {"pie", "pies"}, {"tie", "ties"}, {"lie", "lies"},
	{"menu", "menus"}, {"guru", "gurus"}, {"emu", "emus"}, {"gnu", "gnus"},
	{"haiku", "haikus"}, {"tutu", "tutus"}, {"sudoku", "sudokus"}
};

/* Words with one form for both numbers. */
static const char *const uncountable[] = {
	"news", "series", "species", "equipment", "information", "rice", "money",
	"fish", "sheep", "deer", "moose", "metadata", "feedback", "software",
	"hardware", "firmware", "middleware", "staff", "aircraft", "police",
	"jeans", "scissors", "kudos", "chaos", "traffic", "luggage", "baggage",
	"furniture", "advice", "knowledge", "research", "evidence", "homework",
	"music", "weather", "bison", "salmon", "trout", "swine", "offspring"
};

/* Singular nouns that end in a single s and take -es ("-us" nouns are
 * listed so that singular can tell "statuses" from "houses"). */
static const char *const singular_s[] = {
	"alias", "gas", "atlas", "canvas", "bias", "lens", "iris", "cosmos",
	"ethos", "pathos", "yes", "bus", "plus", "minus", "status", "virus",
	"campus", "bonus", "census", "corpus", "circus", "chorus", "genus", "nexus",
	"apparatus", "prospectus", "syllabus", "consensus", "octopus", "platypus",
	"abacus", "surplus", "thesaurus", "walrus", "sinus", "stylus", "onus",
	"lotus", "citrus", "hiatus", "impetus", "exodus", "caucus", "crocus",
	"discus", "fetus", "uterus"
};

/* Character classes, one table lookup each. */
enum { C_SEP = 1, C_UPPER = 2, C_LOWER = 4, C_DIGIT = 8 };

static const unsigned char cls[256] = {
	['_'] = C_SEP, ['-'] = C_SEP, [' '] = C_SEP, ['\t'] = C_SEP, ['\n'] = C_SEP,
	['\r'] = C_SEP, ['\v'] = C_SEP, ['\f'] = C_SEP,
	['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT, ['4'] = C_DIGIT,
	['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT, ['8'] = C_DIGIT, ['9'] = C_DIGIT,
	['A'] = C_UPPER, ['B'] = C_UPPER, ['C'] = C_UPPER, ['D'] = C_UPPER, ['E'] = C_UPPER,
	['F'] = C_UPPER, ['G'] = C_UPPER, ['H'] = C_UPPER, ['I'] = C_UPPER, ['J'] = C_UPPER,
	['K'] = C_UPPER, ['L'] = C_UPPER, ['M'] = C_UPPER, ['N'] = C_UPPER, ['O'] = C_UPPER,
	['P'] = C_UPPER, ['Q'] = C_UPPER, ['R'] = C_UPPER, ['S'] = C_UPPER, ['T'] = C_UPPER,
	['U'] = C_UPPER, ['V'] = C_UPPER, ['W'] = C_UPPER, ['X'] = C_UPPER, ['Y'] = C_UPPER,
	['Z'] = C_UPPER,
	['a'] = C_LOWER, ['b'] = C_LOWER, ['c'] = C_LOWER, ['d'] = C_LOWER, ['e'] = C_LOWER,
	['f'] = C_LOWER, ['g'] = C_LOWER, ['h'] = C_LOWER, ['i'] = C_LOWER, ['j'] = C_LOWER,
	['k'] = C_LOWER, ['l'] = C_LOWER, ['m'] = C_LOWER, ['n'] = C_LOWER, ['o'] = C_LOWER,
	['p'] = C_LOWER, ['q'] = C_LOWER, ['r'] = C_LOWER, ['s'] = C_LOWER, ['t'] = C_LOWER,
	['u'] = C_LOWER, ['v'] = C_LOWER, ['w'] = C_LOWER, ['x'] = C_LOWER, ['y'] = C_LOWER,
	['z'] = C_LOWER,
};

static int
is_upper(int c)
{
	return cls[c] & C_UPPER;
}

static int
is_lower(int c)
{
	return cls[c] & C_LOWER;
}

static int
to_upper(int c)
{
	return is_lower(c) ? c - 'a' + 'A' : c;
}

static int
to_lower(int c)
{
	return is_upper(c) ? c - 'A' + 'a' : c;
}

/* next_word: the word starting at or after *pos; returns 0 at the end. */
static int
next_word(const char *str, size_t n, size_t *pos, size_t *ws, size_t *we)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = *pos;

	while (i < n && (cls[s[i]] & C_SEP))
		i++;
	if (i >= n) {
		*pos = n;
		return 0;
	}
	*ws = i++;
	for (; i < n; i++) {
		unsigned c = cls[s[i]], p = cls[s[i - 1]];

		if (c & C_SEP)
			break;
		if (c & C_UPPER) {
			if (p & (C_LOWER | C_DIGIT))
				break;
			if ((p & C_UPPER) && i + 1 < n && (cls[s[i + 1]] & C_LOWER))
				break;
		}
	}
	*we = i;
	*pos = i;
	return 1;
}

/* join_words: the words of s rebuilt for h, joined by sep (0: none),
 * in one pass that finds word starts as next_word does and writes
 * straight into out (room for the words and separators made once). */
static void
join_words(const char *str, size_t n, int sep, enum helper h, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i;
	char *p;
	int k = 0, in_word = 0;

	if (out->cap - out->len < 2 * n + 2)
		buf_reserve(out, 2 * n + 1);
	p = out->data + out->len;
	for (i = 0; i < n; i++) {
		unsigned c = cls[s[i]];
		int start = !in_word;

		if (c & C_SEP) {
			in_word = 0;
			continue;
		}
		if (in_word && (c & C_UPPER)) {
			unsigned pc = cls[s[i - 1]];

			start = (pc & (C_LOWER | C_DIGIT)) ||
				((pc & C_UPPER) && i + 1 < n && (cls[s[i + 1]] & C_LOWER));
		}
		if (!start) {
			*p++ = (char)to_lower(s[i]);
		} else {
			if (k > 0 && sep)
				*p++ = (char)sep;
			*p++ = (char)(h == H_PASCAL || (h == H_CAMEL && k > 0) ? to_upper(s[i])
									      : to_lower(s[i]));
			k++;
			in_word = 1;
		}
		/* the bytes after it that are neither separators nor capitals
		 * continue the word as they are */
		while (i + 1 < n && !(cls[s[i + 1]] & (C_SEP | C_UPPER)))
			*p++ = (char)s[++i];
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
}

static int
word_eq(const char *lw, size_t n, const char *w)
{
	return n > 0 && lw[0] == w[0] && strlen(w) == n && memcmp(lw, w, n) == 0;
}

static int
in_list(const char *lw, size_t n, const char *const *list, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (word_eq(lw, n, list[i]))
			return 1;
	return 0;
}

static int
ends_with(const char *lw, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n >= k && memcmp(lw + n - k, suf, k) == 0;
}

static int
is_vowel(int c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Append repl with the case pattern of word w. */
static void
add_cased(struct buf *out, const char *w, size_t n, const char *repl)
{
	size_t i, letters = 0, uppers = 0;
	int all_upper, cap;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)w[i];
		if (is_upper(c) || is_lower(c))
			letters++;
		if (is_upper(c))
			uppers++;
	}
	all_upper = letters > 1 && uppers == letters;
	cap = n > 0 && is_upper((unsigned char)w[0]);
	for (i = 0; repl[i]; i++) {
		int c = (unsigned char)repl[i];
		if (all_upper || (cap && i == 0))
			c = to_upper(c);
		buf_addc(out, c);
	}
}

/* Append w[0..keep) followed by suffix, upper case if w is all upper. */
static void
add_suffixed(struct buf *out, const char *w, size_t n, size_t keep, const char *suffix)
{
	size_t i, letters = 0, uppers = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)w[i];
		if (is_upper(c) || is_lower(c))
			letters++;
		if (is_upper(c))
			uppers++;
	}
	buf_add(out, w, keep);
	for (i = 0; suffix[i]; i++)
		buf_addc(out, letters > 1 && uppers == letters ? to_upper(suffix[i]) : suffix[i]);
}

static int
is_singular_s(const char *lw, size_t n)
{
	if (in_list(lw, n, singular_s, sizeof singular_s / sizeof *singular_s))
		return 1;
	return ends_with(lw, n, "ss") || ends_with(lw, n, "us") || ends_with(lw, n, "is");
}

static size_t
irregular_find(const char *lw, size_t n, int col)
{
	size_t i;

	for (i = 0; i < sizeof irregular / sizeof *irregular; i++)
		if (word_eq(lw, n, irregular[i][col]))
			return i;
	return (size_t)-1;
}

static void
pluralize(const char *w, size_t n, const char *lw, struct buf *out)
{
	size_t i;

	if (n == 0 || in_list(lw, n, uncountable, sizeof uncountable / sizeof *uncountable)) {
		buf_add(out, w, n);
		return;
	}
	if ((i = irregular_find(lw, n, 0)) != (size_t)-1) {
		add_cased(out, w, n, irregular[i][1]);
		return;
	}
	if (irregular_find(lw, n, 1) != (size_t)-1) {
		buf_add(out, w, n);
		return;
	}
	if (is_singular_s(lw, n)) {
		if (ends_with(lw, n, "is") && !word_eq(lw, n, "iris"))
			add_suffixed(out, w, n, n - 2, "es");
		else
			add_suffixed(out, w, n, n, "es");
		return;
	}
	if (lw[n - 1] == 's') {
		buf_add(out, w, n); /* already plural */
		return;
	}
	if (ends_with(lw, n, "x") || ends_with(lw, n, "z") || ends_with(lw, n, "ch") ||
	    ends_with(lw, n, "sh")) {
		add_suffixed(out, w, n, n, "es");
		return;
	}
	if (n >= 2 && lw[n - 1] == 'y' && !is_vowel((unsigned char)lw[n - 2])) {
		add_suffixed(out, w, n, n - 1, "ies");
		return;
	}
	add_suffixed(out, w, n, n, "s");
}

static void
singularize(const char *w, size_t n, const char *lw, struct buf *out)
{
	size_t i;

	if (n == 0 || in_list(lw, n, uncountable, sizeof uncountable / sizeof *uncountable)) {
		buf_add(out, w, n);
		return;
	}
	if ((i = irregular_find(lw, n, 1)) != (size_t)-1) {
		add_cased(out, w, n, irregular[i][0]);
		return;
	}
	if (irregular_find(lw, n, 0) != (size_t)-1 || lw[n - 1] != 's' || is_singular_s(lw, n)) {
		buf_add(out, w, n);
		return;
	}
	if (ends_with(lw, n, "ies")) {
		if (n == 4)
			buf_add(out, w, n - 1);
		else
			add_suffixed(out, w, n, n - 3, "y");
		return;
	}
	if (ends_with(lw, n, "sses") || ends_with(lw, n, "xes") || ends_with(lw, n, "zzes") ||
	    ends_with(lw, n, "ches") || ends_with(lw, n, "shes")) {
		buf_add(out, w, n - 2);
		return;
	}
	if (ends_with(lw, n, "ses") &&
	    in_list(lw, n - 2, singular_s, sizeof singular_s / sizeof *singular_s)) {
		buf_add(out, w, n - 2); /* statuses, buses, aliases */
		return;
	}
	buf_add(out, w, n - 1);
}

/* inflect_number: plural or singular of the last word of s. */
static void
inflect_number(const char *s, size_t n, int plural, struct buf *out)
{
	size_t pos = 0, ws, we, lws = 0, lwe = 0, i;
	int found = 0;
	char small[64], *lw;

	while (next_word(s, n, &pos, &ws, &we)) {
		lws = ws;
		lwe = we;
		found = 1;
	}
	if (!found) {
		buf_add(out, s, n);
		return;
	}
	lw = lwe - lws < sizeof small ? small : xmalloc(lwe - lws + 1);
	for (i = lws; i < lwe; i++)
		lw[i - lws] = (char)to_lower((unsigned char)s[i]);
	lw[lwe - lws] = '\0';
	buf_add(out, s, lws);
	if (plural)
		pluralize(s + lws, lwe - lws, lw, out);
	else
		singularize(s + lws, lwe - lws, lw, out);
	buf_add(out, s + lwe, n - lwe);
	if (lw != small)
		free(lw);
}

static int
helper_find(const char *name, size_t len)
{
	int h;

	switch (len) {
	case 5:
		h = name[0] == 's' ? H_SNAKE : name[0] == 'c' ? H_CAMEL : name[0] == 'k' ? H_KEBAB
			: name[0] == 'u' ? H_UPPER : H_LOWER;
		break;
	case 6:
		h = name[1] == 'a' ? H_PASCAL : H_PLURAL;
		break;
	case 8:
		h = H_SINGULAR;
		break;
	default:
		return -1;
	}
	return memcmp(helpers[h], name, len) == 0 ? h : -1;
}

int
inflect_is_helper(const char *name, size_t len)
{
	return helper_find(name, len) >= 0;
}

static void
apply_one(enum helper h, const char *s, size_t n, struct buf *out)
{
	size_t i;

	switch (h) {
	case H_SNAKE:
		join_words(s, n, '_', h, out);
		break;
	case H_KEBAB:
		join_words(s, n, '-', h, out);
		break;
	case H_CAMEL:
	case H_PASCAL:
		join_words(s, n, 0, h, out);
		break;
	case H_UPPER:
	case H_LOWER:
		buf_reserve(out, n);
		for (i = 0; i < n; i++) {
			int c = (unsigned char)s[i];

			out->data[out->len + i] = (char)(h == H_UPPER ? to_upper(c) : to_lower(c));
		}
		out->len += n;
		out->data[out->len] = '\0';
		break;
	case H_PLURAL:
	case H_SINGULAR:
		inflect_number(s, n, h == H_PLURAL, out);
		break;
	}
}

/* inflect_apply accepts one helper or a dotted chain ("plural.snake"),
 * applied left to right; nothing is appended unless every part is a
 * helper. */
int
inflect_apply(const char *helper, size_t hlen, const char *s, size_t n, struct buf *out)
{
	struct buf cur = {0}, next = {0}, tmp;
	size_t start = 0, i;
	int h, first = 1;

	if (!memchr(helper, '.', hlen)) { /* one helper: straight into out */
		if ((h = helper_find(helper, hlen)) < 0)
			return -1;
		apply_one((enum helper)h, s, n, out);
		return 0;
	}
	for (i = 0; i <= hlen; i++) {
		if (i < hlen && helper[i] != '.')
			continue;
		if (helper_find(helper + start, i - start) < 0)
			return -1;
		start = i + 1;
	}
	start = 0;
	for (i = 0; i <= hlen; i++) {
		if (i < hlen && helper[i] != '.')
			continue;
		h = helper_find(helper + start, i - start);
		start = i + 1;
		buf_clear(&next);
		if (first)
			apply_one((enum helper)h, s, n, &next);
		else
			apply_one((enum helper)h, cur.data ? cur.data : "", cur.len, &next);
		first = 0;
		tmp = cur;
		cur = next;
		next = tmp;
	}
	buf_add(out, cur.data ? cur.data : "", cur.len);
	buf_free(&cur);
	buf_free(&next);
	return 0;
}
