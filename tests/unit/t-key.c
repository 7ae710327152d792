/* t-key: recording reads, staleness with reasons, action keys, records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "spec.h"
#include "tap.h"
#include "value.h"

static struct val *
load(const char *yaml)
{
	struct diag d = {0};
	struct val *v = NULL;

	if (spec_parse("t.yaml", yaml, strlen(yaml), &v, &d) != 0) {
		diag_print(&d, stderr);
		exit(1);
	}
	diag_free(&d);
	val_freeze(v, "");
	return v;
}

static int
nofile(void *ud, const char *path, struct digest *d)
{
	(void)ud;
	if (strcmp(path, "t/a.mustache") == 0) {
		*d = hash_bytes((const char *)ud ? (const char *)ud : "a", 1);
		return 1;
	}
	return 0;
}

/* record_reads: what a template reading entities[1].name, the shape of
 * entities[1].fields, missing entities[1].doc, and root app would record. */
static void
record_reads(const struct val *root, const struct val *elem, struct record *r)
{
	struct recorder rc = {&r->reads, elem, NULL, NULL};

	key_record_use(&rc, val_map_get(elem, "name", 4), VAL_USE_VALUE);
	key_record_use(&rc, val_map_get(elem, "fields", 6), VAL_USE_SHAPE);
	key_record_probe(&rc, elem, "doc", 3, NULL);
	key_record_probe(&rc, elem, "app", 3, NULL);
	key_record_use(&rc, val_map_get(root, "app", 3), VAL_USE_VALUE);
	key_record_use(&rc, val_map_get(elem, "name", 4), VAL_USE_VALUE); /* again */
	key_record_file(&rc, "t/a.mustache", 1, hash_bytes("a", 1));
	key_record_file(&rc, "t/partial.mustache", 0, hash_bytes("", 0));
	reads_finish(&r->reads);
	r->static_key = key_static("atom x", "out/x", "t/a.mustache");
	r->key = key_action(r->static_key, &r->reads);
}

static const char *base =
	"app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: B\n    fields: [1, 2]\n";

static void
check(const char *yaml, int idx, int want_stale, const char *want_why, const char *what)
{
	struct val *old = load(base), *now = load(yaml);
	struct record r = {0};
	struct key_env e = {0};
	struct buf why = {0};
	int stale;

	record_reads(old, val_map_get(old, "entities", 8)->items[1], &r);
	e.root = now;
	e.elem = val_map_get(now, "entities", 8)->items[idx];
	e.file = nofile;
	stale = key_check(&r, &e, &why);
	is_int(stale, want_stale, "%s: %s", what, want_stale ? "stale" : "fresh");
	if (want_why)
		is_str(why.data, want_why, "%s: the reason", what);
	ok(stale == !digest_eq(key_candidate(&r, &e), r.key),
		"%s: the candidate key matches iff fresh", what);
	/* The same with the element's digest in the record (reads under an
	 * unchanged element are skipped): the verdict must not change. */
	r.elem = val_map_get(old, "entities", 8)->items[1]->digest;
	buf_clear(&why);
	is_int(key_check(&r, &e, &why), want_stale, "%s: the same with the element digest", what);
	if (want_why)
		is_str(why.data, want_why, "%s: the same reason with the element digest", what);
	buf_free(&why);
	record_free(&r);
	val_free(old);
	val_free(now);
}

/* With the element's digest unchanged, the reads under it are not looked
 * at (white box: an element with another name but the recorded digest
 * passes); reads outside it still are. */
static void
test_elem_digest(void)
{
	struct val *old = load(base);
	struct val *now = load("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: X\n    fields: [1, 2]\n");
	struct val *now2 = load("app: store\nentities:\n  - name: A\n    fields: [1]\n  - name: X\n    fields: [1, 2]\n");
	struct val *elem = val_map_get(now, "entities", 8)->items[1];
	struct record r = {0};
	struct key_env e = {0};
	struct buf why = {0};
	struct digest real = elem->digest;

	record_reads(old, val_map_get(old, "entities", 8)->items[1], &r);
	e.root = now;
	e.elem = elem;
	e.file = nofile;
	is_int(key_check(&r, &e, &why), 1, "without the element digest the name change is seen");
	r.elem = val_map_get(old, "entities", 8)->items[1]->digest;
	elem->digest = r.elem;
	buf_clear(&why);
	is_int(key_check(&r, &e, &why), 0, "with the recorded digest, reads under it are skipped");
	e.root = now2;
	e.elem = val_map_get(now2, "entities", 8)->items[1];
	val_map_get(now2, "entities", 8)->items[1]->digest = r.elem;
	buf_clear(&why);
	is_int(key_check(&r, &e, &why), 1, "a read outside the element is still checked");
	is_str(why.data, "spec app changed", "and named");
	elem->digest = real;
	buf_free(&why);
	record_free(&r);
	val_free(old);
	val_free(now);
	val_free(now2);
}

