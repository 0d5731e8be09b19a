"""Turns the benchmarks' result rows (benchmarks/.work/results/*.jsonl, written by `record` in lib.sh) into
docs/benchmarks.md: per benchmark, a table of ours, the peers and the ceilings side by side with the ratio to
the best peer and the target, and one chart (PNG) of the same rows.

    python3 benchmarks/render_report.py RESULTS_DIR OUTPUT_MD CHART_DIR
"""

import datetime
import json
import os
import platform
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["mount-peers", "mdtest", "export-latency", "fio", "fs-scale", "s3-transfer"]
TITLES = {
    "mount-peers": "Metadata through the mount: ours, s3fs and rclone on one moto bucket",
    "mdtest": "Metadata operations from one process (mdtest's phases)",
    "export-latency": "Auto-export latency under a load of small files",
    "fio": "Data through the mount (fio) and through the S3 client",
    "fs-scale": "One file system of many files (local directory repository)",
    "s3-transfer": "The S3 client against aws s3 cp and curl",
}
# Values that are ceilings or references rather than peers: shown, never counted as "the best peer".
CEILINGS = {"tmpfs", "fuse_floor", "curl", "curl_heads", "curl_list_heads", "empty"}
LABELS = {
    "ours": "ours", "s3fs": "s3fs", "rclone": "rclone", "tmpfs": "tmpfs (kernel)", "fuse_floor": "FUSE floor (null daemon)", "curl": "curl (one GET)",
    "curl_heads": "N / endpoint HeadObject rate", "curl_list_heads": "endpoint listing + N / HeadObject rate",
    "empty": "empty file system", "s3xfer_put": "s3xfer put",
    "aws_s3_cp": "aws s3 cp",
}


def load(results):
    rows = {}
    for name in sorted(os.listdir(results)):
        if name.endswith(".jsonl"):
            with open(os.path.join(results, name)) as source:
                for line in source:
                    if line.strip():
                        row = json.loads(line)
                        rows.setdefault(row["bench"], []).append(row)
    return rows


def number(value):
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def ratio_to_best_peer(row):
    values = row["values"]
    ours = values.get("ours")
    peers = [v for k, v in values.items() if k != "ours" and k not in CEILINGS and v]
    if not ours or not peers:
        return None
    if row["higher_is_better"]:
        return ours / max(peers)
    return min(peers) / ours


def chart(bench, rows, path):
    figure, axes = plt.subplots(len(rows), 1, figsize=(8, 1.1 + 1.25 * len(rows)), squeeze=False)
    for axis, row in zip(axes[:, 0], rows):
        names = [k for k, v in row["values"].items() if v is not None]
        values = [row["values"][k] for k in names]
        colours = ["#d9480f" if k == "ours" else ("#adb5bd" if k in CEILINGS else "#4263eb") for k in names]
        axis.barh([LABELS.get(k, k) for k in names], values, color=colours)
        axis.invert_yaxis()
        better = "higher is better" if row["higher_is_better"] else "lower is better"
        axis.set_title(f"{row['metric']} ({row['unit']}, {better})", fontsize=9, loc="left")
        axis.tick_params(labelsize=8)
        spread = max(values) / max(min(v for v in values if v > 0), 1e-9) if any(v > 0 for v in values) else 1
        if spread > 50:
            axis.set_xscale("log")
        for y, value in enumerate(values):
            axis.text(value, y, " " + number(value), va="center", fontsize=7)
        axis.margins(x=0.18)
    figure.suptitle(TITLES.get(bench, bench), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            memory = f"{int(info.readline().split()[1]) / 1048576:.0f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.release()}"


def versions():
    found = []
    for command in (["s3fs", "--version"], ["rclone", "version"], ["fio", "--version"], ["moto_server", "--version"]):
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
            if out:
                found.append(out[0].strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    return found


def main():
    results, output, charts = sys.argv[1:4]
    rows = load(results)
    os.makedirs(charts, exist_ok=True)
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/report` (which runs every benchmark below in one go); do not edit by hand.",
        "Every figure comes from one run on one machine, with the peers run beside ours in the same run and on",
        "the same moto server on 127.0.0.1. A ratio is ours against the best peer (above 1: ours is better);",
        "ceilings (grey in the charts) are the kernel or the endpoint itself, never peers.",
        "",
        f"- Run: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}",
    ]
    for version in versions():
        lines.append(f"- {version}")
    lines.append("")
    targets = [(bench, row) for bench in ORDER for row in rows.get(bench, []) if "target" in row]
    if targets:
        lines += ["## Targets", "", "| benchmark | what | ours | target | met |", "|---|---|---|---|---|"]
        for bench, row in targets:
            ours = row["values"].get("ours")
            lines.append(
                f"| {bench} | {row['metric']} | {number(ours)} {row['unit']} | {row['target']} | "
                f"{'yes' if row.get('met') else '**no**'} |"
            )
        met = sum(1 for _, row in targets if row.get("met"))
        lines += ["", f"{met} of {len(targets)} targets met in this run.", ""]
    for bench in ORDER + sorted(set(rows) - set(ORDER)):
        if bench not in rows:
            continue
        bench_rows = rows[bench]
        names = []
        for row in bench_rows:
            for name in row["values"]:
                if name not in names:
                    names.append(name)
        lines += [f"## {TITLES.get(bench, bench)}", "", f"`benchmarks/{bench}.sh`", ""]
        header = ["what", "unit"] + [LABELS.get(n, n) for n in names] + ["ours / best peer", "target"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in bench_rows:
            ratio = ratio_to_best_peer(row)
            cells = [row["metric"], row["unit"]] + [number(row["values"].get(n)) if n in row["values"] else "" for n in names]
            cells.append(f"{ratio:.2f}x" if ratio else "")
            cells.append((row["target"] + (" ✔" if row.get("met") else " ✘")) if "target" in row else "")
            lines.append("| " + " | ".join(cells) + " |")
        picture = os.path.join(charts, f"{bench}.png")
        chart(bench, bench_rows, picture)
        lines += ["", f"![{bench}]({os.path.relpath(picture, os.path.dirname(output))})", ""]
    with open(output, "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
