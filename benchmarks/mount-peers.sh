#!/usr/bin/env bash
# Metadata through the mount: ours against s3fs and rclone mount (Debian's packages) on the same moto bucket
# of N objects with FSx metadata (default 10,000), in one run:
#   - `ls -lR` on a fresh mount (ours: the association's import, then the listing): every name and every
#     object's attributes, one HeadObject each for all three;
#   - the endpoint's own HeadObject rate, measured in the same run by curl (--parallel, SigV4) at our import's
#     concurrency (64), and its listing of the bucket (ListObjectsV2, 1,000 keys a page, by curl): every mount
#     lists and then asks for each object's attributes, so the listing plus N divided by the HeadObject rate
#     is the floor no mount can beat (N / HeadObject rate alone is printed too);
#   - `ls -lR` again on the same mount, and of the same tree as plain files on the local disk.
# Data through the mount is benchmarks/fio.sh. Run as root (FUSE).
#
#   benchmarks/mount-peers.sh [objects (default 10000)]
set -euo pipefail
cd "$(dirname "$0")/.."
OBJECTS=${1:-10000}
CONCURRENCY=64
WORK=$PWD/benchmarks/.work/mount-peers
rm -rf "$WORK"; mkdir -p "$WORK"
source benchmarks/lib.sh
need_tools s3fs:s3fs rclone:rclone fusermount3:fuse3 curl:curl
build_products fsx-admin
start_moto
cleanup() { unmount_peers; unmount_ours; kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"/fs-* "$WORK"/rclone-cache-* "$WORK"/local; }
trap cleanup EXIT

echo "filling s3://peer-bench with $OBJECTS small objects with FSx metadata ..." >&2
python3 - "$OBJECTS" <<'PY'
import boto3, os, sys
from concurrent.futures import ThreadPoolExecutor
count = int(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
s3.create_bucket(Bucket="peer-bench")
meta = {"file-permissions": "0100640", "file-owner": "1000", "file-group": "100",
        "file-mtime": "1595002920000000000ns", "file-atime": "1595002920000000000ns"}
def put(i):
    s3.put_object(Bucket="peer-bench", Key=f"meta/dir{i % 100:03d}/file{i:06d}.dat", Body=b"x" * (i % 4096), Metadata=meta)
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(count)))
PY

count_files() { grep -c '^-' || true; }
check_count() { [ "$2" -eq "$OBJECTS" ] || echo "note: $1 listed $2 of $OBJECTS files" >&2; }

# The endpoint's HeadObject rate: one HEAD per object, CONCURRENCY at a time, by curl.
python3 - "$OBJECTS" >"$WORK/heads.curl" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    print(f'url = "{os.environ["AWS_ENDPOINT_URL"]}/peer-bench/meta/dir{i % 100:03d}/file{i:06d}.dat"')
    print("output = /dev/null")
PY
t0=$(now)
curl --no-progress-meter -f --head --parallel --parallel-max "$CONCURRENCY" --aws-sigv4 "aws:amz:us-east-1:s3" --user testing:testing \
  -K "$WORK/heads.curl"
t1=$(now)
heads_s=$(elapsed "$t0" "$t1")
head_rate=$(python3 -c "print(f'{$OBJECTS / $heads_s:.0f}')")

# The endpoint's listing of the same keys: ListObjectsV2 page by page, each page fetched by curl.
t0=$(now)
listed=$(python3 - <<'PY'
import os, re, subprocess, urllib.parse
endpoint, token, keys = os.environ["AWS_ENDPOINT_URL"], None, 0
while True:
    url = f"{endpoint}/peer-bench?list-type=2&max-keys=1000"
    if token:
        url += "&continuation-token=" + urllib.parse.quote(token, safe="")
    page = subprocess.run(["curl", "--no-progress-meter", "-f", "--aws-sigv4", "aws:amz:us-east-1:s3",
                           "--user", "testing:testing", url], check=True, capture_output=True, text=True).stdout
    keys += page.count("<Key>")
    found = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", page)
    if not found:
        break
    token = found.group(1)
print(keys)
PY
)
t1=$(now)
list_s=$(elapsed "$t0" "$t1")
[ "$listed" -eq "$OBJECTS" ] || echo "note: the endpoint listed $listed of $OBJECTS keys" >&2
floor_s=$(python3 -c "print(f'{$list_s + $heads_s:.2f}')")

