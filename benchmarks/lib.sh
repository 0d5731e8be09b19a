# Shared by the file system benchmarks (sourced, not run): a moto server of the run's own on 127.0.0.1, the
# peers' mounts on it, timing, and the rows `benchmarks/report` turns into docs/benchmarks.md.
#
# Each benchmark appends its rows to $BENCH_RESULTS (one JSON object per line; default
# benchmarks/.work/results/<script>.jsonl, emptied when the script starts) with `record`.

BENCH_NAME=$(basename "$0" .sh)
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_ROOT/benchmarks/.work/results/$BENCH_NAME.jsonl}
mkdir -p "$(dirname "$BENCH_RESULTS")"
: >"$BENCH_RESULTS"

# bash's own clock: a timer that started an interpreter would add its start-up (0.12 s here) to every interval.
now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}
# Drops the page cache, dentries and inodes, so a "first read" reads from the endpoint, not from memory.
cold() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# Installs what is missing: Debian packages by command (command:package) and moto.
need_tools() {
  local missing=() pair
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair##*:}"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
  python3 -c 'import boto3' 2>/dev/null || python3 -m pip install --quiet boto3
}

# Builds release products and sets BIN to their directory.
build_products() {
  local product
  for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
  BIN="$(swift build -c release --show-bin-path)"
}

# Starts moto on a free port (MOTO_PID, MOTO_PORT) and points the AWS environment at it.
start_moto() {
  MOTO_PORT=$(free_port)
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
  MOTO_PID=$!
  wait_port "$MOTO_PORT"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
}

# Peers on the same bucket: s3fs and rclone mount (Debian's packages). Unmounted by `unmount_peers`.
mount_s3fs() { # bucket mountpoint
  echo "testing:testing" >"$WORK/passwd"; chmod 600 "$WORK/passwd"
  mkdir -p "$2"
  s3fs "$1" "$2" -o url="$AWS_ENDPOINT_URL",use_path_request_style,passwd_file="$WORK/passwd"
  PEER_MOUNTS+=("$2")
}
mount_rclone() { # bucket mountpoint cache-mode
  mkdir -p "$2"
  env -u AWS_CA_BUNDLE rclone mount ":s3:$1" "$2" --s3-provider Other --s3-endpoint "$AWS_ENDPOINT_URL" \
    --s3-access-key-id testing --s3-secret-access-key testing --vfs-cache-mode "${3:-writes}" \
    --cache-dir "$WORK/rclone-cache-$(basename "$2")" --daemon
  for _ in $(seq 200); do mountpoint -q "$2" && break; sleep 0.05; done
  PEER_MOUNTS+=("$2")
}
PEER_MOUNTS=()
unmount_peers() {
  local m
  for m in "${PEER_MOUNTS[@]}"; do mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }; done
  PEER_MOUNTS=()
}

# Our mount of a file system directory (OURS_PID); `unmount_ours` ends it.
OURS_PID=""
mount_ours() { # fs-dir mountpoint path-that-appears
  mkdir -p "$2"
  "$BIN/fsx-admin" mount --fs-dir "$1" "$2" 2>>"$WORK/ours.log" &
  OURS_PID=$!
  for _ in $(seq 400); do [ -e "$2/${3:-}" ] && mountpoint -q "$2" && return; sleep 0.05; done
  echo "our mount did not come up (see $WORK/ours.log)" >&2; return 1
}
unmount_ours() {
  if [ -n "$OURS_PID" ]; then kill -TERM "$OURS_PID" 2>/dev/null && wait "$OURS_PID" 2>/dev/null || true; OURS_PID=""; fi
}

# One row of the report:
#   record METRIC UNIT higher|lower "ours=1.5 s3fs=2 ..." ["target text" TARGET_VALUE [RELATIVE_TO]]
# The target is met when ours is at least (higher) or at most (lower) TARGET_VALUE, or, with RELATIVE_TO
# (names among the values, comma separated: the best of them), TARGET_VALUE times that value.
record() {
  python3 - "$BENCH_RESULTS" "$BENCH_NAME" "$@" <<'PY'
import json, sys
path, bench, metric, unit, better, values = sys.argv[1:7]
rest = sys.argv[7:]
row = {"bench": bench, "metric": metric, "unit": unit, "higher_is_better": better == "higher", "values": {}}
for pair in values.split():
    name, value = pair.split("=", 1)
    try:
        row["values"][name] = float(value)
    except ValueError:
        row["values"][name] = None
if rest:
    row["target"] = rest[0]
    limit = float(rest[1])
    if len(rest) > 2:
        # The best of the named values (the lowest time, the highest rate) is the base.
        bases = [row["values"].get(name) for name in rest[2].split(",")]
        bases = [b for b in bases if b is not None]
        base = (max if row["higher_is_better"] else min)(bases) if bases else None
        limit = limit * base if base is not None else None
        row["relative_to"] = rest[2]
    ours = row["values"].get("ours")
    if ours is None or limit is None:
        row["met"] = False
    else:
        row["met"] = ours >= limit if row["higher_is_better"] else ours <= limit
with open(path, "a") as out:
    out.write(json.dumps(row) + "\n")
PY
}
