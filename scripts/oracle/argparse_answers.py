#!/usr/bin/env python3
"""The original CLI's answer to command lines, up to the point where it would start work: what its
argparse and type functions print and the exit code, or "accepted" for a line they let through
(the operation itself is not run, so nothing here needs AWS).

Input on stdin: one JSON object per line, {"args": [...], "columns": 80}.
Output: one JSON object per line, {"stdout": ..., "stderr": ..., "code": N} or {"accepted": true}."""

import contextlib
import io
import json
import os
import sys

import pcluster.cli.entrypoint as entrypoint
import pcluster.cli.model
from pcluster.cli.exceptions import ParameterException


class Accepted(Exception):
    pass


sys.argv[0] = "pcluster"
# The parser the original builds for every run, built once (building it takes a fifth of a second).
model = pcluster.cli.model.load_model(pcluster.cli.model.package_spec())
parser, parser_map = entrypoint.gen_parser(model)
entrypoint.add_cli_commands(parser_map)


def run(args):
    """entrypoint.run up to the operation: its parse and its check for leftovers."""
    namespace, extra_args = parser.parse_known_args(args)
    if extra_args and (not hasattr(namespace, "expects_extra_args") or not namespace.expects_extra_args):
        parser.print_usage()
        print(f"Invalid arguments {extra_args}")
        sys.exit(1)
    raise Accepted()


for line in sys.stdin:
    request = json.loads(line)
    os.environ["COLUMNS"] = str(request["columns"])
    out, err = io.StringIO(), io.StringIO()
    answer = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(request["args"])
            answer = {"accepted": True}
        except Accepted:
            answer = {"accepted": True}
        except ParameterException as e:
            print(json.dumps(e.data, indent=2))
            answer = {"code": 1}
        except SystemExit as e:
            answer = {"code": e.code if isinstance(e.code, int) else 1}
    if "code" in answer:
        answer.update(stdout=out.getvalue(), stderr=err.getvalue())
    print(json.dumps(answer), flush=True)
