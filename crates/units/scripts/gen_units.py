#!/usr/bin/env python3
"""Generate data/units.tsv and data/quantity_kinds.tsv from the QUDT 2.1.25 ontology.

Source data
-----------
QUDT release 2.1.25 (https://qudt.org, CC BY 4.0, attribution to QUDT.org) is the
release bundled by qudtlib-java 4.3.0, the unit library behind SIF's CONVERT. The
npm registry carries it as N-Quads in two packages of the Zazuko RDF vocabularies
project (packaging under MIT):

  @vocabulary/unit@1.0.4          package/unit.nq          "QUDT Units of Measure for All Units Release 2.1.25"
  @vocabulary/quantitykind@1.0.4  package/quantitykind.nq  "QUDT VOCAB Quantity Kinds  Release 2.1.25"

Both tarballs are fetched with `npm pack` (or taken from --tarballs DIR) and checked
against the sha512 integrity values pinned below before anything is read.

What is kept
------------
qudtlib loads every subject typed qudt:Unit or qudt:CurrencyUnit that has an
rdfs:label, with all of its rdfs:label literals (every language tag, so both
"Metre"@en and "Meter"@en-us), its qudt:symbol, qudt:conversionMultiplier,
qudt:conversionOffset (lexical forms, i.e. exact decimals), qudt:hasDimensionVector
and qudt:hasQuantityKind. Quantity kinds keep their rdfs:label literals; only kinds
that some unit refers to are written.

Order
-----
qudtlib-java collects units into a java.util.HashMap keyed by unit IRI (via
Collectors.toMap), and SIF takes the first unit of that map's iteration order
that matches. The units are written in that order: by HashMap bucket
(String.hashCode spread by h ^ (h >>> 16), masked by the table size the map grows
to), ties within a bucket by IRI as qudtlib's queries sort them.

Usage: scripts/gen_units.py [--tarballs DIR]   (run from anywhere; writes ../data)
"""

import argparse
import base64
import collections
import hashlib
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

PACKAGES = {
    "unit": (
        "@vocabulary/unit@1.0.4",
        "vocabulary-unit-1.0.4.tgz",
        "package/unit.nq",
        "sha512-xriKt1EcdAEeXpsxzAIZI1B7ixod2ShjaljqztLqe+hjus80ugFID59d2jZkO5+rOySk8tLuECn7mquzC3l0iQ==",
    ),
    "quantitykind": (
        "@vocabulary/quantitykind@1.0.4",
        "vocabulary-quantitykind-1.0.4.tgz",
        "package/quantitykind.nq",
        "sha512-nRK4g6cIMyBXqh2LV7JWwBmJBBaDLi/MxugKYYx8B8c2z/YfVip1wIZOiMH3RzRfWlqvwe7603w2cz0jbmgNPA==",
    ),
}

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
QUDT = "http://qudt.org/schema/qudt/"
UNIT_NS = "http://qudt.org/vocab/unit/"
KIND_NS = "http://qudt.org/vocab/quantitykind/"
DIM_NS = "http://qudt.org/vocab/dimensionvector/"

TERM = r'(<[^>]*>|_:\S+|"(?:[^"\\]|\\.)*"(?:@[A-Za-z0-9-]+|\^\^<[^>]*>)?)'
QUAD = re.compile(r"^" + TERM + r"\s+" + TERM + r"\s+" + TERM + r"(?:\s+" + TERM + r")?\s*\.\s*$")
LITERAL = re.compile(r'^"((?:[^"\\]|\\.)*)"(?:@[A-Za-z0-9-]+|\^\^<[^>]*>)?$')
ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# Characters that would break the TSV layout (columns, lists of labels).
FORBIDDEN = set("\t\n\r|")


def fail(message):
    sys.exit(f"gen_units: {message}")


def unescape(text):
    def replace(match):
        code = match.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        return SIMPLE_ESCAPES[code]

    return ESCAPE.sub(replace, text)


def parse_term(term):
    if term.startswith("<"):
        return term[1:-1]
    if term.startswith("_:"):
        return term
    match = LITERAL.match(term)
    if not match:
        fail(f"unreadable literal {term!r}")
    return unescape(match.group(1))


def load_quads(text, source):
    """Subject -> predicate -> list of objects (IRIs and literal lexical forms)."""
    graph = collections.defaultdict(lambda: collections.defaultdict(list))
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = QUAD.match(line)
        if not match:
            fail(f"{source}:{number}: not an N-Quads statement")
        subject, predicate, obj = (parse_term(match.group(i)) for i in (1, 2, 3))
        graph[subject][predicate].append(obj)
    return graph


