#!/usr/bin/env bash
# MPI between two compute nodes of a local cluster, as the workshop's users measure EFA: a ping-pong
# (benchmarks/mpi/pingpong.c, OSU-like) with `srun --mpi=pmix -N 2 -n 2`, its ranks on two dynamic nodes,
# beside the same program started by Open MPI's own mpirun on this machine without Slurm, once over TCP on
# loopback (the transport our nodes use between them) and once through shared memory (one host, the
# ceiling). Prints latency (1 byte, one way) and bandwidth (4 MiB) of each and our ratio to each peer.
# Needs root; installs slurm-wlm, munge and Open MPI if missing.
#
#   benchmarks/mpi-pingpong.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the local provider starts munged, slurmctld and slurmd" >&2; exit 1; }
need=()
command -v slurmctld >/dev/null || need+=(slurm-wlm munge)
command -v mpicc >/dev/null || need+=(openmpi-bin libopenmpi-dev)
[ ${#need[@]} -eq 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
swift build -c release --product pcluster >/dev/null
swift build -c release --product pcluster-agent >/dev/null
P="$(swift build -c release --show-bin-path)/pcluster"
WORK=$(mktemp -d /tmp/pcluster-mpi-XXXXXX)
chmod 755 "$WORK"
export PCLUSTER_STATE_DIR="$WORK/state" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
cleanup() {
  "$P" delete-cluster -n mpi-bench --wait >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mpicc -O2 -o "$WORK/pingpong" benchmarks/mpi/pingpong.c
cat >"$WORK/cluster.yaml" <<YAML
Region: us-east-1
Image:
  Os: alinux2023
HeadNode:
  InstanceType: c6i.2xlarge
  Networking:
    SubnetId: subnet-0123456789abcdef0
Scheduling:
  Scheduler: slurm
  SlurmQueues:
    - Name: mpi
      ComputeResources:
        - Name: cr
          Instances:
            - InstanceType: c6i.large
          MaxCount: 2
      Networking:
        SubnetIds: [subnet-0123456789abcdef0]
YAML
"$P" create-cluster -n mpi-bench -c "$WORK/cluster.yaml" --wait --query clusterStatus >/dev/null
cd "$WORK"

run() { # label command... : runs the ping-pong, keeps its table in $WORK/<label>.txt
  local label=$1
  shift
  "$@" >"$WORK/$label.txt" 2>"$WORK/$label.err" || { cat "$WORK/$label.err" >&2; exit 1; }
}
run ours "$P" ssh -n mpi-bench srun --mpi=pmix -N 2 -n 2 "$WORK/pingpong"
run tcp mpirun --allow-run-as-root -np 2 --mca btl self,tcp --mca btl_tcp_if_include lo "$WORK/pingpong"
run shm mpirun --allow-run-as-root -np 2 --mca btl self,vader "$WORK/pingpong"

python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
def table(label):
    rows = {}
    for line in open(f"{work}/{label}.txt"):
        if line.startswith("#"):
            if "rank 0 on" in line: where = line[2:].strip()
            continue
        size, latency, bandwidth = line.split()
        rows[int(size)] = (float(latency), float(bandwidth))
    return rows, where
ours, where = table("ours")
print(f"ours: srun --mpi=pmix -N 2 -n 2 ({where})")
print(f"{'':42} {'latency 1 B (us)':>17} {'bandwidth 4 MiB (MB/s)':>23}")
for label, name in [("ours", "ours, two local-cluster nodes (TCP, lo)"), ("tcp", "mpirun on this host, TCP over lo"),
                    ("shm", "mpirun on this host, shared memory")]:
    rows, _ = table(label)
    print(f"{name:42} {rows[1][0]:17.2f} {rows[4 << 20][1]:23.1f}")
for label, name in [("tcp", "mpirun TCP over lo"), ("shm", "mpirun shared memory")]:
    rows, _ = table(label)
    print(f"ratio ours / {name}: latency x{ours[1][0] / rows[1][0]:.2f}, bandwidth x{ours[4 << 20][1] / rows[4 << 20][1]:.2f}")
print("\nfull tables (bytes, one-way latency us, bandwidth MB/s):")
for label in ("ours", "tcp", "shm"):
    rows, _ = table(label)
    print(f"  {label}: " + ", ".join(f"{s}:{l:.1f}/{b:.0f}" for s, (l, b) in sorted(rows.items())))
PY