static void
test_staleness(void)
{
	check(base, 1, 0, NULL, "nothing changed");
	check("app: shop\nentities:\n  - name: A\n    fields: [1, 9, 9]\n  - name: B\n    fields: [7, 8]\n",
		1, 0, NULL, "list items changed, length kept, items not read");
	check("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: C\n    fields: [1, 2]\n",
		1, 1, "spec entities[1].name changed", "a value read changed");
	check("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: B\n    fields: [1]\n",
		1, 1, "spec entities[1].fields changed", "the length of an iterated list");
	check("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: B\n    doc: d\n    fields: [1, 2]\n",
		1, 1, "spec entities[1].doc added", "a missing key now found");
	check("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: B\n    fields: [1, 2]\n    app: x\n",
		1, 1, "spec entities[1].app added", "a key that now shadows the root's");
	check("app: store\nentities:\n  - name: A\n    fields: [1]\n  - name: B\n    fields: [1, 2]\n",
		1, 1, "spec app changed", "a root value");
	check("app: shop\nentities:\n  - name: Z\n    fields: []\n  - name: A\n    fields: [1]\n  - name: B\n    fields: [1, 2]\n",
		2, 0, NULL, "the element moved to another index");
	check("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - fields: [1, 2]\n", 1, 1,
		"spec entities[1].name removed", "a value read was removed");
	check("app: shop\nentities:\n  - name: A\n    fields: [1]\n  - name: B\n    fields: [1, 2]\nother: 1\n",
		1, 0, NULL, "an unrelated key added");
}

