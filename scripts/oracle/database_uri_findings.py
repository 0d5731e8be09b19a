#!/usr/bin/env python3
"""The original's DatabaseUriValidator on each URI: one JSON string per line in, one JSON list of
[level, message] per line out."""

import json
import logging
import sys

logging.disable(logging.CRITICAL)

from pcluster.validators.database_validators import DatabaseUriValidator  # noqa: E402

for line in sys.stdin:
    uri = json.loads(line)
    try:
        found = [[f.level.name, f.message] for f in DatabaseUriValidator().execute(uri=uri)]
    except Exception as e:  # the original would fail with a Python error here
        found = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(found), flush=True)
