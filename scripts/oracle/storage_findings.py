#!/usr/bin/env python3
"""The findings of the original's storage validators that need no AWS (DeletionPolicyValidator), for
configs its schema loads: each shared storage's deletion policy as its model computes it (default and
all), judged by its validator.

Input on stdin: one JSON object per line, {"config": "<yaml text>"}.
Output: one JSON list per line of [level, type, message] (or {"error": ...} when the schema refuses it)."""

import json
import logging
import os
import sys

# As in config_corpus.py: what of the original reaches for AWS fails at once on a closed local port.
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="oracle", AWS_SECRET_ACCESS_KEY="oracle",
    AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_EC2_METADATA_DISABLED="true")

logging.disable(logging.CRITICAL)

import yaml  # noqa: E402
from pcluster.schemas.cluster_schema import ClusterSchema  # noqa: E402
from pcluster.validators.cluster_validators import DeletionPolicyValidator  # noqa: E402

for line in sys.stdin:
    text = json.loads(line)["config"]
    try:
        config = ClusterSchema(cluster_name="demo").load(yaml.safe_load(text))
    except Exception as e:
        print(json.dumps({"error": str(e)}), flush=True)
        continue
    found = []
    for storage in config.shared_storage or []:
        if not hasattr(storage, "deletion_policy"):
            continue
        for failure in DeletionPolicyValidator().execute(deletion_policy=storage.deletion_policy, name=storage.name):
            found.append([failure.level.name, failure.validator_type, failure.message])
    print(json.dumps(found), flush=True)
