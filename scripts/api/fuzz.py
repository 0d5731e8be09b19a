#!/usr/bin/env python3
"""Fuzzes pcluster-api with schemathesis from the original's openapi.yaml: for every operation, a bounded
number of generated requests (valid ones and invalid ones), each signed by botocore for execute-api (as an AWS SDK signs for API Gateway).
Each response must not be a 5xx, must use a status the spec lists for the operation, and must match the
spec's schema and content type for that status.

usage: fuzz.py ENDPOINT SPEC [--examples N]
Prints one JSON line: {"operations": n, "requests": n, "statuses": {status: count}, "failures": [...]}; exits 1 when there are failures.
Credentials and region come from the environment.
"""
import argparse
import json
import sys

import botocore.session
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import CHECKS


class BotocoreSigV4(requests.auth.AuthBase):
    """Signs the request exactly as sent (final URL, body and content type)."""

    def __init__(self):
        session = botocore.session.get_session()
        self.credentials = session.get_credentials()
        self.region = session.get_config_variable("region") or "us-east-1"

    def __call__(self, request):
        # requests writes a space in the query as '+', which SigV4's canonical form (and API Gateway) reads as
        # a plus sign; '%20' means the same to the server and signs the same on both sides.
        base, question, query = request.url.partition("?")
        if question:
            request.url = base + "?" + query.replace("+", "%20")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
        signed = AWSRequest(method=request.method, url=request.url, data=body, headers=headers)
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        return request


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("spec")
    parser.add_argument("--examples", type=int, default=20)
    args = parser.parse_args()

    schema = schemathesis.openapi.from_path(args.spec)
    # The OpenAPI checks register themselves once a schema is loaded.
    checks = CHECKS.get_by_names(
        ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"])
    auth = BotocoreSigV4()
    failures, operations, sent, statuses = [], 0, [0], {}
    for result, mode in [(r, m) for r in schema.get_all_operations() for m in schemathesis.GenerationMode]:
        operation = result.ok()
        operations += mode is schemathesis.GenerationMode.POSITIVE

        # Requests the spec allows, and requests it does not (which must be refused with a 4xx it lists).
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            sent[0] += 1
            response = case.call(base_url=args.endpoint, auth=auth, timeout=60)
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            case.validate_response(response, checks=checks)

        try:
            exercise()
        except Exception as error:  # hypothesis re-raises the first failing example's error
            failures.append({"operation": operation.label, "mode": mode.value, "error": str(error)[:2000]})
    print(json.dumps({"operations": operations, "requests": sent[0], "statuses": statuses, "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
