#!/usr/bin/env bash
# Auto-export latency under load: one process writes N small files (default 1,000, 4 KiB each) as fast as it
# can into an association with AutoExportPolicy NEW,CHANGED,DELETED on a moto bucket, and a second thread
# lists the prefix over and over (from after the names already seen). For each file: the time from its last
# close until its object was first listed (an upper bound: it includes up to one listing's time). Prints p50, p99 and the slowest, then the
# same for N changes (each file rewritten) and N deletes.
# Run as root (FUSE).
#
#   benchmarks/export-latency.sh [files (default 1000)]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-1000}
WORK=$PWD/benchmarks/.work/export-latency
rm -rf "$WORK"; mkdir -p "$WORK"
source benchmarks/lib.sh
need_tools fusermount3:fuse3
build_products fsx-admin
start_moto
cleanup() { unmount_ours; kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"/fs-*; }
trap cleanup EXIT
python3 -c "import boto3, os; boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL']).create_bucket(Bucket='latency')"
"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-ours" --file-system-path /dra \
  --data-repository-path s3://latency/ --auto-export NEW,CHANGED,DELETED >/dev/null
mount_ours "$WORK/fs-ours" "$WORK/ours" dra

read -r new50 new99 newmax change50 change99 changemax delete50 delete99 deletemax < <(
python3 - "$WORK/ours/dra/load" "$FILES" <<'PY'
import boto3, os, sys, threading, time
directory, count = sys.argv[1], int(sys.argv[2])
os.makedirs(directory)
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
names = [f"f{i:05d}" for i in range(count)]
payload = os.urandom(4096)

def phase(act, arrived):
    """Runs act(name) for every name, noting each one's time; returns each name's latency (s) until
    arrived(name, objects) holds. A poller lists the prefix in a loop, from after the names already seen
    (keys sort in writing order), 200 keys at a time, so the endpoint is not kept busy by it: when every
    key exists (a change, a delete), a full page of 1,000 every 20 ms took much of moto's CPU from the
    exports it was meant to time."""
    closed, seen = {}, {}
    done = threading.Event()
    def poll():
        deadline = time.perf_counter() + 120
        low = 0
        while time.perf_counter() < deadline:
            while low < count and names[low] in seen:
                low += 1
            if low == count and done.is_set():
                return
            request = {"Bucket": "latency", "Prefix": "load/", "MaxKeys": 200}
            if low > 0:
                request["StartAfter"] = "load/" + names[low - 1]
            page = s3.list_objects_v2(**request)
            moment = time.perf_counter()
            found = {item["Key"][len("load/"):]: item["ETag"] for item in page.get("Contents", [])}
            horizon = page["Contents"][-1]["Key"][len("load/"):] if page.get("IsTruncated") else None
            for name in names[low:]:
                if horizon is not None and name > horizon:
                    break
                if name not in seen and name in closed and arrived(name, found):
                    seen[name] = moment
            time.sleep(0.02)
    poller = threading.Thread(target=poll)
    poller.start()
    for name in names:
        act(name)
        closed[name] = time.perf_counter()
    done.set()
    poller.join()
    missing = count - len(seen)
    if missing:
        print(f"{missing} of {count} never arrived within 120 s", file=sys.stderr)
        sys.exit(1)
    return sorted(seen[n] - closed[n] for n in names)

def write(name, data):
    with open(os.path.join(directory, name), "wb") as out:
        out.write(data)

def percentiles(values):
    return [values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))], values[-1]]

import hashlib
new = phase(lambda n: write(n, payload), lambda n, found: n in found)
changed_payload = os.urandom(4096)
changed_etag = '"' + hashlib.md5(changed_payload).hexdigest() + '"'
change = phase(lambda n: write(n, changed_payload), lambda n, found: found.get(n) == changed_etag)
delete = phase(lambda n: os.unlink(os.path.join(directory, n)), lambda n, found: n not in found)
print(" ".join(f"{v:.3f}" for v in percentiles(new) + percentiles(change) + percentiles(delete)))
PY
)

# The endpoint's own rate for the same PUTs (4 KiB, 16 at a time, curl): at it, N files take N / rate
# seconds to reach the bucket whoever sends them, which bounds the latency of the last ones.
head -c 4096 /dev/urandom >"$WORK/payload"
python3 - "$FILES" "$WORK/payload" >"$WORK/puts.curl" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    print(f'url = "{os.environ["AWS_ENDPOINT_URL"]}/latency/curl/f{i:05d}"')
    print(f'upload-file = "{sys.argv[2]}"')
    print("output = /dev/null")
PY
t0=$(now)
curl --no-progress-meter -f --parallel --parallel-max 16 --aws-sigv4 "aws:amz:us-east-1:s3" --user testing:testing \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -K "$WORK/puts.curl"
t1=$(now)
put_rate=$(python3 -c "print(f'{$FILES / ($t1 - $t0):.0f}')")

printf '\nauto-export latency, %d files of 4 KiB written by one process as fast as it can (s after the last close)\n' "$FILES"
printf '%-8s %8s %8s %8s\n' "" p50 p99 slowest
printf '%-8s %8s %8s %8s\n' new "$new50" "$new99" "$newmax"
printf '%-8s %8s %8s %8s\n' changed "$change50" "$change99" "$changemax"
printf '%-8s %8s %8s %8s\n' deleted "$delete50" "$delete99" "$deletemax"
printf 'the endpoint takes %s PUT/s of 4 KiB (curl, 16 at a time): %d files need %s s at least\n' "$put_rate" "$FILES" \
  "$(python3 -c "print(f'{$FILES / $put_rate:.2f}')")"
record "new file exported, p50" s lower "ours=$new50"
record "the endpoint's PUT rate (curl, 4 KiB, 16 at a time)" PUT/s higher "curl=$put_rate"
record "new file exported, p99" s lower "ours=$new99" "p99 ≤ 1 s" 1
record "changed file exported, p99" s lower "ours=$change99" "p99 ≤ 1 s" 1
record "deleted file removed, p99" s lower "ours=$delete99" "p99 ≤ 1 s" 1
