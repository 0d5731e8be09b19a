#!/usr/bin/env bash
# Our mount against s3fs and rclone mount (Debian's packages) on the same moto bucket, in one run:
#  - metadata: `ls -lR` of 10,000 files with FSx metadata, on a fresh mount (for ours: the association's
#    import, which reads every object's attributes, plus the listing) and again on the same mount;
#  - data: fio sequential read of a 256 MiB file, first read (from the bucket) and second read.
# Run as root (FUSE). Prints seconds, MB/s and our ratio to the best peer.
#
#   benchmarks/mount-peers.sh [objects (default 10000)] [file MiB (default 256)]
set -euo pipefail
cd "$(dirname "$0")/.."
OBJECTS=${1:-10000}
SIZE_MIB=${2:-256}
WORK=$PWD/benchmarks/.work/mount-peers
rm -rf "$WORK"; mkdir -p "$WORK"
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
need=()
for tool in s3fs rclone fio fusermount3; do command -v $tool >/dev/null || need+=("$tool"); done
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
unmount_all() {
  for m in "$M_S3FS" "$M_RCLONE"; do mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m" 2>/dev/null || true; done
  if [ -n "$OURS_PID" ]; then kill -TERM "$OURS_PID" 2>/dev/null && wait "$OURS_PID" 2>/dev/null || true; OURS_PID=""; fi
}
cleanup() { unmount_all; kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"/fs-* "$WORK"/rclone-cache; }
trap cleanup EXIT
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1

echo "filling s3://peer-bench: $OBJECTS small objects with FSx metadata and a $SIZE_MIB MiB file ..." >&2
python3 - "$OBJECTS" "$SIZE_MIB" <<'PY'
import boto3, os, sys
from concurrent.futures import ThreadPoolExecutor
count, size = int(sys.argv[1]), int(sys.argv[2])
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="peer-bench")
meta = {"file-permissions": "0100640", "file-owner": "1000", "file-group": "100",
        "file-mtime": "1595002920000000000ns", "file-atime": "1595002920000000000ns"}
def put(i):
    s3.put_object(Bucket="peer-bench", Key=f"meta/dir{i % 100:03d}/file{i:06d}.dat", Body=b"x" * (i % 4096), Metadata=meta)
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(count)))
s3.put_object(Bucket="peer-bench", Key="data/big.bin", Body=os.urandom(size << 20), Metadata=meta)
PY

now() { python3 -c 'import time; print(time.perf_counter())'; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
cold() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
echo "testing:testing" >"$WORK/passwd"; chmod 600 "$WORK/passwd"
mount_ours() {
  "$BIN/fsx-admin" mount --fs-dir "$WORK/fs-ours" "$M_OURS" 2>"$WORK/ours.log" &
  OURS_PID=$!
  for _ in $(seq 200); do [ -d "$M_OURS/dra" ] && return; sleep 0.05; done
  echo "our mount did not come up" >&2; exit 1
}
mount_s3fs() { s3fs peer-bench "$M_S3FS" -o url="$AWS_ENDPOINT_URL",use_path_request_style,passwd_file="$WORK/passwd"; }
mount_rclone() {
  env -u AWS_CA_BUNDLE rclone mount ":s3:peer-bench" "$M_RCLONE" --s3-provider Other --s3-endpoint "$AWS_ENDPOINT_URL" \
    --s3-access-key-id testing --s3-secret-access-key testing --vfs-cache-mode full \
    --cache-dir "$WORK/rclone-cache" --daemon
  for _ in $(seq 200); do mountpoint -q "$M_RCLONE" && return; sleep 0.05; done
}
count_files() { grep -c '^-' || true; }

# Metadata
t0=$(now)
"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-ours" --file-system-path /dra \
  --data-repository-path s3://peer-bench --batch-import >/dev/null
mount_ours
n=$(ls -lR "$M_OURS/dra/meta" | count_files); t1=$(now)
ours_cold=$(elapsed "$t0" "$t1")
t0=$(now); ls -lR "$M_OURS/dra/meta" >/dev/null; t1=$(now); ours_warm=$(elapsed "$t0" "$t1")
[ "$n" -eq "$OBJECTS" ] || echo "note: ours listed $n files" >&2
mount_s3fs
t0=$(now); n=$(ls -lR "$M_S3FS/meta" | count_files); t1=$(now); s3fs_cold=$(elapsed "$t0" "$t1")
t0=$(now); ls -lR "$M_S3FS/meta" >/dev/null; t1=$(now); s3fs_warm=$(elapsed "$t0" "$t1")
[ "$n" -eq "$OBJECTS" ] || echo "note: s3fs listed $n files" >&2
mount_rclone
t0=$(now); n=$(ls -lR "$M_RCLONE/meta" | count_files); t1=$(now); rclone_cold=$(elapsed "$t0" "$t1")
t0=$(now); ls -lR "$M_RCLONE/meta" >/dev/null; t1=$(now); rclone_warm=$(elapsed "$t0" "$t1")
[ "$n" -eq "$OBJECTS" ] || echo "note: rclone listed $n files" >&2

# Data: fio sequential reads of the same object through each mount.
fio_mbps() {
  fio --name=seq --filename="$1" --rw=read --bs=1M --size="${SIZE_MIB}M" --readonly --ioengine=psync \
      --numjobs=1 --output-format=json 2>/dev/null \
    | python3 -c 'import json, sys; job = json.load(sys.stdin)["jobs"][0]; print("%.1f" % (job["read"]["bw_bytes"] / 1e6))'
}
cold; ours_first=$(fio_mbps "$M_OURS/dra/data/big.bin"); ours_second=$(fio_mbps "$M_OURS/dra/data/big.bin")
cold; s3fs_first=$(fio_mbps "$M_S3FS/data/big.bin"); s3fs_second=$(fio_mbps "$M_S3FS/data/big.bin")
cold; rclone_first=$(fio_mbps "$M_RCLONE/data/big.bin"); rclone_second=$(fio_mbps "$M_RCLONE/data/big.bin")
unmount_all

best_min() { python3 -c "print(min($1, $2))"; }
best_max() { python3 -c "print(max($1, $2))"; }
ratio() { python3 -c "print(f'{$1 / $2:.1f}x')"; }
printf '\n%-46s %10s %10s %10s %12s\n' "" "ours" "s3fs" "rclone" "ours/best"
printf '%-46s %9ss %9ss %9ss %12s\n' "ls -lR of $OBJECTS files, fresh mount (ours: +import)" "$ours_cold" "$s3fs_cold" "$rclone_cold" "$(ratio "$(best_min "$s3fs_cold" "$rclone_cold")" "$ours_cold")"
printf '%-46s %9ss %9ss %9ss %12s\n' "ls -lR again on the same mount" "$ours_warm" "$s3fs_warm" "$rclone_warm" "$(ratio "$(best_min "$s3fs_warm" "$rclone_warm")" "$ours_warm")"
printf '%-46s %10s %10s %10s %12s\n' "fio sequential read, first (MB/s)" "$ours_first" "$s3fs_first" "$rclone_first" "$(ratio "$ours_first" "$(best_max "$s3fs_first" "$rclone_first")")"
printf '%-46s %10s %10s %10s %12s\n' "fio sequential read, second (MB/s)" "$ours_second" "$s3fs_second" "$rclone_second" "$(ratio "$ours_second" "$(best_max "$s3fs_second" "$rclone_second")")"
printf '(metadata ratio against s3fs alone: fresh %s, again %s)\n' "$(ratio "$s3fs_cold" "$ours_cold")" "$(ratio "$s3fs_warm" "$ours_warm")"
