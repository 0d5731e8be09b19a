#!/usr/bin/env bash
# Metadata operations from one process, mdtest's phases, on the same machine in one run: N empty files
# created, stat'ed, listed (readdir + stat of each) and unlinked in one directory of
#   - ours: inside an association on a moto bucket (auto-export NEW,CHANGED,DELETED), then the time until
#     every created file is an object (exports follow every change) is printed too;
#   - s3fs and rclone mount on the same moto server (Debian's packages);
#   - a tmpfs directory (the kernel's own file system: the ceiling).
# Run as root (FUSE). Prints operations per second for each and our ratio to the best S3 peer.
#
#   benchmarks/mdtest.sh [files (default 2000)]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-2000}
WORK=$PWD/benchmarks/.work/mdtest
rm -rf "$WORK"; mkdir -p "$WORK"
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
need=()
for tool in s3fs rclone fusermount3; do command -v $tool >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  pkgs=("${need[@]/fusermount3/fuse3}")
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
swift build -c release --product fsx-admin >/dev/null
BIN="$(swift build -c release --show-bin-path)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
OURS_PID=""
M_OURS="$WORK/ours" M_S3FS="$WORK/s3fs" M_RCLONE="$WORK/rclone"
mkdir -p "$M_OURS" "$M_S3FS" "$M_RCLONE"
TMPFS=$(mktemp -d /dev/shm/mdtest-XXXXXX)
cleanup() {
  for m in "$M_S3FS" "$M_RCLONE"; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m" 2>/dev/null || true; done
  if [ -n "$OURS_PID" ]; then kill -TERM "$OURS_PID" 2>/dev/null && wait "$OURS_PID" 2>/dev/null || true; fi
  kill "$MOTO_PID" 2>/dev/null || true
  rm -rf "$WORK"/fs-* "$WORK"/rclone-cache "$TMPFS"
}
trap cleanup EXIT
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
python3 -c "import boto3, os; boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL']).create_bucket(Bucket='mdtest')"

"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-ours" --file-system-path /dra \
  --data-repository-path s3://mdtest/ours/ --auto-export NEW,CHANGED,DELETED >/dev/null
"$BIN/fsx-admin" mount --fs-dir "$WORK/fs-ours" "$M_OURS" 2>"$WORK/ours.log" &
OURS_PID=$!
for _ in $(seq 200); do [ -d "$M_OURS/dra" ] && break; sleep 0.05; done
echo "testing:testing" >"$WORK/passwd"; chmod 600 "$WORK/passwd"
s3fs mdtest "$M_S3FS" -o url="$AWS_ENDPOINT_URL",use_path_request_style,passwd_file="$WORK/passwd"
env -u AWS_CA_BUNDLE rclone mount ":s3:mdtest" "$M_RCLONE" --s3-provider Other --s3-endpoint "$AWS_ENDPOINT_URL" \
  --s3-access-key-id testing --s3-secret-access-key testing --vfs-cache-mode writes \
  --cache-dir "$WORK/rclone-cache" --daemon
for _ in $(seq 200); do mountpoint -q "$M_RCLONE" && break; sleep 0.05; done

# One process, four phases; prints "create stat readdir unlink" in operations per second. The export check
# (ours only) counts objects under the prefix after the create phase.
phases() {
  python3 - "$1" "$FILES" "${2:-}" <<'PY'
import os, sys, time
directory, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(directory, exist_ok=True)
names = [os.path.join(directory, f"file.mdtest.{i:07d}") for i in range(count)]
rates = []
start = time.perf_counter()
for name in names:
    os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
created = time.perf_counter()
rates.append(count / (created - start))
exported = ""
if prefix:
    import boto3
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        listed = sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket="mdtest", Prefix=prefix))
        if listed >= count:
            exported = f"{time.perf_counter() - created:.2f}"
            break
        time.sleep(0.05)
    else:
        exported = "timeout"
start = time.perf_counter()
for name in names:
    os.stat(name)
rates.append(count / (time.perf_counter() - start))
start = time.perf_counter()
with os.scandir(directory) as entries:
    seen = sum(1 for entry in entries if entry.stat(follow_symlinks=False))
rates.append(seen / (time.perf_counter() - start))
start = time.perf_counter()
for name in names:
    os.unlink(name)
rates.append(count / (time.perf_counter() - start))
print(" ".join(f"{rate:.0f}" for rate in rates), exported)
PY
}
read -r o_create o_stat o_readdir o_unlink o_export <<<"$(phases "$M_OURS/dra/bench" ours/bench/)"
read -r s_create s_stat s_readdir s_unlink <<<"$(phases "$M_S3FS/bench")"
read -r r_create r_stat r_readdir r_unlink <<<"$(phases "$M_RCLONE/bench")"
read -r t_create t_stat t_readdir t_unlink <<<"$(phases "$TMPFS/bench")"

ratio() { python3 -c "print(f'{$1 / max($2, $3):.1f}x')"; }
printf '\n%d files, one process (operations/s)\n' "$FILES"
printf '%-10s %10s %10s %10s %12s %10s\n' "" "ours" "s3fs" "rclone" "ours/best" "tmpfs"
printf '%-10s %10s %10s %10s %12s %10s\n' create "$o_create" "$s_create" "$r_create" "$(ratio "$o_create" "$s_create" "$r_create")" "$t_create"
printf '%-10s %10s %10s %10s %12s %10s\n' stat "$o_stat" "$s_stat" "$r_stat" "$(ratio "$o_stat" "$s_stat" "$r_stat")" "$t_stat"
printf '%-10s %10s %10s %10s %12s %10s\n' readdir "$o_readdir" "$s_readdir" "$r_readdir" "$(ratio "$o_readdir" "$s_readdir" "$r_readdir")" "$t_readdir"
printf '%-10s %10s %10s %10s %12s %10s\n' unlink "$o_unlink" "$s_unlink" "$r_unlink" "$(ratio "$o_unlink" "$s_unlink" "$r_unlink")" "$t_unlink"
printf 'ours: every created file was an object %s s after the last create\n' "$o_export"