def fetch(directory):
    """Return the N-Quads text of each package, verified against the pinned integrity."""
    texts = {}
    for key, (spec, filename, member, integrity) in PACKAGES.items():
        tarball = directory / filename
        if not tarball.exists():
            subprocess.run(["npm", "pack", "--silent", spec], cwd=directory, check=True, stdout=subprocess.DEVNULL)
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != integrity:
            fail(f"{filename}: integrity {digest} does not match pinned {integrity}")
        with tarfile.open(tarball) as archive:
            texts[key] = archive.extractfile(member).read().decode("utf-8")
    return texts


def single(values, what, subject):
    if len(values) > 1:
        fail(f"{subject} has {len(values)} values for {what}: {values}")
    return values[0] if values else ""


def checked(text, what, subject):
    if FORBIDDEN & set(text):
        fail(f"{subject}: {what} {text!r} contains a tab, newline or '|'")
    return text


def local_name(iri, namespace):
    if not iri.startswith(namespace):
        fail(f"{iri} is not in namespace {namespace}")
    return iri[len(namespace):]


def java_string_hash(text):
    """String.hashCode(): 31-polynomial over UTF-16 code units, in 32 bits."""
    data = text.encode("utf-16-be")
    value = 0
    for i in range(0, len(data), 2):
        value = (31 * value + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return value


def java_hashmap_order(keys):
    """Iteration order of a java.util.HashMap filled with `keys` (given in insertion order)."""
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key):
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(keys, key=bucket)  # stable: insertion order within a bucket


def build(texts):
    units_graph = load_quads(texts["unit"], "unit.nq")
    kinds_graph = load_quads(texts["quantitykind"], "quantitykind.nq")
    unit_types = {QUDT + "Unit", QUDT + "CurrencyUnit"}
    unit_iris = sorted(
        s for s, p in units_graph.items() if unit_types & set(p.get(RDF_TYPE, [])) and p.get(RDFS_LABEL)
    )
    kind_iris = {s for s, p in kinds_graph.items() if QUDT + "QuantityKind" in p.get(RDF_TYPE, [])}

    unit_rows = []
    used_kinds = set()
    for iri in java_hashmap_order(unit_iris):
        props = units_graph[iri]
        multiplier = single(props.get(QUDT + "conversionMultiplier", []), "conversionMultiplier", iri)
        offset = single(props.get(QUDT + "conversionOffset", []), "conversionOffset", iri)
        for number in (multiplier, offset):
            if number and not PLAIN_DECIMAL.match(number):
                fail(f"{iri}: unexpected number form {number!r}")
        dimension = single(props.get(QUDT + "hasDimensionVector", []), "hasDimensionVector", iri)
        if not dimension:
            fail(f"{iri} has no dimension vector")
        kinds = sorted(set(props.get(QUDT + "hasQuantityKind", [])))
        missing = [k for k in kinds if k not in kind_iris]
        if missing:
            fail(f"{iri} refers to unknown quantity kinds {missing}")
        used_kinds.update(kinds)
        labels = sorted(set(props[RDFS_LABEL]))
        unit_rows.append(
            [
                local_name(iri, UNIT_NS),
                checked(single(props.get(QUDT + "symbol", []), "symbol", iri), "symbol", iri),
                multiplier,
                offset,
                local_name(dimension, DIM_NS),
                " ".join(local_name(k, KIND_NS) for k in kinds),
                "|".join(checked(label, "label", iri) for label in labels),
            ]
        )

    kind_rows = []
    for iri in sorted(used_kinds):
        labels = sorted(set(kinds_graph[iri].get(RDFS_LABEL, [])))
        kind_rows.append([local_name(iri, KIND_NS), "|".join(checked(label, "label", iri) for label in labels)])
    return unit_rows, kind_rows


HEADER = (
    "# Generated by scripts/gen_units.py from QUDT 2.1.25 (qudt.org, CC BY 4.0, attribution to QUDT.org)\n"
    "# via npm @vocabulary/unit@1.0.4 and @vocabulary/quantitykind@1.0.4. Do not edit by hand.\n"
)


def write(path, columns, rows):
    lines = [HEADER, "\t".join(columns) + "\n"]
    lines.extend("\t".join(row) + "\n" for row in rows)
    path.write_text("".join(lines), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarballs", type=pathlib.Path, help="directory holding (or receiving) the npm tarballs")
    args = parser.parse_args()
    data = pathlib.Path(__file__).resolve().parent.parent / "data"
    if args.tarballs:
        args.tarballs.mkdir(parents=True, exist_ok=True)
        texts = fetch(args.tarballs)
    else:
        with tempfile.TemporaryDirectory() as directory:
            texts = fetch(pathlib.Path(directory))
    unit_rows, kind_rows = build(texts)
    write(
        data / "units.tsv",
        ["local_name", "symbol", "multiplier", "offset", "dimension_vector", "quantity_kinds", "labels"],
        unit_rows,
    )
    write(data / "quantity_kinds.tsv", ["local_name", "labels"], kind_rows)
    print(f"wrote {len(unit_rows)} units and {len(kind_rows)} quantity kinds to {data}")


if __name__ == "__main__":
    main()
