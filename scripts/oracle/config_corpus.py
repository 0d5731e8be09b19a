#!/usr/bin/env python3
"""Makes a corpus of cluster configs and records the original pcluster's schema verdict on each.

Run with the Python of the venv that holds the original (scripts/oracle/setup makes it):

    config_corpus.py --out DIR [--sample N] [--seed S]

It walks the original's ClusterSchema for the facts (field names, types, ranges, patterns, enums,
required fields) and, for every field, writes configs that set it to valid values, to values just
outside its range, pattern, enum and type, to null, without it when required, next to a misspelt
key; then fields the original removed and random combinations of those mutations. Each config is
loaded by the original's schema (marshmallow) and DIR/verdicts.json lists, per file, whether it
was accepted and the paths of every field it rejected ("Scheduling.SlurmQueues[0].Name")."""

import argparse
import copy
import json
import os
import random
import sys

# The original's schema module reaches for AWS in a few post-load hooks (capacity reservations):
# point it at a closed port on this machine so it fails at once and never leaves it.
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="oracle", AWS_SECRET_ACCESS_KEY="oracle",
    AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_EC2_METADATA_DISABLED="true")

import logging  # noqa: E402

import yaml  # noqa: E402
from marshmallow import ValidationError, fields, validate  # noqa: E402
from pcluster.schemas.cluster_schema import ClusterSchema  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bases import BASES  # noqa: E402

logging.disable(logging.CRITICAL)

# Values that match each of the original's id and ARN patterns, found by trying them against it.
PATTERN_SAMPLES = [
    "ami-0123456789abcdef0", "sg-0123456789abcdef0", "subnet-0123456789abcdef0", "snap-0123456789abcdef0",
    "vol-0123456789abcdef0", "fs-0123456789abcdef0", "fsap-0123456789abcdef0", "fsvol-0123456789abcdef0",
    "fc-0123456789abcdef0", "backup-0123abcd", "arn:aws:iam::123456789012:role/r",
    "arn:aws:iam::123456789012:policy/p", "arn:aws:iam::123456789012:instance-profile/p",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:s", "1:02:30", "02:30", "/data", "bucket-name",
    "slurm_db",
]


