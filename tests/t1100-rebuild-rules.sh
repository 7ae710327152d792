#!/bin/sh
# Every rebuild rule of SPEC §5: an atom is rebuilt iff something it read
# changed — spec values looked up (found or not), lists iterated, template
# and partial files, its declaration — and nothing else is.
. "$(dirname "$0")/lib.sh"

all='app/models/customer.py app/models/order.py app/models/order_line.py app/names.txt app/schema.txt'

test_expect_success 'first build builds every atom' '
	make_shop &&
	check_rebuilds $all
'

test_expect_success 'a second build rebuilds nothing and says so' '
	check_no_rebuild &&
	grep "no work to do" build.log
'

test_expect_success 'touching inputs without changing them rebuilds nothing' '
	touch shop.yaml DMfile templates/model.py.mustache &&
	check_no_rebuild
'

test_expect_success 'editing one field type rebuilds that entity and the atoms that read it' '
	sed "s/{name: total, type: float}/{name: total, type: decimal}/" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/order.py app/schema.txt &&
	grep "total: decimal" app/models/order.py
'

test_expect_success 'an aggregate that reads only names is not rebuilt by a field edit' '
	sed "s/{name: qty, type: int}/{name: qty, type: long}/" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/order_line.py app/schema.txt
'

test_expect_success 'editing an unrelated part of the spec rebuilds nothing but what read it' '
	printf "unrelated:\n  x: 1\n" >>shop.yaml &&
	check_no_rebuild
'

test_expect_success 'a value read by every atom rebuilds every atom that read it' '
	sed "s/^app: shop/app: store/" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/customer.py app/models/order.py app/models/order_line.py
'

test_expect_success 'adding a key a template looked up and did not find rebuilds that atom' '
	sed "s/^  - name: Order$/  - name: Order\n    doc: An order./" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/order.py &&
	grep "An order." app/models/order.py
'

test_expect_success 'renaming an entity rebuilds what read its name and removes the old output' '
	sed "s/name: Customer/name: Client/" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/client.py app/names.txt app/schema.txt &&
	test -f app/models/client.py &&
	! test -e app/models/customer.py &&
	grep "removed app/models/customer.py" build.log
'

test_expect_success 'inserting an entity before others does not rebuild the ones that moved' '
	sed "s/^entities:$/entities:\n  - name: Alpha\n    fields: []/" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/alpha.py app/names.txt app/schema.txt
'

test_expect_success 'changing a list length rebuilds the atoms that iterate it' '
	sed "s/      - {name: email, type: str}/      - {name: email, type: str}\n      - {name: phone, type: str}/" shop.yaml >s && mv s shop.yaml &&
	check_rebuilds app/models/client.py app/schema.txt
'

test_expect_success 'editing a template rebuilds exactly its atoms' '
	printf "# end\n" >>templates/names.mustache &&
	check_rebuilds app/names.txt
'

test_expect_success 'a partial: adding it, editing it' '
	printf "{{#entities}}{{name}}\n{{/entities}}{{> footer}}\n" >templates/names.mustache &&
	check_rebuilds app/names.txt &&
	printf "footer one\n" >templates/footer.mustache &&
	check_rebuilds app/names.txt &&
	grep "footer one" app/names.txt &&
	printf "footer two\n" >templates/footer.mustache &&
	check_rebuilds app/names.txt &&
	grep "footer two" app/names.txt
'

test_expect_success 'a comment in the DMfile changes nothing; a property does' '
	printf "# a comment\n" >>DMfile &&
	check_no_rebuild &&
	sed "s|template = templates/schema.mustache|template = templates/schema.mustache\n    pattern = schema.v1|" DMfile >d && mv d DMfile &&
	check_rebuilds app/schema.txt
'

test_expect_success 'a deleted output is restored' '
	rm app/models/order.py &&
	check_rebuilds app/models/order.py &&
	test -f app/models/order.py
'

test_expect_success 'reverting an edit restores the earlier result' '
	cp shop.yaml shop.yaml.orig &&
	sed "s/{name: id, type: int}/{name: id, type: uuid}/" shop.yaml >s && mv s shop.yaml &&
	dm && grep "id: uuid" app/models/order.py &&
	cp shop.yaml.orig shop.yaml &&
	dm && grep "id: int" app/models/order.py && check_no_rebuild
'

test_expect_success 'foreach over a map: one atom per key, with @key' '
	mkdir m && cd m &&
	printf "spec = s.yaml\natom out/{{@key}}.txt\n    foreach = things\n    template = t.mustache\n" >DMfile &&
	printf "things:\n  a: {v: 1}\n  b: {v: 2}\n" >s.yaml &&
	printf "{{@key}}={{v}} #{{@index}}\n" >t.mustache &&
	check_rebuilds out/a.txt out/b.txt &&
	echo "a=1 #0" >expect && test_cmp expect out/a.txt &&
	sed "s/b: {v: 2}/b: {v: 3}/" s.yaml >x && mv x s.yaml &&
	check_rebuilds out/b.txt &&
	echo "b=3 #1" >expect && test_cmp expect out/b.txt
