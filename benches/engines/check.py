"""Checks the engines' counts (count.py) against errlens', mtail's and each other's.

    python3 check.py ERRLENS_REPORT.json MTAIL_PROMETHEUS.txt NAME=COUNTS.json...

Prints one line per check to standard error; exits 1 after printing every mismatch.

What is compared with what:

- every engine with the first, whole: records, groups, retries (total and per provider)
  and latency (count per provider, every histogram bucket, sum) must be identical;
- every engine with `errlens report --format json`, for what the report holds:
  `records`; `by_status` (the engine's groups summed by status); `groups` as
  (provider, status, error, code, count), code being the report's `code`; retries:
  `retries.total` and `retries.by_provider[p].total` against the records with
  attempt > 1 — equal by definition only because every line `errlens gen` writes has
  an `attempt` (errlens infers retries only for records without one); latency:
  `latency_ms[p].count`. The report has quantiles (from a histogram with ~3 significant
  digits), not buckets, so the buckets and the sum are not compared with errlens;
- every engine with mtail (benches/errlens.mtail, run on the same log): mtail's
  histogram has other bounds (5, 10, 25, 50, ...), so only the buckets both have,
  le 5 and le 10, plus its count (+Inf) and its sum.
"""

import json
import sys

failed = False


def check(what, values):
    """All (name, value) pairs must have the same value."""
    global failed
    ref = values[0][1]
    names = " = ".join(n for n, _ in values)
    if all(v == ref for _, v in values):
        shown = json.dumps(ref)
        shown = shown if len(shown) <= 70 else f"(equal, {len(shown)} bytes of JSON)"
        print(f"counts agree: {what}: {names} = {shown}", file=sys.stderr)
    else:
        failed = True
        print(f"MISMATCH {what}:", file=sys.stderr)
        ref_name = values[0][0]
        for n, v in values:
            if isinstance(v, list) and isinstance(ref, list) and n != ref_name:
                # groups: show only the rows that differ
                print(f"  {n} has, {ref_name} has not: "
                      f"{json.dumps([g for g in v if g not in ref])}", file=sys.stderr)
                print(f"  {ref_name} has, {n} has not: "
                      f"{json.dumps([g for g in ref if g not in v])}", file=sys.stderr)
            elif isinstance(v, list):
                continue
            else:
                print(f"  {n}: {json.dumps(v)}", file=sys.stderr)


def group_key(g):
    return (g[0], g[1], g[2] or "", -1 if g[3] is None else g[3])


def by_status(groups):
    out = {}
    for g in groups:
        out[str(g[1])] = out.get(str(g[1]), 0) + g[4]
    return out


def mtail_values(path):
    values = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(None, 1)
        values[name] = float(value)
    return values


def main():
    if len(sys.argv) < 4:
        sys.exit(f"usage: {sys.argv[0]} ERRLENS.json MTAIL.txt NAME=COUNTS.json...")
    report = json.load(open(sys.argv[1]))
    mtail = mtail_values(sys.argv[2])
    engines = []
    for arg in sys.argv[3:]:
        name, path = arg.split("=", 1)
        engines.append((name, json.load(open(path))))

    for field in ("records", "groups", "retries", "latency_ms"):
        check(f"engines' whole {field}", [(n, c[field]) for n, c in engines])

    def against(what, of_engine, other, value):
        check(what, [(n, of_engine(c)) for n, c in engines] + [(other, value)])

    e_groups = sorted(([g["provider"], g["status"], g["error"], g["code"], g["count"]]
                       for g in report["groups"]), key=group_key)
    e_retries = {p: r["total"] for p, r in report["retries"]["by_provider"].items() if r["total"]}
    e_lat = {p: l["count"] for p, l in report["latency_ms"].items() if l["count"]}
    against("records", lambda c: c["records"], "errlens", report["records"])
    against("by_status", lambda c: by_status(c["groups"]), "errlens", report["by_status"])
    against("groups (provider, status, error, code, count)", lambda c: c["groups"],
            "errlens", e_groups)
    against("retries (attempt > 1)", lambda c: c["retries"]["total"],
            "errlens", report["retries"]["total"])
    against("retries by provider", lambda c: c["retries"]["by_provider"], "errlens", e_retries)
    against("latencies by provider", lambda c: c["latency_ms"]["count_by_provider"],
            "errlens", e_lat)
    for b in ("5", "10"):
        against(f"latency le {b} ms", lambda c: c["latency_ms"]["le"][b],
                "mtail", int(mtail.get(f'latency_ms_bucket{{le="{b}"}}', -1)))
    against("latency count (+Inf)", lambda c: c["latency_ms"]["le"]["+Inf"],
            "mtail", int(mtail.get("latency_ms_count", -1)))
    # mtail prints the shortest float that round-trips: exact for integers < 2^53.
    against("latency sum", lambda c: c["latency_ms"]["sum"],
            "mtail", int(mtail.get("latency_ms_sum", -1)))
    if failed:
        print("MISMATCH: the engines' counts differ (see above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