static void
test_record(void)
{
	struct val *root = load(base);
	struct record r = {0}, back;
	struct buf enc = {0};
	size_t i;
	int same = 1;

	record_reads(root, val_map_get(root, "entities", 8)->items[1], &r);
	is_int((long long)r.reads.n, 7, "reads are de-duplicated");
	is_str(r.reads.r[0].path, "@.name", "reads keep the order of their first use");
	is_str(r.reads.r[3].path, "@.app", "element-relative path for a miss under the element");
	r.version = xstrdup("0.1.0");
	r.tmpl = xstrdup("t/a.mustache");
	r.reason = xstrdup("new atom");
	r.origin = xstrdup("DMfile:3:1");
	r.st.mtime_ns = 123456789;
	r.st.size = 42;
	r.st.exists = 1;
	r.out = hash_bytes("out", 3);
	r.elem = hash_bytes("elem", 4);
	record_encode(&r, &enc);
	ok(record_decode(enc.data, enc.len, &back) == 0, "a record decodes");
	ok(digest_eq(back.key, r.key) && digest_eq(back.out, r.out) &&
			digest_eq(back.static_key, r.static_key) && digest_eq(back.elem, r.elem),
		"digests survive");
	ok(back.st.mtime_ns == 123456789 && back.st.size == 42 && back.st.exists, "stamp survives");
	is_str(back.reason, "new atom", "reason survives");
	is_int((long long)back.reads.n, (long long)r.reads.n, "every read survives");
	for (i = 0; i < r.reads.n; i++)
		if (back.reads.r[i].kind != r.reads.r[i].kind ||
			strcmp(back.reads.r[i].path, r.reads.r[i].path) != 0 ||
			!digest_eq(back.reads.r[i].d, r.reads.r[i].d))
			same = 0;
	ok(same, "each read survives in order: kind, path, digest");
	ok(digest_eq(key_action(back.static_key, &back.reads), r.key), "the key recomputes");
	{
		/* The action key is the hasher stream key.h describes. */
		struct hasher *h = hasher_new();

		hasher_add_digest(h, r.static_key);
		hasher_add_u64(h, r.reads.n);
		for (i = 0; i < r.reads.n; i++) {
			hasher_add(h, &r.reads.r[i].kind, 1);
			hasher_add_str(h, r.reads.r[i].path, strlen(r.reads.r[i].path));
			hasher_add_digest(h, r.reads.r[i].d);
		}
		ok(digest_eq(hasher_final(h), r.key), "the action key is static, n, (kind, path, digest)...");
		hasher_free(h);
	}
	record_free(&back);
	{
		/* Versions 2 and 3: the same header (v2 without the element
		 * digest), then u32 nreads and (kind, str path, digest) each. */
		struct buf v2 = {0}, v3 = {0}, tail = {0};
		size_t hdr = enc.len, at;

		/* The header ends where the reads begin: re-encode without reads
		 * to find it. */
		{
			struct record h = r;
			struct buf e = {0};

			h.reads.n = 0;
			record_encode(&h, &e);
			hdr = e.len - 1; /* minus the varint 0 */
			buf_free(&e);
		}
		buf_put_u32(&tail, (unsigned long)r.reads.n);
		for (at = 0; at < r.reads.n; at++) {
			buf_addc(&tail, r.reads.r[at].kind);
			buf_put_str(&tail, r.reads.r[at].path);
			buf_put_u64(&tail, r.reads.r[at].d.hi);
			buf_put_u64(&tail, r.reads.r[at].d.lo);
		}
		buf_addc(&v3, 3);
		buf_add(&v3, enc.data + 1, hdr - 1);
		buf_add(&v3, tail.data, tail.len);
		buf_addc(&v2, 2);
		buf_add(&v2, enc.data + 1, 64);
		buf_add(&v2, enc.data + 81, hdr - 81);
		buf_add(&v2, tail.data, tail.len);
		ok(record_decode(v3.data, v3.len, &back) == 0 && digest_eq(back.elem, r.elem) &&
				back.reads.n == r.reads.n &&
				strcmp(back.reads.r[r.reads.n - 1].path, r.reads.r[r.reads.n - 1].path) == 0,
			"a version 3 record (paths whole) still reads");
		record_free(&back);
		ok(record_decode(v2.data, v2.len, &back) == 0 && digest_is_zero(back.elem) &&
				digest_eq(back.out, r.out) && back.reads.n == r.reads.n,
			"a version 2 record reads with a zero element digest");
		record_free(&back);
		ok(enc.len < v3.len, "front coding makes the record smaller (%zu < %zu bytes)",
			enc.len, v3.len);
		{
			/* Version 1: version 2 without the check outcomes (the
			 * last str of the header, 4 bytes when empty). */
			struct buf v1 = {0};
			size_t at2;
			int all = 1;

			buf_addc(&v1, 1);
			buf_add(&v1, enc.data + 1, 64);
			buf_add(&v1, enc.data + 81, hdr - 81 - 4);
			buf_add(&v1, tail.data, tail.len);
			ok(record_decode(v1.data, v1.len, &back) == 0, "a version 1 record reads");
			ok(strcmp(back.checks, "") == 0 && strcmp(back.reason, "new atom") == 0 &&
					digest_is_zero(back.elem) && back.nspec_reads == 5 &&
					back.nfile_reads == 2,
				"with empty check outcomes, no element digest, its reads counted");
			for (at2 = 0; at2 < r.reads.n; at2++)
				if (back.reads.r[at2].kind != r.reads.r[at2].kind ||
					strcmp(back.reads.r[at2].path, r.reads.r[at2].path) != 0 ||
					!digest_eq(back.reads.r[at2].d, r.reads.r[at2].d))
					all = 0;
			ok(all && back.reads.n == r.reads.n, "and the same reads as version 4");
			record_free(&back);
			/* Any truncation of any version is refused. */
			all = 1;
			for (at2 = 0; at2 < v1.len; at2++)
				if (record_decode(v1.data, at2, &back) != -1)
					all = 0;
			for (at2 = 0; at2 < v3.len; at2++)
				if (record_decode(v3.data, at2, &back) != -1)
					all = 0;
			for (at2 = 0; at2 < enc.len; at2++)
				if (record_decode(enc.data, at2, &back) != -1)
					all = 0;
			ok(all, "every truncation of versions 1, 3 and 4 is refused");
			buf_free(&v1);
		}
		buf_free(&v2);
		buf_free(&v3);
		buf_free(&tail);
	}
	{
		/* A path that claims more of its predecessor than it has, and a
		 * record whose paths would expand without bound, are refused. */
		struct record h = r;
		struct buf e = {0};
		size_t k;

		h.reads.n = 0;
		record_encode(&h, &e);
		e.len--; /* drop the varint 0 */
		buf_addc(&e, 2); /* two reads */
		buf_addc(&e, 'M');
		buf_addc(&e, 0);
		buf_addc(&e, 3);
		buf_add(&e, "abc", 3);
		buf_addc(&e, 'M');
		buf_addc(&e, 4); /* shares 4 of "abc" */
		buf_addc(&e, 0);
		ok(record_decode(e.data, e.len, &back) == -1, "a read sharing more than its predecessor");
		e.len = 0;
		record_encode(&h, &e);
		e.len--;
		buf_addc(&e, 0xd0); /* 20,000 reads as LEB128: 0xa0 0x9c 0x01 */
		e.len--;
		buf_addc(&e, 0xa0);
		buf_addc(&e, 0x9c);
		buf_addc(&e, 0x01);
		buf_addc(&e, 'M');
		buf_addc(&e, 0);
		buf_add(&e, "\x80\x80\x04", 3); /* 65,536 bytes */
		for (k = 0; k < 65536; k++)
			buf_addc(&e, 'x');
		for (k = 1; k < 20000; k++) {
			buf_addc(&e, 'M');
			buf_add(&e, "\x80\x80\x04", 3); /* shares all 65,536 */
			buf_addc(&e, 0);
		}
		ok(record_decode(e.data, e.len, &back) == -1,
			"paths expanding to 1.3 GB from 150 KB are refused");
		buf_free(&e);
	}
	ok(record_decode(enc.data, enc.len - 1, &back) == -1, "a truncated record is refused");
	enc.data[0] = 9;
	ok(record_decode(enc.data, enc.len, &back) == -1, "another version is refused");
	buf_free(&enc);
	ok(!digest_eq(key_static("atom x", "out/x", "t"), key_static("atom y", "out/x", "t")),
		"the declaration enters the static key");
	ok(!digest_eq(key_static("a", "bc", "t"), key_static("ab", "c", "t")),
		"pieces of the static key cannot run into each other");
	record_free(&r);
	val_free(root);
}