'

# @index and @key are not spec values: an element that moves keeps its
# reads of the element fresh, but a changed @index or @key rebuilds the
# atoms that print it (and only those).
test_expect_success '@index: an insertion rebuilds the atoms that print @index' '
	mkdir ix && cd ix &&
	printf "spec = s.yaml\natom idx/{{name}}.txt\n    foreach = items\n    template = idx.mustache\natom plain/{{name}}.txt\n    foreach = items\n    template = plain.mustache\n" >DMfile &&
	printf "{{@index}} {{name}}\n" >idx.mustache &&
	printf "{{name}}\n" >plain.mustache &&
	printf "items:\n  - {name: a}\n  - {name: b}\n" >s.yaml &&
	check_rebuilds idx/a.txt idx/b.txt plain/a.txt plain/b.txt &&
	check_no_rebuild &&
	printf "items:\n  - {name: z}\n  - {name: a}\n  - {name: b}\n" >s.yaml &&
	check_rebuilds idx/z.txt idx/a.txt idx/b.txt plain/z.txt &&
	echo "0 z" >expect && test_cmp expect idx/z.txt &&
	echo "1 a" >expect && test_cmp expect idx/a.txt &&
	echo "2 b" >expect && test_cmp expect idx/b.txt &&
	echo "b" >expect && test_cmp expect plain/b.txt
'

test_expect_success '@index: an unchanged build rebuilds nothing, an append only the new atoms' '
	cd ix &&
	check_no_rebuild &&
	touch s.yaml && check_no_rebuild &&
	printf "items:\n  - {name: z}\n  - {name: a}\n  - {name: b}\n  - {name: c}\n" >s.yaml &&
	check_rebuilds idx/c.txt plain/c.txt &&
	echo "3 c" >expect && test_cmp expect idx/c.txt
'

test_expect_success '@key: renaming a map key rebuilds the atom that prints it' '
	mkdir kx && cd kx &&
	printf "spec = s.yaml\natom key/{{name}}.txt\n    foreach = things\n    template = key.mustache\natom plain/{{name}}.txt\n    foreach = things\n    template = plain.mustache\n" >DMfile &&
	printf "{{@key}} {{name}}\n" >key.mustache &&
	printf "{{name}}\n" >plain.mustache &&
	printf "things:\n  x: {name: a}\n  y: {name: b}\n" >s.yaml &&
	check_rebuilds key/a.txt key/b.txt plain/a.txt plain/b.txt &&
	printf "things:\n  w: {name: a}\n  y: {name: b}\n" >s.yaml &&
	check_rebuilds key/a.txt &&
	echo "w a" >expect && test_cmp expect key/a.txt &&
	touch s.yaml && check_no_rebuild &&
	printf "things:\n  y: {name: b}\n  w: {name: a}\n" >s.yaml &&
	check_no_rebuild
'

test_expect_success '@key: a map that becomes a list and back rebuilds what printed @key' '
	cd kx &&
	printf "things:\n  - {name: b}\n  - {name: a}\n" >s.yaml &&
	check_rebuilds key/a.txt key/b.txt &&
	echo " a" >expect && test_cmp expect key/a.txt &&
	check_no_rebuild &&
	printf "things:\n  p: {name: b}\n  q: {name: a}\n" >s.yaml &&
	check_rebuilds key/a.txt key/b.txt &&
	echo "q a" >expect && test_cmp expect key/a.txt
'

test_expect_success 'after: a template reading an upstream output rebuilds when it changes' '
	mkdir up && cd up &&
	printf "spec = s.yaml\natom gen/base.txt\n    template = base.mustache\natom gen/all.txt\n    template = all.mustache\n    after = gen/base.txt\n" >DMfile &&
	printf "v: 1\nw: 1\n" >s.yaml &&
	printf "base {{v}}" >base.mustache &&
	printf "[{{> gen/base.txt}}] {{w}}\n" >all.mustache &&
	check_rebuilds gen/base.txt gen/all.txt &&
	echo "[base 1] 1" >expect && test_cmp expect gen/all.txt &&
	printf "v: 2\nw: 1\n" >s.yaml &&
	check_rebuilds gen/base.txt gen/all.txt &&
	echo "[base 2] 1" >expect && test_cmp expect gen/all.txt &&
	printf "v: 2\nw: 2\n" >s.yaml &&
	check_rebuilds gen/all.txt
