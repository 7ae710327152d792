#!/usr/bin/env python3
"""gen.py - generate a synthetic dmbuild project and its ninja/make twins.

Usage:
  gen.py DIR [--entities N] [--templates T] [--seed S] [--dmbuild PATH]
  gen.py --edit DIR [--entity I]

The project in DIR holds, for dmbuild: DMfile, spec.yaml and templates/;
and for ninja and make: build.ninja and Makefile over data/NAME.json (one
per entity: the entity's keys plus the spec's `app`) and data/all.json (the
whole spec).  Every output is out/...; each tool produces the same bytes.

Invariants:
  - Everything is a pure function of (entities, templates, seed): two runs
    with the same arguments write byte-identical trees.
  - There are N * T per-entity atoms and 2 aggregates: out/registry.py
    reads only entity names; out/docs/fields.md reads every field.
  - Per-entity templates of kind "routes" read field names only; "model"
    (through the partial field.mustache), "schema" and "test" read field
    types too.  A field-type edit must therefore rebuild, under dmbuild,
    the entity's model/schema/test outputs and out/docs/fields.md; under
    ninja and make, every output of that entity and both aggregates.
  - The ninja and make builds run one `dmbuild render` process per output.
  - --edit changes the type of one field of one entity in spec.yaml,
    data/NAME.json and data/all.json alike, and prints a JSON description
    of the edit (entity, field, old and new type, and the outputs each kind
    of tool is expected to rebuild) on standard output.
"""
import argparse
import json
import os
import random
import sys

TYPES = ["int", "str", "float", "bool", "datetime", "Decimal", "UUID", "bytes"]

PREFIXES = """Account Active Archive Audit Billing Booking Branch Budget Campaign
Catalog Channel Client Contract Credit Customer Delivery Device Discount
Document Employee Event Export Feature Finance Fleet Import Inventory Invoice
Journal Ledger License Loyalty Market Member Message Order Partner Payment
Payroll Policy Portal Price Product Project Purchase Quality Quote Refund
Region Report Retail Revenue Sales Schedule Service Shipment Store Supplier
Support Survey Tax Team Tenant Ticket Trade Travel Vendor Warehouse""".split()

NOUNS = """Address Alert Approval Asset Attachment Balance Batch Category Charge
Comment Config Contact Counter Detail Entry Estimate Fee Group History Item
Label Limit Line Link Lock Log Metric Note Notice Option Period Plan Profile
Rate Record Request Rule Setting Snapshot Status Step Summary Tag Task Term
Token Transfer Unit Update Version Window""".split()

FIELD_NAMES = """accountNumber amount archived balance body bonusPoints category
city closedAt code colorHex comment country createdAt currency deletedAt
description discount displayName dueDate email enabled expiresAt externalRef
firstName height isPrimary lastName latitude locale longitude notes ownerId
parentId phone position price priority quantity rating region score
sequence sku slug startedAt status subtotal summary taxRate title total
updatedAt url userAgent version weight width zipCode""".split()

DESCRIPTIONS = [
    "Tracks one {w} of the business.",
    "A {w} as the back office sees it.",
    "Kept for audit; never deleted.",
    "Imported nightly from the upstream system.",
]

# Per-entity template kinds: (kind, output path pattern, reads field types).
KINDS = [
    ("model", "out/models{v}/{{{{name.snake}}}}.py", True),
    ("routes", "out/routes{v}/{{{{name.snake}}}}.py", False),
    ("schema", "out/schemas{v}/{{{{name.snake}}}}.py", True),
    ("test", "out/tests{v}/test_{{{{name.snake}}}}.py", True),
]

AGG_NAMES = ("out/registry.py", "registry.py.mustache")
AGG_FIELDS = ("out/docs/fields.md", "fields.md.mustache")

PARTIAL_FIELD = (
    "    {{name.snake}}: {{#optional}}Optional[{{type}}]{{/optional}}"
    "{{^optional}}{{type}}{{/optional}}\n"
)

