#!/usr/bin/env bash
# Local provider timings, in one run on this machine (needs root; installs slurm-wlm and munge if missing):
#   - create-to-ready: `pcluster create-cluster --wait` on the seed's config;
#   - submit-to-done of `sbatch -N 2 --wrap true` on powered-down dynamic nodes, with our default
#     (a PrologSlurmctld that returns when the nodes are up) and with Slurm 22.05's own behaviour
#     (PCLUSTER_SLURM_FAST_START=false), measured the same way;
#   - the memory (RSS) of one idle compute node process (slurmd).
#
#   benchmarks/local-cluster.sh [rounds (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
[ "$(id -u)" = 0 ] || { echo "run as root: the local provider starts munged, slurmctld and slurmd" >&2; exit 1; }
command -v slurmctld >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; }
swift build -c release --product pcluster >/dev/null
swift build -c release --product pcluster-agent >/dev/null
BIN="$(swift build -c release --show-bin-path)"
P="$BIN/pcluster"
WORK=$(mktemp -d /tmp/pcluster-bench-XXXXXX)
# munged insists that every directory above its socket is traversable by all users.
chmod 755 "$WORK"
export PCLUSTER_STATE_DIR="$WORK/state" SUBNET_ID=subnet-0123456789abcdef0
# The seed's config mounts an FSx file system: a local FSx service of this run's own provides it.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
FSX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ENDPOINT_URL_FSX="http://127.0.0.1:$FSX_PORT"
swift build -c release --product fsxd >/dev/null
"$(swift build -c release --show-bin-path)/fsxd" --port "$FSX_PORT" --state-directory "$WORK/fsx" >"$WORK/fsxd.log" 2>&1 &
FSXD_PID=$!
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$FSX_PORT),0.2)" 2>/dev/null && break; sleep 0.1; done
FSX_FS_ID=$(aws fsx create-file-system --file-system-type LUSTRE --storage-capacity 1200 --subnet-ids "$SUBNET_ID" \
  --endpoint-url "$AWS_ENDPOINT_URL_FSX" --query FileSystem.FileSystemId --output text)
export FSX_FS_ID
cleanup() {
  for c in fast slurm; do "$P" delete-cluster -n "bench-$c" --wait >/dev/null 2>&1 || true; done
  kill -TERM "$FSXD_PID" 2>/dev/null && wait "$FSXD_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# Submits `true` on two powered-down nodes and prints seconds until the job is COMPLETED.
job_latency() {
  local cluster=$1 start id state
  start=$(now)
  id=$("$P" ssh -n "$cluster" sbatch --parsable -N 2 --wrap true)
  for _ in $(seq 1200); do
    state=$("$P" ssh -n "$cluster" scontrol show job "$id" | grep -o 'JobState=[A-Z]*' || true)
    [ "$state" = JobState=COMPLETED ] && break
    sleep 0.05
  done
  elapsed "$start" "$(now)"
}

# Waits until every dynamic node is powered down again, so the next round starts cold.
cold() {
  local cluster=$1
  "$P" ssh -n "$cluster" scontrol update nodename=ALL state=power_down_force reason=benchmark >/dev/null 2>&1 || true
  for _ in $(seq 600); do
    [ "$("$P" ssh -n "$cluster" sinfo -h -o %t | sort -u)" = "idle~" ] && return
    sleep 0.2
  done
}

declare -A LAT
for mode in fast slurm; do
  fast=true; [ $mode = slurm ] && fast=false
  start=$(now)
  PCLUSTER_SLURM_FAST_START=$fast "$P" create-cluster -n "bench-$mode" -c "$OLDPWD/examples/cluster.yaml" --wait >/dev/null 2>&1
  eval "create_$mode=$(elapsed "$start" "$(now)")"
  samples=()
  for _ in $(seq "$ROUNDS"); do
    samples+=("$(job_latency "bench-$mode")")
    cold "bench-$mode"
  done
  LAT[$mode]=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$mode: job latencies ${samples[*]} s" >&2
done

# One compute node up and idle: its slurmd's resident memory.
"$P" ssh -n bench-fast scontrol update nodename=c6i-dy-compute-1 state=power_up >/dev/null
for _ in $(seq 100); do [ "$("$P" ssh -n bench-fast sinfo -h -n c6i-dy-compute-1 -o %t)" = idle ] && break; sleep 0.1; done
sleep 1
pid=$(cat "$PCLUSTER_STATE_DIR/regions/us-east-1/bench-fast/run/slurmd-c6i-dy-compute-1.pid")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

printf '\n%-52s %10s\n' "local cluster (seed config, 2 dynamic c6i.32xlarge)" "seconds"
printf '%-52s %10s\n' "create-cluster --wait (create to ready)" "$create_fast"
printf '%-52s %10s\n' "submit to done, powered-down nodes, Slurm's default" "${LAT[slurm]}"
printf '%-52s %10s\n' "submit to done, powered-down nodes, ours" "${LAT[fast]}"
printf '%-52s %9sx\n' "speed-up" "$(python3 -c "print(f'{${LAT[slurm]} / ${LAT[fast]}:.1f}')")"
printf '%-52s %7s MiB\n' "memory of one idle compute node (slurmd RSS)" "$(python3 -c "print(f'{$rss / 1024:.1f}')")"
