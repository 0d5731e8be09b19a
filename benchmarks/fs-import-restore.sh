#!/usr/bin/env bash
# The file system core against peers on the same moto server on 127.0.0.1, in one run:
#  1. import: a bucket of N objects (default 10,000) with FSx POSIX metadata. Ours: create a data repository
#     association with BatchImportMetaDataOnCreate (listing + a HeadObject per object for the attributes).
#     s3fs: mount the bucket and `ls -lR` it (listing + a HEAD per object for the attributes).
#  2. first read of a 256 MiB released file (restore by parallel ranged GETs) vs a plain download of the
#     same object by parallel ranged GETs (s3xfer) and by one GET (curl).
# Run as root (s3fs mounts through FUSE). Prints objects/s, MB/s and the ratios.
#
#   benchmarks/fs-import-restore.sh [objects (default 10000)] [file MiB (default 256)]
set -euo pipefail
cd "$(dirname "$0")/.."
OBJECTS=${1:-10000}
SIZE_MIB=${2:-256}
WORK=$PWD/benchmarks/.work/fs-import-restore
rm -rf "$WORK"; mkdir -p "$WORK"
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
command -v s3fs >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq s3fs fuse3 >/dev/null
swift build -c release --product fsx-admin >/dev/null
swift build -c release --product s3xfer >/dev/null
BIN="$(swift build -c release --show-bin-path)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
MNT="$WORK/s3fs-mount"
cleanup() {
  mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || true
  kill "$MOTO_PID" 2>/dev/null || true
  rm -rf "$WORK"/fs-* "$WORK"/*.bin
}
trap cleanup EXIT
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1

echo "filling s3://import-bench with $OBJECTS objects with FSx metadata ..." >&2
python3 - "$OBJECTS" <<'PY'
import boto3, os, sys
from concurrent.futures import ThreadPoolExecutor
count = int(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="import-bench")
def put(i):
    s3.put_object(Bucket="import-bench", Key=f"dir{i % 100:03d}/file{i:06d}.dat", Body=b"x" * (i % 4096),
                  Metadata={"file-permissions": "0100640", "file-owner": str(1000 + i % 7), "file-group": "100",
                            "file-mtime": "1595002920000000000ns", "file-atime": "1595002920000000000ns"})
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(count)))
PY

# bash's own clock: a timer that started an interpreter would add its start-up (0.12 s here) to every interval.
now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

# 1. Import: ours prints when the namespace was complete (names, sizes, released stubs) and when every
# attribute had arrived; s3fs is timed for `ls -R` (names) and `ls -lR` (attributes) on fresh mounts.
"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-import" --file-system-path /dra \
  --data-repository-path s3://import-bench >/dev/null
t0=$(now)
report=$("$BIN/fsx-admin" import --fs-dir "$WORK/fs-import")
t1=$(now)
ours_import=$(elapsed "$t0" "$t1")
ours_namespace=$(echo "$report" | sed -n 's/.*namespace in \([0-9.]*\) s.*/\1/p')
ours_count=$(for d in $("$BIN/fsx-admin" ls --fs-dir "$WORK/fs-import" /dra | awk '{print $5}'); do
  "$BIN/fsx-admin" ls --fs-dir "$WORK/fs-import" "/dra/$d" | awk '$1 == "100640" && $2 >= 1000'; done | wc -l)
[ "$ours_count" -eq "$OBJECTS" ] || { echo "ours imported $ours_count of $OBJECTS with their attributes" >&2; exit 1; }

mkdir -p "$MNT"
echo "testing:testing" >"$WORK/passwd"; chmod 600 "$WORK/passwd"
s3fs_mount() { s3fs import-bench "$MNT" -o url="$AWS_ENDPOINT_URL",use_path_request_style,passwd_file="$WORK/passwd"; }
s3fs_mount
t0=$(now); s3fs_names=$(ls -R "$MNT" | grep -c '\.dat$'); t1=$(now)
s3fs_namespace=$(elapsed "$t0" "$t1")
fusermount3 -u "$MNT"
s3fs_mount
t0=$(now); s3fs_count=$(ls -lR "$MNT" | grep -c '^-'); t1=$(now)
s3fs_import=$(elapsed "$t0" "$t1")
fusermount3 -u "$MNT"
[ "$s3fs_count" -eq "$OBJECTS" ] && [ "$s3fs_names" -eq "$OBJECTS" ] || echo "note: s3fs listed $s3fs_names / $s3fs_count of $OBJECTS files" >&2

rate() { python3 -c "print(f'{$1 / $2:9.0f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.1f}')"; }
printf '\nimport of %d objects with FSx metadata (moto on 127.0.0.1)\n' "$OBJECTS"
printf '  %-44s %8.3f s %s objects/s\n' "ours: every name in the namespace" "$ours_namespace" "$(rate "$OBJECTS" "$ours_namespace")"
printf '  %-44s %8.3f s %s objects/s\n' "s3fs: ls -R (names)" "$s3fs_namespace" "$(rate "$OBJECTS" "$s3fs_namespace")"
printf '  ratio (names): %sx\n' "$(ratio "$s3fs_namespace" "$ours_namespace")"
printf '  %-44s %8.3f s %s objects/s\n' "ours: every attribute (a HeadObject each)" "$ours_import" "$(rate "$OBJECTS" "$ours_import")"
printf '  %-44s %8.3f s %s objects/s\n' "s3fs: ls -lR (a HEAD each)" "$s3fs_import" "$(rate "$OBJECTS" "$s3fs_import")"
printf '  ratio (attributes): %sx\n' "$(ratio "$s3fs_import" "$ours_import")"

# 2. First read of a released file vs a plain download
head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/source.bin"
"$BIN/s3xfer" mb s3://read-bench >/dev/null
"$BIN/s3xfer" put "$WORK/source.bin" s3://read-bench/big.bin >/dev/null
best_of=3
ours_best=""; plain_best=""; curl_best=""
for round in $(seq $best_of); do
  rm -rf "$WORK/fs-read"
  "$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-read" --file-system-path /dra \
    --data-repository-path s3://read-bench --batch-import >/dev/null
  cold() { sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
  cold
  # The reader discards what it read (the data's copy is the cache file, as the download's is its file);
  # the bytes are compared afterwards from the restored file.
  t0=$(now); "$BIN/fsx-admin" cat --fs-dir "$WORK/fs-read" /dra/big.bin >/dev/null; t1=$(now)
  ours=$(elapsed "$t0" "$t1")
  "$BIN/fsx-admin" cat --fs-dir "$WORK/fs-read" /dra/big.bin >"$WORK/ours.bin"
  cmp "$WORK/source.bin" "$WORK/ours.bin"
  cold
  t0=$(now); "$BIN/s3xfer" get s3://read-bench/big.bin "$WORK/plain.bin" >/dev/null; t1=$(now)
  plain=$(elapsed "$t0" "$t1")
  cmp "$WORK/source.bin" "$WORK/plain.bin"
  cold
  t0=$(now); curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "testing:testing" -o "$WORK/curl.bin" "$AWS_ENDPOINT_URL/read-bench/big.bin"; t1=$(now)
  single=$(elapsed "$t0" "$t1")
  rm -f "$WORK"/ours.bin "$WORK"/plain.bin "$WORK"/curl.bin
  [ -z "$ours_best" ] || python3 -c "import sys; sys.exit(0 if $ours < $ours_best else 1)" && ours_best=$ours
  [ -z "$plain_best" ] || python3 -c "import sys; sys.exit(0 if $plain < $plain_best else 1)" && plain_best=$plain
  [ -z "$curl_best" ] || python3 -c "import sys; sys.exit(0 if $single < $curl_best else 1)" && curl_best=$single
done
mbps() { python3 -c "print(f'{$SIZE_MIB * 1.048576 / $1:8.1f}')"; }
printf '\nfirst read of a %d MiB released file (best of %d; each includes process start)\n' "$SIZE_MIB" "$best_of"
printf '  %-38s %s MB/s\n' "ours (fsx-admin cat: restore + read)" "$(mbps "$ours_best")"
printf '  %-38s %s MB/s\n' "plain ranged-GET download (s3xfer)" "$(mbps "$plain_best")"
printf '  %-38s %s MB/s\n' "one plain GET (curl)" "$(mbps "$curl_best")"
printf '  ratio: %s of the ranged-GET download\n' "$(python3 -c "print(f'{$plain_best / $ours_best:.2f}x')")"
