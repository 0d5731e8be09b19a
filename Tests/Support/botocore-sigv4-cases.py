#!/usr/bin/env python3
"""Generate SigV4 test cases and botocore's answers for them, as JSON on stdout.

Usage: botocore-sigv4-cases.py COUNT SEED

Each case gives the inputs (method, service, path as sent, query parameters, headers, body, whether the
payload is unsigned, credentials) and botocore's canonical request, Authorization header and, for S3,
a presigned URL query, all computed at a fixed time.
"""
import datetime
import hashlib
import json
import random
import sys
from urllib.parse import quote

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2026, 11, 25, 12, 34, 56)
STAMP = FIXED.strftime("%Y%m%dT%H%M%SZ")

ODD = ["a", "Z", "0", " ", "+", "%", "/", "~", ".", "-", "_", "=", "&", "?", "#", "!", "*", "'", "(", ")", ":",
       "@", ",", ";", "$", "é", "ሴ", "日本", "😀", "\\", "^", "`", "{", "}", "|", "[", "]", "<", ">", '"']


def word(rng, low=1, high=12, pool=ODD):
    return "".join(rng.choice(pool) for _ in range(rng.randint(low, high)))


def make_case(rng, index):
    s3 = rng.random() < 0.5
    service = "s3" if s3 else rng.choice(["sqs", "ec2", "sts", "fsx", "cloudformation"])
    method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
    if s3:
        key = word(rng, 1, 30)
        if rng.random() < 0.2:
            key = "dir/../" + key + "//x/./y"
        path = "/bucket-" + str(index) + "/" + quote(key, safe="/~")
    else:
        segments = [quote(word(rng, 1, 8), safe="~") for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.3:
            segments.insert(rng.randint(0, len(segments)), rng.choice([".", "..", ""]))
        path = "/" + "/".join(segments)
    params = {}
    for _ in range(rng.randint(0, 4)):
        params[word(rng, 1, 6)] = word(rng, 0, 10)
    headers = {}
    for _ in range(rng.randint(0, 3)):
        name = "X-Test-" + "".join(rng.choice("abcXYZ-09") for _ in range(rng.randint(1, 6)))
        value = rng.choice(["  spaced   value  ", "plain", "a\tb", "UPPER", "x" * rng.randint(1, 40), "é ሴ"])
        headers[name] = value
    if rng.random() < 0.3:
        headers["User-Agent"] = "differential/1.0"
    if rng.random() < 0.3:
        headers["Content-Type"] = "application/octet-stream"
    body = word(rng, 0, 200).encode("utf-8") if method in ("PUT", "POST") else b""
    unsigned = rng.random() < 0.25
    token = ("tok/" + word(rng, 5, 20, list("abcXYZ019+/=")) if rng.random() < 0.3 else None)
    secret = "secret/" + word(rng, 5, 30, list("abcdefXYZ0123456789+/"))
    credentials = Credentials("AKIDTEST" + str(index), secret, token)
    region = rng.choice(["us-east-1", "eu-west-3", "ap-southeast-2"])
    port = rng.choice([None, 5000, 443])
    host = "127.0.0.1" + (":%d" % port if port else "")
    scheme = "https" if unsigned else "http"

    request = AWSRequest(method=method, url=f"{scheme}://{host}{path}", headers=dict(headers), data=body, params=params)
    request.context["timestamp"] = STAMP
    if s3:
        auth = S3SigV4Auth(credentials, service, region)
        if unsigned:
            request.headers["Content-MD5"] = "x"
            request.context["has_streaming_input"] = True
    else:
        auth = SigV4Auth(credentials, service, region)
        if unsigned:
            request.context["payload_signing_enabled"] = False
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    signature = auth.signature(string_to_sign, request)
    auth._inject_signature_to_request(request, signature)
    case = {
        "service": service, "method": method, "host": host, "path": path, "region": region,
        "query": [[k, v] for k, v in params.items()],
        "headers": [[k, v] for k, v in request.headers.items()
                    if k.lower() not in ("x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization")],
        "body": body.decode("utf-8"), "unsigned": unsigned,
        "accessKey": credentials.access_key, "secret": secret, "token": token,
        "canonical": canonical, "authorization": request.headers["Authorization"],
        "payload": request.headers.get("X-Amz-Content-SHA256") if s3 else None,
    }
    if s3 and method in ("GET", "PUT"):
        presign = AWSRequest(method=method, url=f"http://{host}{path}", params=params)
        presign.context["timestamp"] = STAMP
        query_auth = S3SigV4QueryAuth(credentials, "s3", region, expires=900)
        query_auth._modify_request_before_signing(presign)
        c = query_auth.canonical_request(presign)
        sig = query_auth.signature(query_auth.string_to_sign(presign, c), presign)
        query_auth._inject_signature_to_request(presign, sig)
        case["presignedQuery"] = presign.url.split("?", 1)[1]
    return case


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    json.dump([make_case(rng, i) for i in range(count)], sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
