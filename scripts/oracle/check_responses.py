#!/usr/bin/env python3
"""Checks command outputs against the original's API: each is loaded with the matching generated
model (pcluster.api.models.*ResponseContent.from_dict, which refuses missing required fields and
values outside an enum), validated against openapi.yaml's schema with jsonschema, and its keys
checked to come in the order the original prints them, its models' attribute order (extra keys are
allowed anywhere).

Input on stdin: one JSON object per line, {"model": "DescribeClusterResponseContent", "document_text": "{...}"}
(the document as text, so its keys keep their order).
Output: one JSON list of problems per line ([] when the document passes)."""

import importlib
import json
import os
import re
import sys

import jsonschema
import pcluster
import yaml

SPEC = yaml.safe_load(open(os.path.join(os.path.dirname(pcluster.__file__), "api", "openapi", "openapi.yaml")))
SCHEMAS = SPEC["components"]["schemas"]


def json_schema(name):
    """The spec's schema with its references inlined under $defs, for jsonschema."""
    text = json.dumps(SCHEMAS[name], default=str).replace("#/components/schemas/", "#/$defs/")
    out = json.loads(text)
    out["$defs"] = json.loads(json.dumps(SCHEMAS, default=str).replace("#/components/schemas/", "#/$defs/"))
    return out


def order_problems(document, model, where):
    """Keys in the order the original prints them: its model's attribute order (what to_dict gives)."""
    problems = []
    if isinstance(document, dict) and hasattr(model, "openapi_types"):
        names = {model.attribute_map[a]: a for a in model.openapi_types}
        known = [k for k in document if k in names]
        expected = [model.attribute_map[a] for a in model.openapi_types if model.attribute_map[a] in document]
        if known != expected:
            problems.append(f"{where or 'top'}: keys in order {known}, the original's order is {expected}")
        for key in known:
            problems += order_problems(document[key], getattr(model, names[key], None), f"{where}.{key}")
    elif isinstance(document, list) and isinstance(model, list):
        for i, (item, item_model) in enumerate(list(zip(document, model))[:5]):
            problems += order_problems(item, item_model, f"{where}[{i}]")
    return problems


def model_class(name):
    module = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return getattr(importlib.import_module(f"pcluster.api.models.{module}"), name)


def check(name, document):
    problems = []
    model = None
    try:
        model = model_class(name).from_dict(document)
    except Exception as e:  # the models raise ValueError and TypeError on what they refuse
        problems.append(f"{name}.from_dict refuses it: {type(e).__name__}: {e}")
    validator = jsonschema.Draft7Validator(json_schema(name))
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"openapi.yaml: {path or 'top'}: {error.message[:300]}")
    if model is not None:
        problems += order_problems(document, model, "")
    return problems


for line in sys.stdin:
    if line.strip():
        request = json.loads(line)
        print(json.dumps(check(request["model"], json.loads(request["document_text"]))), flush=True)