TEMPLATES = {}

TEMPLATES["model"] = '''\
"""{{name}}: {{#description}}{{description}}{{/description}}{{^description}}a model of {{app.name}}.{{/description}}

Generated from spec.yaml; edit the spec or the template, not this file.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional
from uuid import UUID

__all__ = ["{{name.pascal}}"]

TABLE = "{{name.plural.snake}}"


@dataclass
class {{name.pascal}}:
    """One row of {{name.plural.snake}}."""

{{#fields}}
{{> field}}
{{/fields}}

    def to_dict(self) -> dict[str, Any]:
        return {
{{#fields}}
            "{{name}}": self.{{name.snake}},
{{/fields}}
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "{{name.pascal}}":
        return cls(
{{#fields}}
            {{name.snake}}=data{{#optional}}.get("{{name}}"){{/optional}}{{^optional}}["{{name}}"]{{/optional}},
{{/fields}}
        )

    def key(self) -> tuple[str, Any]:
        return (TABLE, self.id)
'''

TEMPLATES["routes"] = '''\
"""HTTP routes for {{name.plural}}.  Generated from spec.yaml."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from app.models.{{name.snake}} import {{name.pascal}}

router = APIRouter(prefix="/{{name.plural.kebab}}", tags=["{{name.plural.snake}}"])
_store: dict[Any, {{name.pascal}}] = {}

ORDERABLE = (
{{#fields}}
    "{{name.snake}}",
{{/fields}}
)


@router.get("/")
def list_{{name.plural.snake}}(
    limit: int = Query(100, le=1000),
    offset: int = 0,
    order_by: str = Query("id"),
) -> list[{{name.pascal}}]:
    if order_by not in ORDERABLE:
        raise HTTPException(status_code=400, detail=f"cannot order by {order_by}")
    rows = sorted(_store.values(), key=lambda row: getattr(row, order_by))
    return rows[offset:offset + limit]


@router.get("/{item_id}")
def get_{{name.snake}}(item_id: int) -> {{name.pascal}}:
    if item_id not in _store:
        raise HTTPException(status_code=404, detail="{{name}} not found")
    return _store[item_id]


@router.post("/", status_code=201)
def create_{{name.snake}}(item: {{name.pascal}}) -> {{name.pascal}}:
    _store[item.id] = item
    return item


@router.delete("/{item_id}", status_code=204)
def delete_{{name.snake}}(item_id: int) -> None:
    _store.pop(item_id, None)
'''

TEMPLATES["schema"] = '''\
"""Validation schema for {{name}}.  Generated from spec.yaml."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field


class {{name.pascal}}In(BaseModel):
{{#fields}}
    {{name.snake}}: {{type}}{{#optional}} | None = None{{/optional}}{{^optional}} = Field(..., alias="{{name.camel}}"){{/optional}}
{{/fields}}


class {{name.pascal}}Out({{name.pascal}}In):
    class Config:
        from_attributes = True
        populate_by_name = True


COLUMNS: dict[str, str] = {
{{#fields}}
    "{{name.snake}}": "{{type}}",
{{/fields}}
}

REQUIRED = frozenset({
{{#fields}}
{{^optional}}
    "{{name.snake}}",
{{/optional}}
{{/fields}}
})
'''

TEMPLATES["test"] = '''\
"""Tests for {{name.pascal}}.  Generated from spec.yaml."""
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from app.models.{{name.snake}} import {{name.pascal}} as Model
from app.schemas.{{name.snake}} import COLUMNS, REQUIRED

SAMPLES = {
    "int": 1, "str": "x", "float": 1.5, "bool": True,
    "datetime": datetime(2024, 1, 1), "Decimal": Decimal("1.00"),
    "UUID": UUID(int=1), "bytes": b"x",
}

ROW = {
{{#fields}}
    "{{name}}": SAMPLES["{{type}}"],
{{/fields}}
}


def test_round_trip():
    assert Model.from_dict(ROW).to_dict() == ROW


def test_columns_match_model():
    assert set(COLUMNS) == {
{{#fields}}
        "{{name.snake}}",
{{/fields}}
    }
    assert REQUIRED <= set(COLUMNS)
{{#fields}}


def test_{{name.snake}}_type():
    value = Model.from_dict(ROW).{{name.snake}}
    assert isinstance(value, {{type}}){{#optional}} or value is None{{/optional}}
{{/fields}}
'''

