#!/usr/bin/env bash
# Metadata operations from one process, mdtest's phases, on the same machine in one run: N empty files
# created, stat'ed, listed (readdir + stat of each) and unlinked in one directory of
#   - ours: inside an association on a moto bucket (auto-export NEW,CHANGED,DELETED), then the time until
#     every created file is an object (exports follow every change) is printed too;
#   - s3fs and rclone mount on the same moto server (Debian's packages);
#   - a tmpfs directory (the kernel's own file system: the ceiling);
#   - the FUSE floor (benchmarks/fuse-floor.c: names in memory, every request answered at once, mounted with
#     our options): what the kernel and libfuse cost any FUSE file system here, the ceiling for ours.
# Run as root (FUSE). Prints operations per second for each and our ratio to the best S3 peer.
#
#   benchmarks/mdtest.sh [files (default 2000)]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-2000}
WORK=$PWD/benchmarks/.work/mdtest
rm -rf "$WORK"; mkdir -p "$WORK"
source benchmarks/lib.sh
need_tools s3fs:s3fs rclone:rclone fusermount3:fuse3 cc:gcc pkg-config:pkg-config
pkg-config --exists fuse3 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfuse3-dev >/dev/null; }
cc -O2 -o "$WORK/fuse-floor" benchmarks/fuse-floor.c $(pkg-config --cflags --libs fuse3)
build_products fsx-admin
start_moto
TMPFS=$(mktemp -d /dev/shm/mdtest-XXXXXX)
FLOOR_PID=""
cleanup() {
  unmount_peers; unmount_ours; kill "$MOTO_PID" 2>/dev/null || true
  if [ -n "$FLOOR_PID" ]; then kill -TERM "$FLOOR_PID" 2>/dev/null && wait "$FLOOR_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"/fs-* "$WORK"/rclone-cache-* "$TMPFS"
}
trap cleanup EXIT
python3 -c "import boto3, os; boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL']).create_bucket(Bucket='mdtest')"
"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-ours" --file-system-path /dra \
  --data-repository-path s3://mdtest/ours/ --auto-export NEW,CHANGED,DELETED >/dev/null
M_OURS="$WORK/ours" M_S3FS="$WORK/s3fs" M_RCLONE="$WORK/rclone" M_FLOOR="$WORK/floor"
mount_ours "$WORK/fs-ours" "$M_OURS" dra
mount_s3fs mdtest "$M_S3FS"
mount_rclone mdtest "$M_RCLONE" writes
mkdir -p "$M_FLOOR"
"$WORK/fuse-floor" "$M_FLOOR" 2>>"$WORK/floor.log" &
FLOOR_PID=$!
PEER_MOUNTS+=("$M_FLOOR")
for _ in $(seq 200); do mountpoint -q "$M_FLOOR" && break; sleep 0.05; done
mountpoint -q "$M_FLOOR" || { echo "the FUSE floor did not mount (see $WORK/floor.log)" >&2; exit 1; }

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
    # Listed from after the names already seen in order (keys sort in creation order), so the poll stays
    # short and does not load the endpoint the exports need.
    keys = [prefix + os.path.basename(name) for name in names]
    seen, low = set(), 0
    while time.perf_counter() < deadline:
        request = {"Bucket": "mdtest", "Prefix": prefix}
        if low > 0:
            request["StartAfter"] = keys[low - 1]
        seen.update(item["Key"] for item in s3.list_objects_v2(**request).get("Contents", []))
        while low < count and keys[low] in seen:
            low += 1
        if low >= count:
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
read -r f_create f_stat f_readdir f_unlink <<<"$(phases "$M_FLOOR/bench")"

ratio() { python3 -c "print(f'{$1 / max($2, $3):.1f}x')"; }
printf '\n%d files, one process (operations/s)\n' "$FILES"
printf '%-10s %10s %10s %10s %12s %10s %12s\n' "" "ours" "s3fs" "rclone" "ours/best" "tmpfs" "FUSE floor"
printf '%-10s %10s %10s %10s %12s %10s %12s\n' create "$o_create" "$s_create" "$r_create" "$(ratio "$o_create" "$s_create" "$r_create")" "$t_create" "$f_create"
printf '%-10s %10s %10s %10s %12s %10s %12s\n' stat "$o_stat" "$s_stat" "$r_stat" "$(ratio "$o_stat" "$s_stat" "$r_stat")" "$t_stat" "$f_stat"
printf '%-10s %10s %10s %10s %12s %10s %12s\n' readdir "$o_readdir" "$s_readdir" "$r_readdir" "$(ratio "$o_readdir" "$s_readdir" "$r_readdir")" "$t_readdir" "$f_readdir"
printf '%-10s %10s %10s %10s %12s %10s %12s\n' unlink "$o_unlink" "$s_unlink" "$r_unlink" "$(ratio "$o_unlink" "$s_unlink" "$r_unlink")" "$t_unlink" "$f_unlink"
printf 'ours: every created file was an object %s s after the last create\n' "$o_export"

record "creates (open O_CREAT + close)" ops/s higher "ours=$o_create s3fs=$s_create rclone=$r_create tmpfs=$t_create fuse_floor=$f_create" "≥ 3,000/s" 3000
record "stats" ops/s higher "ours=$o_stat s3fs=$s_stat rclone=$r_stat tmpfs=$t_stat fuse_floor=$f_stat" "≥ 50,000/s" 50000
record "readdir + stat of each" entries/s higher "ours=$o_readdir s3fs=$s_readdir rclone=$r_readdir tmpfs=$t_readdir fuse_floor=$f_readdir"
record "unlinks" ops/s higher "ours=$o_unlink s3fs=$s_unlink rclone=$r_unlink tmpfs=$t_unlink fuse_floor=$f_unlink" "≥ 5,000/s" 5000
record "every created file an object, after the last create" s lower "ours=$o_export"
