#!/usr/bin/env bash
# The suite's fault tests, run longer: CHAOS_TRIALS trials per fault (default 100), as root.
#   - fsxd killed (kill -9) at a random moment of an association create (batch import + event feed) or delete,
#     restarted, and checked: associations AVAILABLE with every file imported, notification entries and SQS
#     queues exactly those of the live associations, no file system directory without a record;
#   - fsxd (which serves the mount) killed at a random moment of an import, export or release task or of
#     restores (readers of every released file), restarted,
#     and checked against a model: no task left running, the task run again succeeds, mount and bucket hold
#     the model's files and bytes, no file claims an archived copy it lacks, no multipart upload left open;
#   - the endpoint refusing connections (a relay in front of moto killed, later started again): a reader of a
#     released file gets an error at once while cached data and metadata answer, and once the endpoint is
#     back a file written meanwhile is exported and an object put meanwhile is imported;
#   - the endpoint frozen (moto SIGSTOPped with its connections open) under a reader of a released file through
#     the mount: the reader must get EIO within the read timeout (6 s here) while cached data and metadata
#     answer, and the file must read whole once the endpoint answers; the longest wait is printed;
#   - a random process of a local cluster killed during create and scale-up, then delete-cluster --wait (or a
#     cluster process) killed while it runs: the delete, or a second one, must leave no process, cgroup, port or
#     file.
# Prints one line per fault: trials, failures (and the longest wait a reader saw), then exits non-zero if any
# trial failed. The full output (one line per trial) is kept in benchmarks/.work/chaos.log.
#
#   benchmarks/chaos.sh [trials per fault (default 100)]
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-100}
if [ "$(id -u)" != 0 ]; then echo "run as root: the faults need FUSE mounts, munged, slurmctld and slurmd" >&2; exit 2; fi
command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]'
mkdir -p benchmarks/.work
LOG=benchmarks/.work/chaos.log
: >"$LOG"
swift build --build-tests >/dev/null
status=0
for filter in FSxChaosTests FSxTaskChaosTests FrozenEndpointTests RefusedEndpointTests \
  killedAtRandomWhileCreatingAndScalingTheClusterIsStillDeletedWhole; do
  CHAOS_TRIALS=$TRIALS swift test --skip-build --filter "$filter" >>"$LOG" 2>&1 || status=1
done
grep -E '^chaos [a-z ]+: trials' "$LOG"
exit $status
