#!/usr/bin/env bash
# Data through the mount, ours against s3fs and rclone mount (Debian's packages) on the same moto bucket, in
# one run, with fio jobs:
#   - sequential read of a SIZE MiB object (default 256): first (caches dropped: from the bucket) and again;
#     one signed curl GET of the same object is the endpoint's ceiling;
#   - random 4 KiB reads of it (cached, 10 s);
#   - sequential 1 MiB writes of a new SIZE MiB file (with its fsync) and random 4 KiB writes into it (10 s);
# and a WRITE_MIB (default 1024) file written through our mount until its object is in the bucket (write,
# close, auto-export), against `s3xfer put` of the same file and our S3 client's download against curl.
# Run as root (FUSE).
#
#   benchmarks/fio.sh [size MiB (default 256)] [write MiB (default 1024)]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
WRITE_MIB=${2:-1024}
WORK=$PWD/benchmarks/.work/fio
rm -rf "$WORK"; mkdir -p "$WORK"
source benchmarks/lib.sh
need_tools s3fs:s3fs rclone:rclone fio:fio fusermount3:fuse3
build_products fsx-admin s3xfer
start_moto
cleanup() { unmount_peers; unmount_ours; kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"/fs-* "$WORK"/rclone-cache-* "$WORK"/*.bin; }
trap cleanup EXIT

head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/object.bin"
head -c $((WRITE_MIB << 20)) /dev/urandom >"$WORK/large.bin"
"$BIN/s3xfer" mb s3://fio-bench >/dev/null
"$BIN/s3xfer" put "$WORK/object.bin" s3://fio-bench/data/object.bin >/dev/null
"$BIN/fsx-admin" create-association --fs-dir "$WORK/fs-ours" --file-system-path /dra \
  --data-repository-path s3://fio-bench/ --batch-import --auto-export NEW,CHANGED,DELETED >/dev/null
M_OURS="$WORK/ours/dra" M_S3FS="$WORK/s3fs" M_RCLONE="$WORK/rclone"
mount_ours "$WORK/fs-ours" "$WORK/ours" dra/data/object.bin
mount_s3fs fio-bench "$M_S3FS"
mount_rclone fio-bench "$M_RCLONE" full

# fio_job FILE RW BS [extra fio options...] -> MB/s of the job, or "none" when it did not finish within
# JOB_LIMIT seconds (s3fs turns random writes into whole-object uploads on moto, which can take many minutes).
# A job that outlives the limit may be blocked in the peer's fsync, where even SIGKILL waits for the FUSE
# daemon: the mount's FUSE connection is then aborted (fusectl), which fails the request and frees the job.
JOB_LIMIT=${JOB_LIMIT:-180}
fio_job() {
  local file=$1 rw=$2 bs=$3 out=$WORK/fio-job.json pid waited=0 connection; shift 3
  fio --name=job --filename="$file" --rw="$rw" --bs="$bs" --size="${SIZE_MIB}M" \
    --ioengine=psync --numjobs=1 --output-format=json "$@" >"$out" 2>/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$JOB_LIMIT" ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
    if kill -0 "$pid" 2>/dev/null; then
      connection=$(mountpoint -d "$(findmnt -n -o TARGET --target "$file")" 2>/dev/null | cut -d: -f2)
      [ -n "$connection" ] && [ -e "/sys/fs/fuse/connections/$connection/abort" ] &&
        echo 1 >"/sys/fs/fuse/connections/$connection/abort"
      echo "aborted the FUSE connection of $file's mount: fio was stuck in it" >&2
    fi
    wait "$pid" 2>/dev/null || true
    echo "fio $rw on $file did not finish within $JOB_LIMIT s" >&2
    echo none
    return
  fi
  if wait "$pid"; then
    python3 -c 'import json, sys; job = json.load(sys.stdin)["jobs"][0]; side = job["read"] if job["read"]["io_bytes"] else job["write"]; print("%.1f" % (side["bw_bytes"] / 1e6))' <"$out"
  else
    echo "fio $rw on $file failed" >&2
    echo none
  fi
}
curl_get() {
  local t0 t1
  t0=$(now)
  curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "testing:testing" -o /dev/null "$AWS_ENDPOINT_URL/fio-bench/data/object.bin"
  t1=$(now)
  python3 -c "print(f'{$SIZE_MIB * 1.048576 / ($t1 - $t0):.1f}')"
}

declare -A first again randread seqwrite randwrite
for who in ours s3fs rclone; do
  case $who in ours) dir=$M_OURS ;; s3fs) dir=$M_S3FS ;; rclone) dir=$M_RCLONE ;; esac
  cold
  first[$who]=$(fio_job "$dir/data/object.bin" read 1M --readonly)
  again[$who]=$(fio_job "$dir/data/object.bin" read 1M --readonly)
  randread[$who]=$(fio_job "$dir/data/object.bin" randread 4k --readonly --time_based --runtime=10)
  seqwrite[$who]=$(fio_job "$dir/written-$who.bin" write 1M --end_fsync=1)
  randwrite[$who]=$(fio_job "$dir/written-$who.bin" randwrite 4k --time_based --runtime=10 --end_fsync=1)
  echo "$who: first ${first[$who]} again ${again[$who]} randread ${randread[$who]} write ${seqwrite[$who]} randwrite ${randwrite[$who]} MB/s" >&2
