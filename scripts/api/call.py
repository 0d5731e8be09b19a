#!/usr/bin/env python3
"""One request to pcluster-api, signed by botocore as an AWS SDK signs for API Gateway (SigV4, execute-api).

usage: call.py ENDPOINT METHOD PATH [--query NAME=VALUE ...] [--body JSON] [--unsigned]
Prints {"status": <HTTP status>, "body": <the response's JSON, or null>} on one line. Credentials and region
come from the environment, as they do for the AWS CLI.
"""
import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("method")
    parser.add_argument("path")
    parser.add_argument("--query", action="append", default=[])
    parser.add_argument("--body")
    parser.add_argument("--unsigned", action="store_true")
    args = parser.parse_args()

    pairs = [tuple(item.split("=", 1)) for item in args.query]
    # %20 for a space, as SigV4's canonical query has it ('+' would be read as a plus sign).
    url = args.endpoint.rstrip("/") + args.path + ("?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote) if pairs else "")
    data = args.body.encode() if args.body is not None else None
    request = AWSRequest(method=args.method, url=url, data=data, headers={"Content-Type": "application/json"} if data else {})
    if not args.unsigned:
        session = botocore.session.get_session()
        credentials = session.get_credentials()
        region = session.get_config_variable("region") or "us-east-1"
        SigV4Auth(credentials, "execute-api", region).add_auth(request)
    prepared = request.prepare()
    outgoing = urllib.request.Request(prepared.url, data=prepared.body, method=args.method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(outgoing, timeout=300) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = {"unparsed": text}
    print(json.dumps({"status": status, "body": body}))


if __name__ == "__main__":
    sys.exit(main())