t0=$(now)
"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-ours" --file-system-path /dra \
  --data-repository-path s3://peer-bench --batch-import >/dev/null
mount_ours "$WORK/fs-ours" "$WORK/ours" dra/meta
n=$(ls -lR "$WORK/ours/dra/meta" | count_files); t1=$(now)
ours_cold=$(elapsed "$t0" "$t1"); check_count ours "$n"
t0=$(now); ls -lR "$WORK/ours/dra/meta" >/dev/null; t1=$(now); ours_warm=$(elapsed "$t0" "$t1")
unmount_ours

mount_s3fs peer-bench "$WORK/s3fs"
t0=$(now); n=$(ls -lR "$WORK/s3fs/meta" | count_files); t1=$(now); s3fs_cold=$(elapsed "$t0" "$t1"); check_count s3fs "$n"
t0=$(now); ls -lR "$WORK/s3fs/meta" >/dev/null; t1=$(now); s3fs_warm=$(elapsed "$t0" "$t1")
mount_rclone peer-bench "$WORK/rclone" full
t0=$(now); n=$(ls -lR "$WORK/rclone/meta" | count_files); t1=$(now); rclone_cold=$(elapsed "$t0" "$t1"); check_count rclone "$n"
t0=$(now); ls -lR "$WORK/rclone/meta" >/dev/null; t1=$(now); rclone_warm=$(elapsed "$t0" "$t1")
unmount_peers

# The kernel's own file system on this machine's disk: the same tree as plain files, listed warm. What a
# mount's warm listing cannot beat (ls itself formats every line).
python3 - "$OBJECTS" "$WORK/local" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    directory = f"{sys.argv[2]}/meta/dir{i % 100:03d}"
    os.makedirs(directory, exist_ok=True)
    with open(f"{directory}/file{i:06d}.dat", "wb") as f:
        f.write(b"x" * (i % 4096))
PY
ls -lR "$WORK/local/meta" >/dev/null
t0=$(now); ls -lR "$WORK/local/meta" >/dev/null; t1=$(now); local_warm=$(elapsed "$t0" "$t1")

ratio() { python3 -c "print(f'{min($2, $3) / $1:.2f}x')"; }
printf '\n%-50s %9s %9s %9s %10s\n' "seconds, same moto bucket" ours s3fs rclone "best/ours"
printf '%-50s %9s %9s %9s %10s\n' "ls -lR of $OBJECTS files, fresh mount (ours: +import)" "$ours_cold" "$s3fs_cold" "$rclone_cold" "$(ratio "$ours_cold" "$s3fs_cold" "$rclone_cold")"
printf '%-50s %9s %9s %9s %10s\n' "ls -lR again on the same mount" "$ours_warm" "$s3fs_warm" "$rclone_warm" "$(ratio "$ours_warm" "$s3fs_warm" "$rclone_warm")"
printf 'the same tree on the local disk lists warm in %s s\n' "$local_warm"
printf 'the endpoint: %s HeadObject/s at concurrency %d (curl): %s s for %d; ours took %sx that\n' \
  "$head_rate" "$CONCURRENCY" "$heads_s" "$OBJECTS" "$(python3 -c "print(f'{$ours_cold / $heads_s:.2f}')")"
printf 'the endpoint lists the %d keys in %s s (curl): with the HeadObject calls, %s s; ours took %sx that\n' \
  "$OBJECTS" "$list_s" "$floor_s" "$(python3 -c "print(f'{$ours_cold / $floor_s:.2f}')")"

record "ls -lR of $OBJECTS files, fresh mount (ours: import + listing)" s lower \
  "ours=$ours_cold s3fs=$s3fs_cold rclone=$rclone_cold" "1.3× faster than the best peer" 0.769 s3fs,rclone
record "the same against N / the endpoint's HeadObject rate ($head_rate/s, curl)" s lower \
  "ours=$ours_cold curl_heads=$heads_s"
record "the same against the endpoint's listing + N / its HeadObject rate (curl)" s lower \
  "ours=$ours_cold curl_list_heads=$floor_s" "within 1.15× of the listing + N / HeadObject rate" 1.15 curl_list_heads
record "ls -lR of $OBJECTS files again, same mount" s lower \
  "ours=$ours_warm s3fs=$s3fs_warm rclone=$rclone_warm local_disk=$local_warm" "≤ 0.15 s" 0.15