done
cold
curl_first=$(curl_get)
unmount_peers

# A large file written through our mount until it is an object (last close to auto-export), against
# s3xfer put of the same bytes; and our client's download against one curl GET.
read -r ours_write_s put_s <<<"$(python3 - "$WORK/large.bin" "$M_OURS/large.bin" "$BIN/s3xfer" <<'PY'
import boto3, os, subprocess, sys, time
source, target, s3xfer = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
size = os.path.getsize(source)
start = time.perf_counter()
with open(source, "rb") as src, open(target, "wb") as out:
    while chunk := src.read(1 << 20):
        out.write(chunk)
deadline = time.perf_counter() + 600
while time.perf_counter() < deadline:
    try:
        if s3.head_object(Bucket="fio-bench", Key="large.bin")["ContentLength"] == size:
            break
    except s3.exceptions.ClientError:
        pass
    time.sleep(0.02)
else:
    sys.exit("large.bin was never exported")
ours = time.perf_counter() - start
start = time.perf_counter()
subprocess.run([s3xfer, "put", source, "s3://fio-bench/put.bin"], check=True, stdout=subprocess.DEVNULL)
print(f"{ours:.3f} {time.perf_counter() - start:.3f}")
PY
)"
cold
t0=$(now); "$BIN/s3xfer" get s3://fio-bench/put.bin "$WORK/back.bin" >/dev/null; t1=$(now)
cmp "$WORK/back.bin" "$WORK/large.bin"
rm -f "$WORK/back.bin"
t0c=$(now); curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "testing:testing" -o "$WORK/back.bin" "$AWS_ENDPOINT_URL/fio-bench/put.bin"; t1c=$(now)
mbps() { python3 -c "print(f'{$1 * 1.048576 / $2:.1f}')"; }
download=$(mbps "$WRITE_MIB" "$(elapsed "$t0" "$t1")")
curl_download=$(mbps "$WRITE_MIB" "$(elapsed "$t0c" "$t1c")")
ours_write=$(mbps "$WRITE_MIB" "$ours_write_s")
put=$(mbps "$WRITE_MIB" "$put_s")

printf '\n%-44s %10s %10s %10s %10s\n' "MB/s, $SIZE_MIB MiB, same moto bucket" ours s3fs rclone curl
printf '%-44s %10s %10s %10s %10s\n' "sequential read, first (from the bucket)" "${first[ours]}" "${first[s3fs]}" "${first[rclone]}" "$curl_first"
printf '%-44s %10s %10s %10s\n' "sequential read, again" "${again[ours]}" "${again[s3fs]}" "${again[rclone]}"
printf '%-44s %10s %10s %10s\n' "random 4 KiB reads" "${randread[ours]}" "${randread[s3fs]}" "${randread[rclone]}"
printf '%-44s %10s %10s %10s\n' "sequential write + fsync" "${seqwrite[ours]}" "${seqwrite[s3fs]}" "${seqwrite[rclone]}"
printf '%-44s %10s %10s %10s\n' "random 4 KiB writes + fsync" "${randwrite[ours]}" "${randwrite[s3fs]}" "${randwrite[rclone]}"
printf '\n%d MiB: written through our mount until exported %s MB/s, s3xfer put %s MB/s\n' "$WRITE_MIB" "$ours_write" "$put"
printf '%d MiB download: s3xfer get %s MB/s, one curl GET %s MB/s\n' "$WRITE_MIB" "$download" "$curl_download"

record "sequential read, first (from the bucket)" MB/s higher "ours=${first[ours]} s3fs=${first[s3fs]} rclone=${first[rclone]} curl=$curl_first" "≥ 0.7× one curl GET" 0.7 curl
record "sequential read, again" MB/s higher "ours=${again[ours]} s3fs=${again[s3fs]} rclone=${again[rclone]}"
record "random 4 KiB reads" MB/s higher "ours=${randread[ours]} s3fs=${randread[s3fs]} rclone=${randread[rclone]}"
record "sequential write + fsync" MB/s higher "ours=${seqwrite[ours]} s3fs=${seqwrite[s3fs]} rclone=${seqwrite[rclone]}"
record "random 4 KiB writes + fsync" MB/s higher "ours=${randwrite[ours]} s3fs=${randwrite[s3fs]} rclone=${randwrite[rclone]}"
record "$WRITE_MIB MiB written through the mount until exported" MB/s higher "ours=$ours_write s3xfer_put=$put" "≥ 0.7× s3xfer put" 0.7 s3xfer_put
record "$WRITE_MIB MiB download (our S3 client)" MB/s higher "ours=$download curl=$curl_download" "≥ 0.85× one curl GET" 0.85 curl