static void
test_files(void)
{
	struct val *root = load(base);
	struct record r = {0};
	struct key_env e = {0};
	struct buf why = {0};

	record_reads(root, val_map_get(root, "entities", 8)->items[1], &r);
	e.root = root;
	e.elem = val_map_get(root, "entities", 8)->items[1];
	e.file = nofile;
	e.ud = "b";
	ok(key_check(&r, &e, &why) == 1, "a changed template makes the atom stale");
	is_str(why.data, "file t/a.mustache changed", "and says which file");
	buf_free(&why);
	record_free(&r);
	val_free(root);
}

/* Repeats are dropped by node (not by path text), kinds stay apart, and
 * reads recorded after a finish join the finished ones. */
static void
test_dedup(void)
{
	struct val *root = load(base);
	const struct val *e1 = val_map_get(root, "entities", 8)->items[1];
	const struct val *e0 = val_map_get(root, "entities", 8)->items[0];
	struct readset rs = {0};
	struct recorder rc = {&rs, e1, NULL, NULL};
	struct buf all = {0};
	size_t i;
	int k;

	for (k = 0; k < 1000; k++) {
		key_record_use(&rc, val_map_get(e1, "name", 4), VAL_USE_VALUE);
		key_record_use(&rc, val_map_get(e1, "fields", 6), VAL_USE_SHAPE);
		key_record_use(&rc, val_map_get(e1, "fields", 6), VAL_USE_VALUE);
		key_record_use(&rc, val_map_get(e0, "name", 4), VAL_USE_VALUE);
		key_record_probe(&rc, e1, "doc", 3, NULL);
		key_record_probe(&rc, e0, "doc", 3, NULL);
		key_record_probe(&rc, e1, "do", 2, NULL);
		key_record_file(&rc, "t/a.mustache", 1, hash_bytes("a", 1));
		key_record_file(&rc, "t/a.mustache", 0, hash_bytes("", 0));
	}
	reads_finish(&rs);
	for (i = 0; i < rs.n; i++)
		buf_printf(&all, "%c %s|", rs.r[i].kind, rs.r[i].path);
	is_str(all.data,
		"V @.name|S @.fields|V @.fields|V entities[0].name|M @.doc|M entities[0].doc|"
		"M @.do|F t/a.mustache|N t/a.mustache|",
		"9,000 reads give the 9 distinct ones, in the order of first use");
	key_record_use(&rc, val_map_get(root, "app", 3), VAL_USE_VALUE);
	key_record_use(&rc, val_map_get(e1, "name", 4), VAL_USE_VALUE);
	reads_finish(&rs);
	buf_clear(&all);
	for (i = 0; i < rs.n; i++)
		buf_printf(&all, "%c %s|", rs.r[i].kind, rs.r[i].path);
	is_str(all.data,
		"V @.name|S @.fields|V @.fields|V entities[0].name|M @.doc|M entities[0].doc|"
		"M @.do|F t/a.mustache|N t/a.mustache|V app|",
		"reads recorded after a finish are added to the finished ones, once");
	buf_free(&all);
	reads_free(&rs);
	val_free(root);
}

/* frame_node: an @index (key NULL) or @key node as project.c makes them: not
 * in the spec tree, with the digest val_digest gives it. */
static struct val *
frame_node(long long index, const char *key, struct buf *scratch)
{
	struct val *v = key ? val_new_str(key, strlen(key)) : val_new_int(index);

	v->digest = val_digest(v, scratch);
	return v;
}

/* frame_env: what an atom of element elem with the given @key and @index
 * nodes sees. */