AGG_TEMPLATES = {
    "registry.py.mustache": '''\
"""Every model of {{app.name}}.  Generated from spec.yaml."""
{{#entities}}
from app.models.{{name.snake}} import {{name.pascal}}
{{/entities}}

MODELS = {
{{#entities}}
    "{{name.plural.snake}}": {{name.pascal}},
{{/entities}}
}
''',
    "fields.md.mustache": '''\
# {{app.name}}: data model

{{app.description}}

{{#entities}}
## {{name.pascal}}

{{#description}}
{{description}}

{{/description}}
| field | column | type | required |
|-------|--------|------|----------|
{{#fields}}
| {{name}} | {{name.snake}} | {{type}} | {{^optional}}yes{{/optional}}{{#optional}}no{{/optional}} |
{{/fields}}

{{/entities}}
''',
}


def snake(pascal_words):
    return "_".join(w.lower() for w in pascal_words)


def make_spec(n_entities, seed):
    rng = random.Random(seed)
    combos = [(p, n) for p in PREFIXES for n in NOUNS]
    suffixes = ["", "Entry", "Record", "Item", "Detail", "History", "Summary",
                "Archive", "Draft", "Batch", "Event", "Snapshot"]
    combos = [(p, n, s) for s in suffixes for (p, n) in combos]
    if n_entities > len(combos):
        sys.exit("gen.py: at most %d entities" % len(combos))
    rng.shuffle(combos)
    entities = []
    seen = set()
    for p, n, s in combos:
        if s == n:
            continue
        words = [p, n] + ([s] if s else [])
        name = "".join(words)
        key = snake(words)
        if key in seen:
            continue
        seen.add(key)
        nf = rng.randint(5, 12)
        fields = [{"name": "id", "type": "int"}]
        for fname in rng.sample(FIELD_NAMES, nf - 1):
            f = {"name": fname, "type": rng.choice(TYPES)}
            if rng.random() < 0.3:
                f["optional"] = True
            fields.append(f)
        ent = {"name": name}
        if rng.random() < 0.5:
            ent["description"] = rng.choice(DESCRIPTIONS).format(w=n.lower())
        ent["fields"] = fields
        entities.append((key, ent))
        if len(entities) == n_entities:
            break
    app = {
        "name": "bench-app",
        "description": "A synthetic service with %d entities." % n_entities,
    }
    return app, entities


def yaml_field(f):
    s = "{name: %s, type: %s" % (f["name"], f["type"])
    if f.get("optional"):
        s += ", optional: true"
    return "      - " + s + "}\n"


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fp:
        fp.write(text)


def json_text(obj):
    return json.dumps(obj, indent=1, sort_keys=False) + "\n"