class Field:
    def __init__(self, key, f):
        self.key = key
        self.required = bool(f.required)
        self.validators = list(f.validators or [])
        self.children = None
        self.many = False
        self.custom_action = type(f).__name__ == "OneOrManyCustomActionField"
        self.item = None
        if isinstance(f, fields.Nested):
            self.kind = "object"
            self.many = bool(f.many)
            self.children = walk(f.schema)
        elif isinstance(f, fields.List) and isinstance(f.inner, fields.Nested):
            self.kind = "object"
            self.many = True
            self.children = walk(f.inner.schema)
        elif isinstance(f, fields.List):
            self.kind = "list"
            self.item = Field(key, f.inner)
        elif isinstance(f, fields.Boolean):
            self.kind = "bool"
        elif isinstance(f, fields.Integer):
            self.kind = "int"
        elif isinstance(f, fields.Float):
            self.kind = "float"
        elif isinstance(f, fields.Dict):
            self.kind = "dict"
        elif isinstance(f, fields.String):
            self.kind = "str"
        else:
            self.kind = "raw"

    def flat_validators(self):
        out = []
        for v in self.validators:
            out += v.validators if isinstance(v, validate.And) else [v]
        return out

    def one_of(self):
        return next((list(v.choices) for v in self.flat_validators() if isinstance(v, validate.OneOf)), None)

    def range(self):
        return next((v for v in self.flat_validators() if isinstance(v, validate.Range)), None)

    def regexp(self):
        return next((v for v in self.flat_validators() if isinstance(v, validate.Regexp)), None)

    def length(self):
        return next((v for v in self.flat_validators() if isinstance(v, validate.Length)), None)

    def valid_values(self):
        choices = self.one_of()
        if choices:
            return choices
        if self.kind in ("int", "float"):
            r = self.range()
            lo = r.min if r and r.min is not None else 1
            values = [lo, lo + 1]
            if r and r.max is not None:
                values.append(r.max)
            return values
        if self.kind == "bool":
            return [True, False]
        if self.kind == "str":
            rx = self.regexp()
            if rx:
                return [s for s in PATTERN_SAMPLES if rx.regex.match(s)][:2] or []
            if any(getattr(v, "__name__", "") == "is_cidr_or_prefix_list" for v in self.validators):
                return ["10.0.0.0/16", "pl-0123456789abcdef0"]
            return ["value-1"]
        if self.kind == "dict":
            return [{"Setting": "1"}]
        if self.kind == "list":
            return [[v] for v in self.item.valid_values()[:1]]
        if self.kind == "object":
            one = self.minimal()
            return [[one] if self.many else one] if one is not None else []
        return []

    def minimal(self):
        """The smallest object of this schema with valid values for its required fields."""
        out = {}
        for child in self.children:
            if child.required:
                values = child.valid_values()
                if not values:
                    return None
                out[child.key] = values[0]
        if self.custom_action:
            out = {"Script": "s3://bucket/script.sh"}
        return out

    def invalid_values(self):
        """(label, value) pairs the field must refuse, or which sit at its edges."""
        out = []
        r = self.range()
        if self.kind in ("int", "float"):
            out += [("string", "abc"), ("list", [1]), ("mapping", {"A": 1}), ("bool", True), ("numeric string", "12")]
            if self.kind == "int":
                out += [("fraction", 1.5), ("whole float", 2.0)]
            if r and r.min is not None:
                out.append(("below min", r.min - 1))
            if r and r.max is not None:
                out.append(("above max", r.max + 1))
        elif self.kind == "bool":
            out += [("string", "maybe"), ("two", 2), ("one", 1), ("quoted true", "true"), ("list", [True]),
                    ("yes string", "Yes")]
        elif self.kind == "str":
            out += [("integer", 123), ("bool", True), ("list", ["x"]), ("mapping", {"A": "b"}), ("float", 1.5),
                    ("empty", "")]
            choices = self.one_of()
            if choices:
                out += [("not in enum", "bogus"), ("enum lower", str(choices[0]).lower()),
                        ("enum upper", str(choices[-1]).upper())]
            rx = self.regexp()
            if rx:
                valid = self.valid_values()
                base = valid[0] if valid else "x"
                out += [("pattern suffix", base + "!"), ("pattern prefix", "x" + base)]
            length = self.length()
            if length and length.max is not None:
                out.append(("too long", "k" * (length.max + 1)))
                out.append(("longest", "k" * length.max))
            if any(getattr(v, "__name__", "") == "is_cidr_or_prefix_list" for v in self.validators):
                out += [("bad cidr", "10.0.0.300/16"), ("cidr without mask", "10.0.0.0")]
        elif self.kind == "list":
            out += [("scalar", "x"), ("mapping", {"A": "b"}), ("empty list", [])]
            out += [("bad item " + label, [value]) for label, value in self.item.invalid_values()[:4]]
            length = self.length()
            if length and (length.max or length.equal):
                n = (length.max or length.equal) + 1
                out.append(("too many items", (self.item.valid_values() or ["x"])[:1] * n))
        elif self.kind == "dict":
            out += [("scalar", "x"), ("list", ["x"])]
        elif self.kind == "object":
            if self.many:
                out += [("mapping not list", self.minimal() or {}), ("scalar", "x"), ("empty list", [])]
            else:
                out += [("scalar", "x"), ("list", [self.minimal() or {}]), ("empty mapping", {})]
        out.append(("null", None))
        return out


def walk(schema):
    return [Field(f.data_key or name, f) for name, f in schema.fields.items()]


def instances(doc, tree, path=()):
    """Yields (path, field) for every field of the schema, at its first place in doc (or where it would go)."""
    for f in tree:
        yield path + (f.key,), f
        if f.kind == "object" and f.children and not f.custom_action:
            value = doc.get(f.key) if isinstance(doc, dict) else None
            if f.many:
                first = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}
                yield from instances(first, f.children, path + (f.key, 0))
            else:
                yield from instances(value if isinstance(value, dict) else {}, f.children, path + (f.key,))


def set_at(doc, path, value, tree):
    """Sets doc[path] = value, making the parents (with their required fields) that are missing."""
    node, fields_here = doc, tree
    for i, step in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(step, int):
            while len(node) <= step:
                node.append({})
            if not isinstance(node[step], dict):
                node[step] = {}
            node = node[step]
            continue
        f = next(x for x in fields_here if x.key == step)
        fields_here = f.children or []
        if isinstance(nxt, int):
            if not isinstance(node.get(step), list):
                node[step] = [f.minimal() or {}]
        elif not isinstance(node.get(step), dict):
            node[step] = f.minimal() or {}
        node = node[step]
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


DELETE = object()

# Fields and values the original removed or never had; users of older versions still write them.
REMOVED = [
    (("Image", "Os"), "alinux2"), (("Image", "Os"), "centos7"), (("Image", "Os"), "ubuntu2004"),
    (("Image", "Os"), "ubuntu1804"), (("Scheduling", "Scheduler"), "awsbatch"),
    (("Scheduling", "AwsBatchQueues"), [{"Name": "q", "ComputeResources": [{"Name": "c", "InstanceTypes": ["optimal"]}],
                                          "Networking": {"SubnetIds": ["subnet-0123456789abcdef0"]}}]),
    (("HeadNode", "Dcv", "Enable"), True), (("Scheduling", "SlurmSettings", "EnableMemoryBasedScheduling"), "yes"),
    (("Scheduling", "SlurmQueues", 0, "ComputeResources", 0, "EnableEfa"), True),
    (("Scheduling", "SlurmQueues", 0, "ComputeResources", 0, "Efa", "GdrSupport"), False),
    (("Scheduling", "SlurmQueues", 0, "Networking", "PlacementGroup", "Name"), "pg"),
    (("SharedStorage", 0, "FsxLustreSettings", "AutoImportPolicy"), "NEW_CHANGED_DELETED"),
    (("HeadNode", "Imds", "Secured"), "false"), (("Cluster",), {"Name": "x"}), (("Image", "CustomAmi"), "ami-123"),
    (("Scheduling", "SlurmSettings", "Dns", "HostedZoneId"), "Z123"),
    (("HeadNode", "Networking", "ElasticIp"), "eipalloc-0123456789abcdef0"),
    (("HeadNode", "Networking", "ElasticIp"), 7),
    (("HeadNode", "Networking", "ElasticIp"), False),
]