static struct key_env
frame_env(const struct val *root, const struct val *elem, const struct val *key,
	const struct val *index)
{
	struct key_env e = {0};

	e.root = root;
	e.elem = elem;
	e.key_val = key;
	e.index_val = index;
	e.file = nofile;
	return e;
}

/* frame_check: key_check of r in frame_env; the reason in why (cleared
 * first). */
static int
frame_check(const struct record *r, const struct val *root, const struct val *elem,
	const struct val *key, const struct val *index, struct buf *why)
{
	struct key_env e = frame_env(root, elem, key, index);

	buf_clear(why);
	return key_check(r, &e, why);
}

/* Reads of @index and @key: their digests are the values' (an element
 * that moved keeps its "@." reads fresh, not its @index); a frame without
 * the key is a value of its own; records from before the frames had
 * digests (zero) are stale; atoms that do not read them are not. */
static void
test_frame_reads(void)
{
	struct val *root = load(base);
	struct val *elem = val_map_get(root, "entities", 8)->items[1];
	struct buf scratch = {0}, why = {0}, enc = {0};
	struct val *i1 = frame_node(1, NULL, &scratch), *i1b = frame_node(1, NULL, &scratch);
	struct val *i2 = frame_node(2, NULL, &scratch), *kx = frame_node(0, "x", &scratch);
	struct val *kxb = frame_node(0, "x", &scratch), *kw = frame_node(0, "w", &scratch);
	struct val *frame = val_new(VAL_MAP);
	struct record r = {0}, plain = {0}, miss = {0}, back;
	struct recorder rc = {&r.reads, elem, kx, i1};
	struct recorder rm = {&miss.reads, elem, NULL, i1};
	size_t i;

	ok(digest_eq(i1->digest, i1b->digest) && !digest_is_zero(i1->digest) &&
		!digest_eq(i1->digest, i2->digest), "@index nodes: the digest of their value");
	key_record_use(&rc, val_map_get(elem, "name", 4), VAL_USE_VALUE);
	key_record_use(&rc, i1, VAL_USE_VALUE);
	key_record_use(&rc, kx, VAL_USE_SHAPE);
	key_record_probe(&rc, frame, "@key", 4, NULL); /* the atom has one: no read */
	reads_finish(&r.reads);
	r.static_key = key_static("atom x", "out/x", "t/a.mustache");
	r.key = key_action(r.static_key, &r.reads);
	is_int((long)r.reads.n, 3, "three reads recorded");
	ok(r.reads.n == 3 && r.reads.r[1].kind == 'I' && !strcmp(r.reads.r[1].path, "@index") &&
		digest_eq(r.reads.r[1].d, i1->digest), "I @index with the value's digest");
	ok(r.reads.n == 3 && r.reads.r[2].kind == 'K' && !strcmp(r.reads.r[2].path, "@key") &&
		digest_eq(r.reads.r[2].d, kx->digest), "K @key with the value's digest");
	record_encode(&r, &enc);
	ok(record_decode(enc.data, enc.len, &back) == 0 && back.reads.n == 3 &&
		digest_eq(back.reads.r[1].d, i1->digest) && digest_eq(back.reads.r[2].d, kx->digest),
		"their digests survive the record");
	record_free(&back);

	is_int(frame_check(&r, root, elem, kxb, i1b, &why), 0,
		"the same @key and @index (other nodes): fresh");
	is_int(frame_check(&r, root, elem, kx, i2, &why), 1, "another @index: stale");
	is_str(why.data, "@index changed", "and says so");
	is_int(frame_check(&r, root, elem, kw, i1, &why), 1, "another @key: stale");
	is_str(why.data, "@key changed", "and says so");
	is_int(frame_check(&r, root, elem, NULL, i1, &why), 1, "no @key now (a list): stale");
	is_str(why.data, "@key changed", "and says so");
	{
		struct key_env e = frame_env(root, elem, kx, i2);

		ok(!digest_eq(key_candidate(&r, &e), r.key), "another @index: another action key");
		e = frame_env(root, elem, kxb, i1b);
		ok(digest_eq(key_candidate(&r, &e), r.key), "the same: the same action key");
	}

	/* A record written before the frame nodes had digests. */
	for (i = 0; i < r.reads.n; i++)
		if (r.reads.r[i].kind == 'I' || r.reads.r[i].kind == 'K')
			memset(&r.reads.r[i].d, 0, sizeof(r.reads.r[i].d));
	is_int(frame_check(&r, root, elem, kx, i1, &why), 1,
		"an earlier record (zero digests): stale once");
	is_str(why.data, "@index changed", "and says so");
	record_reads(root, elem, &plain);
	is_int(frame_check(&plain, root, elem, kw, i2, &why), 0,
		"an atom that reads neither: fresh whatever they are");

	/* A frame without @key: the miss is recorded, and checked. */
	key_record_probe(&rm, frame, "@key", 4, NULL);
	key_record_probe(&rm, frame, "@index", 6, NULL); /* the atom has one */
	key_record_probe(&rm, frame, "@kez", 4, NULL);
	key_record_use(&rm, i1, VAL_USE_VALUE);
	reads_finish(&miss.reads);
	is_int((long)miss.reads.n, 2, "a missing @key and the @index: two reads");
	ok(miss.reads.n == 2 && miss.reads.r[0].kind == 'K' && miss.reads.r[1].kind == 'I' &&
		!digest_is_zero(miss.reads.r[0].d) && !digest_eq(miss.reads.r[0].d, kx->digest),
		"the miss: K @key with a digest of its own");
	is_int(frame_check(&miss, root, elem, NULL, i1b, &why), 0, "still no @key: fresh");
	is_int(frame_check(&miss, root, elem, kx, i1, &why), 1, "a @key now (a map): stale");
	is_str(why.data, "@key changed", "and says so");

	buf_free(&why);
	buf_free(&enc);
	buf_free(&scratch);
	record_free(&r);
	record_free(&plain);
	record_free(&miss);
	val_free(frame);
	val_free(i1);
	val_free(i1b);
	val_free(i2);
	val_free(kx);
	val_free(kxb);
	val_free(kw);
	val_free(root);
}


