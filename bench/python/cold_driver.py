"""Cold start, from process start to the first decision, and peak RSS: runs each
command RUNS times (a new process each time) and prints one JSON object.

    python cold_driver.py RUNS NAME -- CMD... [--- NAME -- CMD...]
"""
import json
import statistics
import subprocess
import sys
import time

runs = int(sys.argv[1])
specs, current = [], None
for arg in sys.argv[2:]:
    if arg == "---":
        current = None
    elif current is None:
        current = {"name": arg, "cmd": []}
        specs.append(current)
    elif arg != "--" or current["cmd"]:
        current["cmd"].append(arg)

out = {}
for spec in specs:
    starts, rss = [], []
    for _ in range(runs):
        t0 = time.time_ns()
        res = subprocess.run(spec["cmd"], capture_output=True, text=True, check=True)
        line = json.loads(res.stdout.strip().splitlines()[-1])
        starts.append((int(line["first_decision_unix_ns"]) - t0) / 1e6)
        rss.append(line["peak_rss_kib"])
    out[spec["name"]] = {"runs": runs, "cold_start_ms_median": statistics.median(starts),
                         "cold_start_ms_min": min(starts), "cold_start_ms_max": max(starts),
                         "peak_rss_kib_median": statistics.median(rss)}
    if "memory" in line:  # what holds it, from the last run
        out[spec["name"]]["memory"] = line["memory"]
print(json.dumps(out))