def mutations(base_name, doc, tree):
    """Every single mutation of one base: (description, mutated document)."""
    out = []
    seen_objects = set()
    for path, f in instances(doc, tree):
        where = render(path)
        for label, value in [("valid", v) for v in f.valid_values()[:3]] + f.invalid_values():
            out.append((f"{where} = {label} {json.dumps(value)[:40]}", path, value))
        out.append((f"{where} removed", path, DELETE))
        parent = path[:-1]
        if parent not in seen_objects:
            seen_objects.add(parent)
            out.append((f"{render(parent + (f.key + 'x',))} misspelt key", parent + (f.key + "x",), "1"))
            out.append((f"{render(parent + (f.key.lower(),))} lower-case key", parent + (f.key.lower(),), "1"))
    out += [(f"{render(p)} = removed {json.dumps(v)[:40]}", p, v) for p, v in REMOVED]
    docs = []
    for description, path, value in out:
        d = copy.deepcopy(doc)
        try:
            set_at(d, path, value if value is DELETE else copy.deepcopy(value), tree)
        except (StopIteration, TypeError, AttributeError, KeyError):
            continue
        docs.append((f"{base_name}: {description}", d, path, value))
    return docs


def render(path):
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (("." if text else "") + str(step))
    return text


def paths_of(messages, prefix=()):
    """The field paths of marshmallow's nested error messages."""
    if isinstance(messages, list) or isinstance(messages, str):
        return {render(prefix)}
    out = set()
    for key, value in messages.items():
        if key == "_schema":
            out |= {render(prefix)}
        elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            out |= paths_of(value, prefix + (int(key),))
        else:
            out |= paths_of(value, prefix + (key,))
    return out


def judge(text):
    try:
        ClusterSchema(cluster_name="demo").load(yaml.safe_load(text))
        return True, []
    except ValidationError as e:
        return False, sorted(paths_of(e.messages))
    except Exception as e:  # a crash of the original is a verdict too: it refuses the file
        return False, [f"<crash {type(e).__name__}>"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--sample", type=int, default=0, help="keep this many cases (0: all)")
    parser.add_argument("--random", type=int, default=400, help="random combinations of mutations")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tree = walk(ClusterSchema(cluster_name="demo"))
    singles = []
    for name, text in BASES.items():
        doc = yaml.safe_load(text)
        ok, paths = judge(text)
        if not ok:
            sys.exit(f"base config {name} is refused by the original at {paths}")
        singles.append((f"{name}: unchanged", doc, None, None))
        singles += mutations(name, doc, tree)
    cases = [(d, doc) for d, doc, _, _ in singles]
    pool = [s for s in singles if s[2] is not None]
    for i in range(args.random):
        base_name = rng.choice(list(BASES))
        doc = yaml.safe_load(BASES[base_name])
        picks = rng.sample([s for s in pool if s[0].startswith(base_name + ":")], rng.randint(2, 4))
        applied = []
        for description, _, path, value in picks:
            try:
                set_at(doc, path, value if value is DELETE else copy.deepcopy(value), tree)
                applied.append(description.split(": ", 1)[1])
            except (StopIteration, TypeError, AttributeError, KeyError, IndexError):
                pass
        cases.append((f"{base_name}: random {i}: " + "; ".join(applied), doc))
    if args.sample:
        cases = rng.sample(cases, min(args.sample, len(cases)))
    os.makedirs(args.out, exist_ok=True)
    verdicts = []
    for i, (description, doc) in enumerate(cases):
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
        name = f"case-{i:05d}.yaml"
        with open(os.path.join(args.out, name), "w") as out:
            out.write(text)
        valid, paths = judge(text)
        verdicts.append({"file": name, "case": description, "valid": valid, "paths": paths})
    with open(os.path.join(args.out, "verdicts.json"), "w") as out:
        json.dump(verdicts, out, indent=1)
    print(f"{len(verdicts)} configs, {sum(v['valid'] for v in verdicts)} accepted by the original", file=sys.stderr)


if __name__ == "__main__":
    main()
