#!/usr/bin/env bash
# Moves the same 256 MiB object through the same moto server on 127.0.0.1 with `aws s3 cp` and with our
# client (s3xfer: parallel ranged GETs, parallel multipart parts), in one run, and prints MB/s and the
# ratio. A raw signed GET with curl is printed as the ceiling: the endpoint's own speed on this machine.
#
#   benchmarks/s3-transfer.sh [size-in-MiB (default 256)] [rounds (default 3, best is kept)]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
ROUNDS=${2:-3}
WORK=benchmarks/.work/s3-transfer
mkdir -p "$WORK"
source benchmarks/lib.sh
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
swift build -c release --product s3xfer >/dev/null
OURS="$(swift build -c release --show-bin-path)/s3xfer"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true; rm -f "$WORK"/*.bin' EXIT
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break; sleep 0.1; done

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/source.bin"
"$OURS" mb s3://bench

seconds() { python3 - "$@" <<'PY'
import subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(f"{time.perf_counter() - start:.3f}")
PY
}
best() { # best of ROUNDS runs of the command
  local fastest=""
  for _ in $(seq "$ROUNDS"); do
    local t; t=$(seconds "$@")
    if [ -z "$fastest" ] || python3 -c "import sys; sys.exit(0 if $t < $fastest else 1)"; then fastest=$t; fi
  done
  echo "$fastest"
}
rate() { python3 -c "print(f'{$SIZE_MIB * 1.048576 / $1:8.1f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

echo "object: $SIZE_MIB MiB, moto on 127.0.0.1:$PORT, best of $ROUNDS" >&2
up_aws=$(best aws s3 cp --quiet "$WORK/source.bin" s3://bench/aws.bin)
up_ours=$(best "$OURS" put "$WORK/source.bin" s3://bench/ours.bin)
down_aws=$(best aws s3 cp --quiet s3://bench/ours.bin "$WORK/aws-back.bin")
down_ours=$(best "$OURS" get s3://bench/aws.bin "$WORK/ours-back.bin")
cmp "$WORK/source.bin" "$WORK/aws-back.bin"
cmp "$WORK/source.bin" "$WORK/ours-back.bin"
raw=$(best curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "testing:testing" -o "$WORK/raw.bin" "$AWS_ENDPOINT_URL/bench/aws.bin")
raw_put=$(best curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "testing:testing" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$WORK/source.bin" "$AWS_ENDPOINT_URL/bench/raw.bin")

printf '\n%-10s %12s %12s %8s\n' "" "aws s3 cp" "s3xfer" "ratio"
printf '%-10s %9s MB/s %7s MB/s %7sx\n' upload "$(rate "$up_aws")" "$(rate "$up_ours")" "$(ratio "$up_aws" "$up_ours")"
printf '%-10s %9s MB/s %7s MB/s %7sx\n' download "$(rate "$down_aws")" "$(rate "$down_ours")" "$(ratio "$down_aws" "$down_ours")"
printf 'endpoint ceiling (one signed curl request, no parts): GET %s MB/s, PUT %s MB/s\n' "$(rate "$raw")" "$(rate "$raw_put")"
record "upload, $SIZE_MIB MiB" MB/s higher "ours=$(rate "$up_ours" | xargs) aws_s3_cp=$(rate "$up_aws" | xargs) curl=$(rate "$raw_put" | xargs)"
record "download, $SIZE_MIB MiB" MB/s higher "ours=$(rate "$down_ours" | xargs) aws_s3_cp=$(rate "$down_aws" | xargs) curl=$(rate "$raw" | xargs)" "≥ 0.85× one curl GET" 0.85 curl