/* hexof: the digest as hex, in a static buffer (one use per statement). */
static const char *
hexof(struct digest d)
{
	static char h[DIGEST_HEX_LEN + 1];

	digest_hex(d, h);
	return h;
}

/* fixed_reads: a readset of every kind, paths of many lengths (one longer
 * than any buffer the hashing goes through) and a long run of reads that
 * share prefixes, with made-up digests. */
static void
fixed_reads(struct readset *rs)
{
	static const char kinds[] = "VSMFNIKL";
	struct buf pool = {0};
	size_t *off, i, n = 600;

	rs->r = xcalloc(n, sizeof(*rs->r));
	off = xcalloc(n, sizeof(*off));
	for (i = 0; i < n; i++) {
		off[i] = pool.len;
		if (i == 7) {
			size_t k;

			for (k = 0; k < 5000; k++)
				buf_addc(&pool, 'a' + (int)(k % 26));
		} else if (i % 50 == 3) {
			buf_adds(&pool, "");
		} else {
			buf_printf(&pool, "entities[%zu].fields[%zu].%s", i / 7, i % 7,
				i % 3 ? "name" : "type");
		}
		buf_addc(&pool, '\0');
		rs->r[i].kind = kinds[i % 8];
		rs->r[i].d.hi = 0x0123456789abcdefULL * (i + 1);
		rs->r[i].d.lo = i % 8 == 2 ? 0 : ~(uint64_t)i;
	}
	rs->pool = buf_release(&pool);
	for (i = 0; i < n; i++)
		rs->r[i].path = rs->pool + off[i];
	rs->n = rs->cap = n;
	free(off);
}

/* Action keys are stored (CACHE_AC) and compared across builds: they are
 * pinned to the digests the first implementation gave. */
static void
test_pinned_keys(void)
{
	struct readset rs = {0};
	struct digest st = key_static("atom x", "out/x", "t/a.mustache");

	is_str(hexof(st), "655a50360533c937c81777f766934958", "the static key is pinned");
	{
		/* A declaration longer than any buffer on the way. */
		struct buf canon = {0};
		const char *parts[5] = {"dmbuild-template", DM_VERSION, NULL, "out/x", "t"};
		size_t k;

		for (k = 0; k < 3000; k++)
			buf_addc(&canon, 'a' + (int)(k % 26));
		parts[2] = canon.data;
		ok(digest_eq(key_static(canon.data, "out/x", "t"), hash_strings(5, parts)),
			"the static key of a long declaration is hash_strings of its parts");
		buf_free(&canon);
	}
	fixed_reads(&rs);
	is_str(hexof(key_action(st, &rs)), "b12aba1e94d52c0bb849ab9838e4e11b", "the action key of 600 reads is pinned");
	rs.n = 1;
	is_str(hexof(key_action(st, &rs)), "9dbce3367f8b7a71586ce8be5dd3fa8e", "the action key of one read is pinned");
	rs.n = 0;
	is_str(hexof(key_action(st, &rs)), "ff97c1cb3fc88f1e34d4b11b7ad97c2f", "the action key of no reads is pinned");
	reads_free(&rs);
}

/* Paths as a record may hold them, well formed or not, in an order where
 * neighbours share prefixes that do and do not end at a step. */
