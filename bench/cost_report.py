"""The cost section of bench/RESULTS.md: the Lambda cost per million IAM events of the
Rust revoker and of the Python/boto3 equivalent, from their runs over the same 1,000
events with AWS's latency on every call (target/bench/cost-rust.json, cost-python.json:
`warden-bench revoker` and `bench/python/revoker.py bench` through
tests/support/fault_proxy.py --delay-ms 20-40) and their cold starts (cold.json).
Imported by report.py; run alone, prints the section, or with `--replace FILE` puts it
in place of the file's cost section (or at its end)."""
import json
import os
import sys

TITLE = "## 8. Lambda cost per million IAM events, at AWS's latency"

# AWS Lambda, arm64, us-east-1 (aws.amazon.com/lambda/pricing): the first pricing tier.
GB_SECOND = 0.0000133334
PER_REQUEST = 0.20 / 1_000_000
# Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB.
MB_PER_VCPU = 1769
BATCH = 10


def smallest_memory(peak_rss_kib):
    """The smallest Lambda memory setting (128 MB and up, in steps of 1 MB) that holds
    the peak resident set with a quarter to spare."""
    need_mb = peak_rss_kib * 1024 * 1.25 / 1_000_000
    return max(128, int(need_mb) + 1)


def costs(run, cold, memory_mb):
    """Billed milliseconds per batch and dollars per million events, at `memory_mb`."""
    batches = run["events"] / BATCH
    wall_ms = run["wall_s"] * 1000 / batches
    cpu_ms = run["cpu_s"] * 1000 / batches
    # The wall time was measured on a whole core; at memory_mb the CPU part stretches.
    stretch = max(1.0, MB_PER_VCPU / memory_mb)
    billed_ms = wall_ms + cpu_ms * (stretch - 1)
    invocations = 1_000_000 / BATCH
    gb = memory_mb / 1024
    compute = invocations * billed_ms / 1000 * gb * GB_SECOND
    requests = invocations * PER_REQUEST
    init_ms = cold["cold_start_ms_median"] * stretch
    init_each = init_ms / 1000 * gb * GB_SECOND
    return {
        "wall_ms": wall_ms, "cpu_ms": cpu_ms, "billed_ms": billed_ms, "compute": compute,
        "requests": requests, "init_ms": init_ms, "init_each": init_each,
        "warm": compute + requests, "all_cold": compute + requests + invocations * init_each,
        "calls": run["calls_total"] / run["events"],
    }


def section(rust, python, cold, measured):
    out = []
    w = out.append
    w(TITLE)
    w("")
    mem = {name: smallest_memory(cold[name]["peak_rss_kib_median"]) for name in ("rust", "python")}
    r = costs(rust, cold["rust"], mem["rust"])
    p = costs(python, cold["python"], mem["python"])
    w(f"Measured {measured}: both revokers over the same {rust['events']:,} events of §1 (containment off, the "
      "same job), in batches of ten, every AWS call through `tests/support/fault_proxy.py --delay-ms 20-40` "
      "(no faults: each call held 20 to 40 ms, as AWS's round trips are), each against a fresh account of its own. "
      f"Billed per batch: the batch's wall time, plus its CPU time stretched to the memory's share of a vCPU "
      f"(Lambda gives one vCPU at {MB_PER_VCPU:,} MB; the runs had a whole core). Memory: the smallest setting "
      "that holds the peak RSS of §2 with a quarter to spare (Lambda's floor is 128 MB). Prices: arm64, "
      "us-east-1, $0.0000133334 per GB-second and $0.20 per million requests; a million events is 100,000 "
      "invocations. INIT is billed too: per cold start, its §2 time stretched the same way.")
    w("")
    w("| | Rust | Python/boto3 | ratio |")
    w("|---|---|---|---|")
    w(f"| AWS calls per event | {r['calls']:.2f} | {p['calls']:.2f} | {r['calls'] / p['calls']:.2f}× |")
    w(f"| batch wall time at AWS's latency (mean) | {r['wall_ms']:.0f} ms | {p['wall_ms']:.0f} ms | {r['wall_ms'] / p['wall_ms']:.2f}× |")
    w(f"| batch CPU time on a whole core (mean) | {r['cpu_ms']:.1f} ms | {p['cpu_ms']:.1f} ms | 1/{p['cpu_ms'] / r['cpu_ms']:.1f} |")
    w(f"| memory | {mem['rust']} MB | {mem['python']} MB | – |")
    w(f"| billed per batch | {r['billed_ms']:.0f} ms | {p['billed_ms']:.0f} ms | {r['billed_ms'] / p['billed_ms']:.2f}× |")
    w(f"| **cost per million events, warm** | **${r['warm']:.3f}** | **${p['warm']:.3f}** | {r['warm'] / p['warm']:.2f}× |")
    w(f"| INIT per cold start (billed) | {r['init_ms']:.0f} ms (${r['init_each'] * 1e6:.2f} per million cold starts) | {p['init_ms']:.0f} ms (${p['init_each'] * 1e6:.2f} per million) | {r['init_ms'] / p['init_ms']:.2f}× |")
    w(f"| cost per million events, every invocation cold | ${r['all_cold']:.3f} | ${p['all_cold']:.3f} | {r['all_cold'] / p['all_cold']:.2f}× |")
    w("")
    w("At AWS's latency the billed time is the wait for AWS's answers: the calls made one after the other, not "
      "the CPU. The FIFO queue's single group keeps one container warm while events flow, so the warm figure "
      "is the one to expect; the all-cold one bounds it.")
    w("")
    return out


def replace(path, new_lines):
    text = open(path).read().split("\n")
    start = next((i for i, line in enumerate(text) if line.startswith(TITLE)), None)
    if start is None:
        text = text[:-1] + new_lines + [""] if text and text[-1] == "" else text + [""] + new_lines
    else:
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
        text = text[:start] + new_lines + text[end:]
    open(path, "w").write("\n".join(text))


if __name__ == "__main__":
    import datetime
    out_dir = sys.argv[1]
    load = lambda name: json.load(open(os.path.join(out_dir, name)))  # noqa: E731
    when = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
    lines = section(load("cost-rust.json"), load("cost-python.json"), load("cold.json"), when)
    if len(sys.argv) > 3 and sys.argv[2] == "--replace":
        replace(sys.argv[3], lines)
    else:
        print("\n".join(lines))