'

test_expect_success 'reading an output without after is an error' '
	mkdir noafter && cd noafter &&
	printf "spec = s.yaml\natom a.txt\n    template = a.mustache\natom b.txt\n    template = b.mustache\n" >DMfile &&
	printf "v: 1\n" >s.yaml &&
	printf "a\n" >a.mustache &&
	printf "{{> a.txt}}\n" >b.mustache &&
	test_expect_code 1 dm &&
	grep "without .after = a.txt" build.log
'

# Projects of 2,000 atoms or more load their records on two threads, and
# check (and assess) the reads of atoms without dependencies as they load:
# the same rules must hold there, for atoms on either side of the split,
# for an atom that reads another's output, and for an element's digest.
test_expect_success 'a 2,400-atom project keeps the rules (records loaded on two threads)' '
	mkdir big && cd big &&
	printf "spec = s.yaml\natom gen/{{name}}.txt\n    foreach = items\n    template = item.mustache\natom all.txt\n    template = all.mustache\natom wrap.txt\n    template = wrap.mustache\n    after = all.txt\n" >DMfile &&
	printf "{{name}}={{v}}{{#extra}} {{extra}}{{/extra}}\n" >item.mustache &&
	printf "{{#items}}{{name}} {{/items}}\n" >all.mustache &&
	printf "[{{> all.txt}}]\n" >wrap.mustache &&
	awk "BEGIN { print \"items:\"; for (i = 0; i < 2398; i++) printf \"  - {name: i%04d, v: %d}\\n\", i, i }" >s.yaml &&
	dm && test $(grep -c "^\[ *[0-9]*/2400\] TEMPLATE" build.log) = 2400 &&
	check_no_rebuild &&
	sed "s/{name: i0007, v: 7}/{name: i0007, v: 70}/; s/{name: i2300, v: 2300}/{name: i2300, v: 2300, extra: x}/" s.yaml >t &&
	mv t s.yaml &&
	check_rebuilds gen/i0007.txt gen/i2300.txt &&
	echo "i2300=2300 x" >expect && test_cmp expect gen/i2300.txt &&
	sed "s/{name: i1200, v: 1200}/{name: j1200, v: 1200}/" s.yaml >t && mv t s.yaml &&
	check_rebuilds gen/j1200.txt all.txt wrap.txt &&
	! test -e gen/i1200.txt && grep "j1200" wrap.txt &&
	"$DMBUILD" -j 1 -n >plan && grep "^dmbuild: no work to do (2400 atoms up to date)$" plan
'

# In such a project a stale atom without dependencies is rendered (or taken
# from the action cache) by the thread that loads its record, before the
# build starts; the outputs' stamps are read while the project loads.
test_expect_success 'a 2,400-atom project: early results, hand edits, a failing render' '
	cd big &&
	sed "s/{name: i0007, v: 70}/{name: i0007, v: 7}/" s.yaml >t && mv t s.yaml &&
	check_rebuilds gen/i0007.txt && echo "i0007=7" >expect && test_cmp expect gen/i0007.txt &&
	grep -q "^TEMPLATE *1 " build.log &&
	echo "by hand" >gen/i0100.txt && rm gen/i0200.txt &&
	sed "s/{name: i0100, v: 100}/{name: i0100, v: 101}/" s.yaml >t && mv t s.yaml &&
	test_must_fail dm && rebuilt >actual.rebuilt &&
	printf "gen/i0100.txt\ngen/i0200.txt\n" >expect.rebuilt && test_cmp expect.rebuilt actual.rebuilt &&
	grep "warning: gen/i0100.txt was edited by hand" build.log &&
	grep "1 output edited by hand blocked new results" build.log &&
	echo "by hand" >expect && test_cmp expect gen/i0100.txt &&
	echo "i0200=200" >expect && test_cmp expect gen/i0200.txt &&
	rm gen/i0100.txt &&
	printf "{{name}}={{v}}{{#extra}} {{extra}}{{/extra}}{{#bad}}{{> ../nope}}{{/bad}}\n" >item.mustache &&
	sed "s/{name: i0500, v: 500}/{name: i0500, v: 500, bad: 1}/" s.yaml >t && mv t s.yaml &&
	test_must_fail dm -k 0 &&
	test $(grep -c "partial .../nope. is not allowed" build.log) = 1 &&
	grep "build failed: 1 atom failed" build.log &&
	test $(grep -c "^\[ *[0-9]*/2398\] TEMPLATE gen/" build.log) = 2398 &&
	echo "i0100=101" >expect && test_cmp expect gen/i0100.txt &&
	echo "i0499=499" >expect && test_cmp expect gen/i0499.txt
'

test_done