static const char *const odd_paths[] = {
	"entities[1].name", "entities[1].namex", "entities[1].nam", "entities[1].name",
	"entities[1].fields", "entities[1].fields[1]", "entities[1].fields[1].x",
	"entities[1].fields[10]", "entities[1].fields[01]", "entities[1].fields[]",
	"entities[1].fields[1", "entities[1]", "entities[1]x", "entities[1].", "entities[1]..name",
	"entities.[1]", "entities[1][\"name\"]", "entities[1].[\"name\"]", "[\"entities\"][0].name",
	"entities[0].name", "entities[0].name.x", "entities[0]", "entities", "entitiesx",
	"[\"a.b\"]", "[\"a.b\"].c", "[\"a.b\"].c[0]", "[\"a.b\"]x", "[\"a.b\"", "[\"a.b]",
	"[\"q\\\"t\"]", "[\"q\\\"t\"].k", "[\"q\\\\\"].k", "[\"bad\\x\"]", "[\"end\\",
	"app", "apps", "ap", "", ".app", "app.", "app.x", "[0]", "[x]", "m.k-1", "m.k-1.z",
	"m[\"k-1\"]", "m.k-10", "m.k", "entities[18446744073709551616].name",
	"entities[99999999999999999999999].name", "@", "@.name", "@[0]", "@.fields[1]",
	"@.fields[1].x", "@.fields", "@.nope", "@x", "entities[1].fields[0]",
	"app\"", "a b", "app]", "entities[1].na me", "entities[1].fields[1]]", "m.k-1.",
	"[\"\"]", "[\"\"].x", "[\"n\\0l\"]", "[\"n\\0l\"].k", "caf\xc3\xa9", "[\"caf\xc3\xa9\"]", "m.k-1[0]",
	"entities[1].fields[1][\"x\"]", "entities[1].fields[1].x.y.z",
};

/* resolve_digest: what a read of kind k at path evaluates to, from
 * val_resolve alone. */
static struct digest
resolve_digest(const struct val *root, const struct val *elem, char k, const char *path,
	int *present)
{
	struct digest zero = {0, 0};
	const struct val *v;

	if (path[0] == '@')
		v = !elem ? NULL : !path[1] ? elem
			: val_resolve(elem, path + (path[1] == '.' ? 2 : 1));
	else
		v = val_resolve(root, path);
	*present = v != NULL;
	if (!v)
		return zero;
	return val_use_digest(v, k == 'S' ? VAL_USE_SHAPE : VAL_USE_VALUE);
}

/* Candidate keys and refreshed reads look paths up as val_resolve does,
 * whatever the order of the reads; the candidate key is pinned. */
static void
test_pinned_candidate(void)
{
	struct val *root = load("app: shop\n"
				"entities:\n  - name: A\n    fields: [1]\n"
				"  - name: B\n    fields: [1, {x: 2}]\n"
				"\"a.b\": {c: [7]}\n\"q\\\"t\": {k: 1}\n\"q\\\\\": {k: 2}\n"
				"m: {k-1: {z: 3}, k: 4}\n\"\": {x: 5}\n\"n\\0l\": {k: 6}\n"
				"caf\xc3\xa9: 7\n");
	const struct val *elem = val_map_get(root, "entities", 8)->items[1];
	size_t n = sizeof(odd_paths) / sizeof(*odd_paths), i, k, pass;
	struct record r = {0};
	struct readset out = {0};
	struct key_env e = {0};
	struct buf pool = {0};
	size_t *off = xcalloc(n * 3, sizeof(*off));
	int same = 1, found = 0, present;

	r.reads.r = xcalloc(n * 3, sizeof(*r.reads.r));
	for (k = 0; k < 3; k++) {
		for (i = 0; i < n; i++) {
			/* pass 0 in order, 1 reversed, 2 interleaved */
			size_t j = k == 0 ? i : k == 1 ? n - 1 - i : (i * 7) % n;

			off[k * n + i] = pool.len;
			buf_adds(&pool, odd_paths[j]);
			buf_addc(&pool, '\0');
			r.reads.r[k * n + i].kind = "VSM"[(i + k) % 3];
		}
	}
	r.reads.pool = buf_release(&pool);
	for (i = 0; i < n * 3; i++)
		r.reads.r[i].path = r.reads.pool + off[i];
	r.reads.n = r.reads.cap = n * 3;
	free(off);
	r.static_key = key_static("atom x", "out/x", "t/a.mustache");
	e.root = root;
	e.elem = elem;
	e.file = nofile;
	for (pass = 0; pass < 2; pass++) {
		key_refresh(&r, &e, &out);
		for (i = 0; i < out.n; i++) {
			struct digest want = resolve_digest(root, e.elem, out.r[i].kind,
				out.r[i].path, &present);

			found += present;
			if (!digest_eq(want, out.r[i].d)) {
				same = 0;
				note("%c %s", out.r[i].kind, out.r[i].path);
			}
		}
		e.elem = NULL;
	}
	ok(same, "each refreshed read is what val_resolve finds (%d found)", found);
	e.elem = elem;
	is_str(hexof(key_candidate(&r, &e)), "2bf3c3b1b2bb01ad149a4c53f65e0199", "the candidate key is pinned");
	key_refresh(&r, &e, &out);
	ok(digest_eq(key_candidate(&r, &e), key_action(r.static_key, &out)),
		"the candidate key is the action key of the refreshed reads");
	e.elem = NULL;
	is_str(hexof(key_candidate(&r, &e)), "db21801d0f8756708f7956b2b0781b9e", "without an element, pinned too");
	reads_free(&out);
	record_free(&r);
	val_free(root);
}