def template_list(n_templates):
    """Per-entity templates: (kind, template file, output pattern, reads types)."""
    out = []
    for k in range(n_templates):
        kind, pattern, types = KINDS[k % len(KINDS)]
        variant = "" if k < len(KINDS) else str(k // len(KINDS))
        tfile = "%s%s.py.mustache" % (kind, variant)
        out.append((kind, tfile, pattern.format(v=variant), types, variant))
    return out


def generate(d, n_entities, n_templates, seed, dmbuild):
    app, entities = make_spec(n_entities, seed)
    tlist = template_list(n_templates)

    # Templates.
    write(os.path.join(d, "templates", "field.mustache"), PARTIAL_FIELD)
    for kind, tfile, _, _, variant in tlist:
        text = TEMPLATES[kind]
        if variant:
            text = "# variant %s\n" % variant + text
        write(os.path.join(d, "templates", tfile), text)
    for name, text in AGG_TEMPLATES.items():
        write(os.path.join(d, "templates", name), text)

    # spec.yaml, written by hand so that --edit can find a field's line.
    lines = ["app:\n", "  name: %s\n" % app["name"],
             "  description: %s\n" % app["description"], "\n", "entities:\n"]
    for _, ent in entities:
        lines.append("  - name: %s\n" % ent["name"])
        if "description" in ent:
            lines.append("    description: %s\n" % ent["description"])
        lines.append("    fields:\n")
        lines.extend(yaml_field(f) for f in ent["fields"])
    write(os.path.join(d, "spec.yaml"), "".join(lines))

    # DMfile.
    dm = ["# Generated by bench/gen.py: %d entities x %d templates + 2 aggregates.\n"
          % (n_entities, n_templates), "spec = spec.yaml\n"]
    for _, tfile, pattern, _, _ in tlist:
        dm.append("\natom %s\n    foreach  = entities\n    template = templates/%s\n"
                  % (pattern, tfile))
    for out, tfile in (AGG_NAMES, AGG_FIELDS):
        dm.append("\natom %s\n    template = templates/%s\n" % (out, tfile))
    write(os.path.join(d, "DMfile"), "".join(dm))

    # Data for the one-process-per-output builds.
    for key, ent in entities:
        data = {"app": app}
        data.update(ent)
        write(os.path.join(d, "data", key + ".json"), json_text(data))
    write(os.path.join(d, "data", "all.json"),
          json_text({"app": app, "entities": [e for _, e in entities]}))

    # Rules: (output, template, data file, implicit inputs).
    rules = []
    for _, tfile, pattern, _, _ in tlist:
        implicit = ["templates/" + tfile]
        if tfile.startswith("model"):
            implicit.append("templates/field.mustache")
        for key, _ in entities:
            out = pattern.replace("{{name.snake}}", key)
            rules.append((out, "templates/" + tfile, "data/%s.json" % key, implicit))
    for out, tfile in (AGG_NAMES, AGG_FIELDS):
        rules.append((out, "templates/" + tfile, "data/all.json", ["templates/" + tfile]))

    nj = ["# Generated by bench/gen.py: one `dmbuild render` per output.\n",
          "dmbuild = %s\n\n" % dmbuild,
          "rule render\n  command = $dmbuild render $tmpl $in > $out\n"
          "  description = RENDER $out\n\n"]
    for out, tmpl, data, implicit in rules:
        nj.append("build %s: render %s | %s\n  tmpl = %s\n"
                  % (out, data, " ".join(implicit), tmpl))
    nj.append("\nbuild all: phony %s\ndefault all\n" % " ".join(r[0] for r in rules))
    write(os.path.join(d, "build.ninja"), "".join(nj))

    dirs = sorted({os.path.dirname(r[0]) for r in rules})
    mk = ["# Generated by bench/gen.py: one `dmbuild render` per output.\n",
          "DMBUILD = %s\n" % dmbuild, ".SUFFIXES:\n",
          "all: \\\n"]
    mk.extend("\t%s \\\n" % r[0] for r in rules)
    mk.append("\n\n")
    for _, tfile, pattern, _, _ in tlist:
        outdir = os.path.dirname(pattern)
        target = pattern.replace("{{name.snake}}", "%")
        prereq = "data/%.json templates/" + tfile
        if tfile.startswith("model"):
            prereq += " templates/field.mustache"
        mk.append("%s: %s | %s\n\t$(DMBUILD) render templates/%s data/$*.json > $@\n\n"
                  % (target, prereq, outdir, tfile))
    for out, tfile in (AGG_NAMES, AGG_FIELDS):
        mk.append("%s: data/all.json templates/%s | %s\n"
                  "\t$(DMBUILD) render templates/%s data/all.json > $@\n\n"
                  % (out, tfile, os.path.dirname(out), tfile))
    mk.append("%s:\n\tmkdir -p $@\n" % " ".join(dirs))
    write(os.path.join(d, "Makefile"), "".join(mk))

    meta = {"entities": n_entities, "templates": n_templates, "seed": seed,
            "atoms": len(rules), "kinds": [[t[0], t[1], t[2], t[3]] for t in tlist],
            "names": [k for k, _ in entities]}
    write(os.path.join(d, "bench.json"), json.dumps(meta) + "\n")
    return meta


def edit(d, index):
    with open(os.path.join(d, "bench.json"), encoding="utf-8") as fp:
        meta = json.load(fp)
    names = meta["names"]
    index %= len(names)
    key = names[index]

    dpath = os.path.join(d, "data", key + ".json")
    with open(dpath, encoding="utf-8") as fp:
        ent = json.load(fp)
    fields = ent["fields"]
    fi = 1 + index % (len(fields) - 1)
    f = fields[fi]
    old = f["type"]
    new = TYPES[(TYPES.index(old) + 1) % len(TYPES)]

    # spec.yaml: the entity's header line, then its fi-th field line.
    spath = os.path.join(d, "spec.yaml")
    with open(spath, encoding="utf-8") as fp:
        lines = fp.readlines()
    header = "  - name: %s\n" % ent["name"]
    start = lines.index(header)
    seen = -1
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("      - {name: "):
            seen += 1
            if seen == fi:
                if lines[i] != yaml_field(f):
                    sys.exit("gen.py: spec.yaml does not match %s" % dpath)
                f["type"] = new
                lines[i] = yaml_field(f)
                break
        elif lines[i].startswith("  - "):
            sys.exit("gen.py: field %d of %s not found in spec.yaml" % (fi, key))
    write(spath, "".join(lines))

    write(dpath, json_text(ent))
    apath = os.path.join(d, "data", "all.json")
    with open(apath, encoding="utf-8") as fp:
        alld = json.load(fp)
    alld["entities"][index]["fields"][fi]["type"] = new
    write(apath, json_text(alld))

    per_entity = [pat.replace("{{name.snake}}", key) for _, _, pat, _ in meta["kinds"]]
    reads_types = [pat.replace("{{name.snake}}", key)
                   for _, _, pat, types in meta["kinds"] if types]
    return {
        "entity": ent["name"], "index": index, "field": f["name"],
        "old": old, "new": new,
        "expect_dmbuild": sorted(reads_types + [AGG_FIELDS[0]]),
        "expect_file_level": sorted(per_entity + [AGG_NAMES[0], AGG_FIELDS[0]]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="the project directory to write (or edit)")
    ap.add_argument("--entities", type=int, default=2500,
                    help="entities in the spec (default 2500)")
    ap.add_argument("--templates", type=int, default=4,
                    help="per-entity templates (default 4: model, routes, schema, "
                    "test; more repeat them as variants)")
    ap.add_argument("--seed", type=int, default=1,
                    help="seed of the pseudo-random fields (default 1)")
    ap.add_argument("--dmbuild", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "dmbuild")),
        help="the dmbuild binary that build.ninja and Makefile run")
    ap.add_argument("--edit", action="store_true",
                    help="change one field type of one entity in DIR")
    ap.add_argument("--entity", type=int, default=0,
                    help="with --edit: the entity's index (modulo the count)")
    a = ap.parse_args()
    if a.edit:
        print(json.dumps(edit(a.dir, a.entity)))
        return
    if a.entities < 1 or a.templates < 1:
        sys.exit("gen.py: --entities and --templates must be at least 1")
    meta = generate(a.dir, a.entities, a.templates, a.seed, os.path.abspath(a.dmbuild))
    print("gen.py: %s: %d entities x %d templates + 2 aggregates = %d atoms"
          % (a.dir, a.entities, a.templates, meta["atoms"]), file=sys.stderr)


if __name__ == "__main__":
    main()
