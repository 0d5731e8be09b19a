#!/usr/bin/env bash
# How far a local cluster scales on this machine: one config with N dynamic nodes (default 1,000) in four
# compute resources of one queue, plus a small second queue, then
#   - create-to-ready time and describe-cluster-instances time while nothing runs;
#   - one N-node job (`sbatch -N N`): seconds from submit until it runs on all N nodes (every slurmd
#     started by the agent on Slurm's request) and until it completes, with `srun hostname` proving N
#     distinct node names;
#   - describe-cluster-instances with N nodes up;
#   - CPU seconds of slurmctld and of the node agent (and its resume programs) over the run, memory (RSS) of
#     one slurmd and of all of them;
#   - power-down: seconds until every node is powered down again after ScaledownIdletime (1 minute).
# Needs root.
#
#   benchmarks/scale.sh [N (default 1000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
[ "$(id -u)" = 0 ] || { echo "run as root: the local provider starts munged, slurmctld and slurmd" >&2; exit 1; }
command -v slurmctld >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; }
swift build -c release --product pcluster >/dev/null
swift build -c release --product pcluster-agent >/dev/null
P="$(swift build -c release --show-bin-path)/pcluster"
WORK=$(mktemp -d /tmp/pcluster-scale-XXXXXX)
chmod 755 "$WORK"
export PCLUSTER_STATE_DIR="$WORK/state" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
NAME=scale
cleanup() {
  "$P" delete-cluster -n $NAME --wait >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
per=$(( (N + 3) / 4 ))
{
  cat <<YAML
Region: us-east-1
Image:
  Os: alinux2023
HeadNode:
  InstanceType: c6i.2xlarge
  Networking:
    SubnetId: subnet-0123456789abcdef0
Scheduling:
  Scheduler: slurm
  SlurmSettings:
    ScaledownIdletime: 1
  SlurmQueues:
    - Name: big
      ComputeResources:
YAML
  for i in 1 2 3 4; do
    count=$(( i < 4 ? per : N - 3 * per ))
    printf '        - Name: cr%d\n          Instances:\n            - InstanceType: c6i.large\n          MaxCount: %d\n' "$i" "$count"
  done
  cat <<YAML
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
    - Name: small
      ComputeResources:
        - Name: cr
          Instances:
            - InstanceType: c6i.large
          MaxCount: 4
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
YAML
} >"$WORK/cluster.yaml"
cd "$WORK"
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.1f}')"; }
L="$PCLUSTER_STATE_DIR/regions/us-east-1/$NAME"
cpu() { # utime+stime seconds of a pid (0 when gone)
  [ -r "/proc/$1/stat" ] && awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat" || echo 0
}

t0=$(now)
"$P" create-cluster -n $NAME -c "$WORK/cluster.yaml" --wait --query clusterStatus >/dev/null
t1=$(now)
echo "nodes: $N dynamic in queue big (+4 in queue small)"
echo "create-cluster --wait: $(secs "$t0" "$t1") s"
ctld=$(cat "$L/run/slurmctld.pid")
agent=$(cat "$L/run/agent.pid")
ctld0=$(cpu "$ctld")
agent0=$(cpu "$agent")
t=$(now); "$P" describe-cluster-instances -n $NAME >/dev/null; echo "describe-cluster-instances (head node only): $(secs "$t" "$(now)") s"

start=$(now)
job=$("$P" ssh -n $NAME sbatch --parsable -p big -N "$N" -o hostnames.out --wrap "'srun hostname'")
running=""
for _ in $(seq 6000); do
  # squeue may time out while slurmctld is busy with 1,000 nodes: only an answer counts.
  if state=$("$P" ssh -n $NAME squeue -h -j "$job" -o %T 2>/dev/null); then
    if [ -z "$running" ] && [ "$state" = RUNNING ]; then running=$(now); fi
    [ -z "$state" ] && break
  fi
  sleep 0.2
done
done_at=$(now)
[ -n "$running" ] || running=$done_at
echo "job of $N nodes: running $(secs "$start" "$running") s after submit, completed after $(secs "$start" "$done_at") s"
echo "distinct node names from srun hostname: $(grep -E '^big-dy-' hostnames.out | sort -u | wc -l) (of $N); srun's own error lines: $(grep -c '^srun: error' hostnames.out || true)"
t=$(now); count=$("$P" describe-cluster-instances -n $NAME --query 'length(instances)'); echo "describe-cluster-instances ($count instances): $(secs "$t" "$(now)") s"
pids=$(cat "$L"/run/slurmd-*.pid 2>/dev/null || true)
python3 - $pids <<'PY'
import sys
rss = []
for pid in sys.argv[1:]:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"): rss.append(int(line.split()[1]))
    except OSError:
        pass
if rss:
    print(f"slurmd: {len(rss)} running, RSS {sum(rss)/len(rss)/1024:.1f} MiB each on average, {sum(rss)/1024/1024:.2f} GiB in all")
PY
echo "peak load average (1 min): $(cut -d' ' -f1 /proc/loadavg)"
echo "CPU over the job: slurmctld $(python3 -c "print(f'{$(cpu "$ctld") - $ctld0:.1f}')") s, node agent loop $(python3 -c "print(f'{$(cpu "$agent") - $agent0:.1f}')") s, all slurmd together $(for p in $pids; do cpu "$p"; done | awk '{s+=$1} END {printf "%.1f", s}') s"
echo "slurmctld RSS: $(awk '/VmRSS/{print $2/1024 " MiB"}' "/proc/$ctld/status")"

slurmd_alive() {
  local f
  for f in "$L"/run/slurmd-*.pid; do [ -e "$f" ] && [ -d "/proc/$(cat "$f")" ] && return 0; done
  return 1
}
down0=$(now)
for _ in $(seq 3000); do
  left=$("$P" ssh -n $NAME sinfo -h -p big -t powered_down -o %D 2>/dev/null | head -1 || true)
  [ "${left:-0}" = "$N" ] && ! slurmd_alive && break
  sleep 1
done
echo "powered down (ScaledownIdletime 1 min): $(secs "$down0" "$(now)") s after the job ended"
echo "job end to all nodes released by Slurm: $(grep -o 'completion process took [0-9]* seconds' "$L/log/slurmctld.log" | tail -1 || echo 'at once')"
