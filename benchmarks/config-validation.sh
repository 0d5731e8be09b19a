#!/usr/bin/env bash
# Times config validation: the original pcluster (pip, in a venv made here) against ours, on the
# same pre-expanded configs, in one run on this machine. The original needs an AWS endpoint for its
# cloud-backed validators, so a moto server is started on 127.0.0.1 and stopped (by PID) at exit.
#
#   benchmarks/config-validation.sh [runs-of-the-original (default 5)]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
WORK=benchmarks/.work
mkdir -p "$WORK"

if [ ! -x "$WORK/venv/bin/pcluster" ]; then
  echo "installing the original pcluster into $WORK/venv ..." >&2
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet aws-parallelcluster
fi
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
# Statically linked Swift runtime: halves start-up time (no dynamic loading of libswiftCore and Foundation).
swift build -c release --static-swift-stdlib --product pcluster >/dev/null
OURS="$(swift build -c release --static-swift-stdlib --show-bin-path)/pcluster"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break; sleep 0.1; done

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export SUBNET_ID=subnet-0123456789abcdef0 FSX_FS_ID=fs-0123456789abcdef0
# Same bytes for both tools: the original does not expand $VARIABLES, and refuses alinux2.
sed -e "s/\$SUBNET_ID/$SUBNET_ID/g" -e "s/\$FSX_FS_ID/$FSX_FS_ID/g" -e 's/Os: alinux2$/Os: alinux2023/' examples/cluster.yaml >"$WORK/valid.yaml"
sed 's/MaxCount: 2/MaxCont: 2/' "$WORK/valid.yaml" >"$WORK/schema-error.yaml"
python3 - "$WORK/wide.yaml" <<'PY'
import sys
queues = []
for q in range(50):
    crs = "".join(f"""
        - Name: cr{c}
          InstanceType: c5.xlarge
          MinCount: 0
          MaxCount: 10""" for c in range(50))
    queues.append(f"""
    - Name: q{q}
      ComputeResources:{crs}
      Networking:
        SubnetIds:
          - subnet-0123456789abcdef0""")
open(sys.argv[1], "w").write(f"""Region: us-east-1
Image:
  Os: alinux2023
HeadNode:
  InstanceType: c6i.2xlarge
  Networking:
    SubnetId: subnet-0123456789abcdef0
  Ssh:
    KeyName: k
Scheduling:
  Scheduler: slurm
  SlurmQueues:{''.join(queues)}
""")
PY

python3 - "$RUNS" "$WORK/venv/bin/pcluster" "$OURS" "$WORK" <<'PY'
import statistics, subprocess, sys, time
runs, original, ours, work = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def median_seconds(cmd, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

def dryrun(tool, config):
    return [tool, "create-cluster", "-n", "demo", "-c", config, "--dryrun", "true"]

print(f"{'config':<34}{'original':>12}{'ours':>12}{'ratio':>10}")
for label, config in [("workshop config (valid)", f"{work}/valid.yaml"), ("workshop config, schema error", f"{work}/schema-error.yaml")]:
    a = median_seconds(dryrun(original, config), runs)
    b = median_seconds(dryrun(ours, config), max(runs * 4, 20))
    print(f"{label:<34}{a * 1000:>10.0f}ms{b * 1000:>10.1f}ms{a / b:>9.0f}x")
# Both asking AWS (the moto server) about the config's subnet, key pair, instance types, FSx: ours with the AWS
# provider's resource validators, run concurrently.
a = median_seconds(dryrun(original, f"{work}/valid.yaml"), runs)
b = median_seconds(dryrun(ours, f"{work}/valid.yaml") + ["--provider", "aws"], max(runs * 4, 20))
print(f"{'workshop config, both asking AWS':<34}{a * 1000:>10.0f}ms{b * 1000:>10.1f}ms{a / b:>9.0f}x")
w = median_seconds(dryrun(ours, f"{work}/wide.yaml"), 20)
print(f"{'50 queues x 50 compute resources':<34}{'(over its cap)':>12}{w * 1000:>10.1f}ms")
print("(median wall time of whole process runs; the original's valid-config run includes its cloud calls to the local moto server)")
PY