/* record_many: every field of every entity used, probed and looked up in
 * files, twice over, into rs (with a size hint first unless hint is 0). */
static void
record_many(const struct val *root, struct readset *rs, size_t hint)
{
	const struct val *ents = val_map_get(root, "entities", 8);
	struct recorder rc = {rs, ents->items[1], NULL, NULL};
	size_t i, k, pass;
	char path[64];

	if (hint)
		reads_expect(rs, hint);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ents->n; i++) {
			const struct val *e = ents->items[i];

			key_record_use(&rc, e, VAL_USE_SHAPE);
			key_record_use(&rc, val_map_get(e, "name", 4), VAL_USE_VALUE);
			key_record_probe(&rc, e, "doc", 3, NULL);
			for (k = 0; k < val_map_get(e, "fields", 6)->n; k++)
				key_record_use(&rc, val_map_get(e, "fields", 6)->items[k],
					k % 2 ? VAL_USE_VALUE : VAL_USE_SHAPE);
			snprintf(path, sizeof(path), "t/p%zu.mustache", i % 700);
			key_record_file(&rc, path, (int)(i % 3), hash_bytes(path, strlen(path)));
		}
	}
	reads_finish(rs);
}

/* A size hint changes nothing in what is recorded. */
static void
test_expect(void)
{
	struct buf y = {0};
	struct val *root;
	struct readset plain = {0};
	size_t i, h;
	const size_t hints[] = {1, 10, 5000, 100000, (size_t)1 << 40};

	buf_adds(&y, "entities:\n");
	for (i = 0; i < 1500; i++)
		buf_printf(&y, "  - name: E%zu\n    fields: [%zu, %zu, x]\n", i, i, i % 7);
	root = load(y.data);
	record_many(root, &plain, 0);
	ok(plain.n > 9000, "a recording of %zu reads", plain.n);
	for (h = 0; h < sizeof(hints) / sizeof(*hints); h++) {
		struct readset rs = {0};
		int same;

		record_many(root, &rs, hints[h]);
		same = rs.n == plain.n;
		for (i = 0; same && i < rs.n; i++)
			same = rs.r[i].kind == plain.r[i].kind &&
			       strcmp(rs.r[i].path, plain.r[i].path) == 0 &&
			       digest_eq(rs.r[i].d, plain.r[i].d);
		ok(same, "with a hint of %zu reads, the same reads", hints[h]);
		reads_free(&rs);
	}
	reads_free(&plain);
	buf_free(&y);
	val_free(root);
}

/* Dropping the reads keeps their counts: those decoding made, or counted
 * then when nobody had. */
static void
test_drop_counts(void)
{
	struct val *root = load(base);
	struct record r = {0}, back;
	struct buf enc = {0};

	record_reads(root, val_map_get(root, "entities", 8)->items[1], &r);
	record_encode(&r, &enc);
	ok(record_decode(enc.data, enc.len, &back) == 0, "a record decodes");
	record_drop_reads(&back);
	ok(back.reads.n == 0 && back.nspec_reads == 5 && back.nfile_reads == 2,
		"a decoded record keeps its counts without its reads");
	ok(r.nspec_reads == 0 && r.nfile_reads == 0, "a recorded readset is not counted yet");
	record_drop_reads(&r);
	ok(r.reads.n == 0 && r.nspec_reads == 5 && r.nfile_reads == 2,
		"dropping uncounted reads counts them first");
	record_free(&back);
	record_free(&r);
	buf_free(&enc);
	val_free(root);
}

int
main(void)
{
	test_drop_counts();
	test_expect();
	test_pinned_candidate();
	test_pinned_keys();
	test_staleness();
	test_elem_digest();
	test_record();
	test_dedup();
	test_files();
	test_frame_reads();
	return done_testing();
}
