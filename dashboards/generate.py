#!/usr/bin/env python3
"""Generates errlens' Grafana dashboards and Prometheus rules (dashboards as code).

    python3 dashboards/generate.py                       # default thresholds
    python3 dashboards/generate.py --set rate_limited_share=0.1 --set for_rate_limited=15m

Writes dashboards/grafana/*.json and dashboards/prometheus/errlens-rules.yml. Only the
metrics `errlens serve` exports are used (docs/metrics.md); tests check that.
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Alert thresholds: documented in dashboards/README.md, overridable with --set.
THRESHOLDS = {
    "rate_limited_share": 0.05,      # 429 share above which a rise alerts
    "rate_limited_rise": 1.5,        # ... and at least this many times the share 1h ago
    "for_rate_limited": "10m",
    "for_client_id_failed": "5m",    # any sustained 412 is an app-credential problem
    "wasted_share": 0.2,             # wasted retries / all retries
    "wasted_min_rate": 0.01,         # retries/s below which the share is noise
    "for_wasted": "15m",
    "for_hidden": "5m",
    "no_records_for": "15m",         # window with no new records
    "malformed_share": 0.05,
    "for_malformed": "15m",
    "for_down": "5m",
}

DS = {"type": "prometheus", "uid": "${datasource}"}
F = 'instance=~"$instance"'
FP = 'instance=~"$instance", provider=~"$provider"'
FC = 'instance=~"$instance", provider=~"$provider", client=~"$client"'
RI = "$__rate_interval"


def variables():
    def q(name, label, query, multi=True):
        return {
            "name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query,
            "multi": multi, "includeAll": True, "allValue": ".*", "refresh": 2,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "hide": 0, "sort": 1,
        }
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
        q("instance", "Instance", "label_values(errlens_build_info, instance)"),
        q("provider", "Provider", f"label_values(errlens_requests_total{{{F}}}, provider)"),
        q("client", "Client", f"label_values(errlens_requests_by_client_total{{{FP}}}, client)"),
    ]}


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""
    def __init__(self):
        self.x, self.y, self.row_h, self.next_id = 0, 0, 0, 1

    def place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos


def panel(layout, kind, title, targets, unit="short", w=12, h=8, description="", **extra):
    p = {
        "id": layout.next_id, "type": kind, "title": title, "description": description,
        "datasource": DS, "gridPos": layout.place(w, h),
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend,
             **({"instant": True, "format": "table"} if kind in ("table", "bargauge") else {})}
            for i, (expr, legend) in enumerate(targets)
        ],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
                        "tooltip": {"mode": "multi"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    p.update(extra)
    layout.next_id += 1
    return p


def dashboard(uid, title, description, build):
    layout = Layout()
    return {
        "uid": uid, "title": title, "description": description, "tags": ["errlens"],
        "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": True,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": variables(), "annotations": {"list": []},
        "links": [{"title": "errlens dashboards", "type": "dashboards", "tags": ["errlens"], "asDropdown": True}],
        "panels": build(layout),
    }


def overview(L):
    req = f"sum by (provider, class) (rate(errlens_requests_total{{{FP}}}[{RI}]))"
    return [
        panel(L, "stat", "Requests/s", [(f"sum(rate(errlens_requests_total{{{FP}}}[{RI}]))", "requests/s")], "reqps", w=6, h=4),
        panel(L, "stat", "Failure share", [(f"sum(rate(errlens_failures_total{{{FP}}}[{RI}])) / sum(rate(errlens_requests_total{{{FP}}}[{RI}]))", "failures")], "percentunit", w=6, h=4),
        panel(L, "stat", "Hidden failures (range)", [(f"sum(increase(errlens_hidden_failures_total{{{FP}}}[$__range]))", "hidden")], "short", w=6, h=4,
              description="Failures logged under HTTP < 400, e.g. TMDB 21 'Entry not found' under 200. Check status_code, not only the HTTP status."),
        panel(L, "stat", "Status mismatches (range)", [(f"sum(increase(errlens_status_mismatches_total{{{FP}}}[$__range]))", "mismatches")], "short", w=6, h=4),
        panel(L, "timeseries", "Requests by provider and class", [(req, "{{provider}} {{class}}")], "reqps"),
        panel(L, "timeseries", "Failures by provider and class", [(f"sum by (provider, class) (rate(errlens_failures_total{{{FP}}}[{RI}]))", "{{provider}} {{class}}")], "reqps"),
        panel(L, "timeseries", "Failure share by provider", [(f"sum by (provider) (rate(errlens_failures_total{{{FP}}}[{RI}])) / sum by (provider) (rate(errlens_requests_total{{{FP}}}[{RI}]))", "{{provider}}")], "percentunit"),
        panel(L, "timeseries", "Hidden failures and status mismatches", [
            (f"sum by (provider) (rate(errlens_hidden_failures_total{{{FP}}}[{RI}]))", "{{provider}} hidden"),
            (f"sum by (provider) (rate(errlens_status_mismatches_total{{{FP}}}[{RI}]))", "{{provider}} mismatch"),
        ], "reqps"),
        panel(L, "table", "Top error ids and TMDB codes (range)", [(f"topk(15, sum by (provider, class, error) (increase(errlens_failures_total{{{FP}}}[$__range])))", "")], "short", w=24, h=9,
              description="Simkl error ids and TMDB codes ('other' = outside the tables). `errlens explain simkl <id>` / `errlens explain tmdb <code>` gives the remedy."),
    ]


def rate_limits(L):
    share = lambda status: f"sum by (provider) (rate(errlens_requests_total{{{FP}, status=\"{status}\"}}[{RI}])) / sum by (provider) (rate(errlens_requests_total{{{FP}}}[{RI}]))"
    hq = lambda q: (f"histogram_quantile({q}, sum by (le, provider) (rate(errlens_request_duration_seconds_bucket{{{FP}}}[{RI}])))", f"{{{{provider}}}} p{int(q*100)}")
    return [
        panel(L, "timeseries", "429 share by provider", [(share(429), "{{provider}}")], "percentunit",
              description="Simkl: 10 GET/s and 1 POST/s per client_id and token. TMDB: about 40-50 requests/s."),
        panel(L, "timeseries", "412 share by provider (client_id failed)", [(share(412), "{{provider}}")], "percentunit",
              description="Any sustained 412 means the app's client_id is wrong, suspended or capped."),
        panel(L, "bargauge", "Top clients by 429 (range)", [(f"topk(10, sum by (provider, client) (increase(errlens_rate_limited_by_client_total{{{FC}}}[$__range])))", "{{provider}} {{client}}")], "short"),
        panel(L, "timeseries", "429 and 412 by client", [
            (f"sum by (client) (rate(errlens_rate_limited_by_client_total{{{FC}}}[{RI}]))", "{{client}} 429"),
            (f"sum by (client) (rate(errlens_client_id_failed_by_client_total{{{FC}}}[{RI}]))", "{{client}} 412"),
        ], "reqps"),
        panel(L, "table", "Endpoint pressure (range)", [
            (f"topk(15, sum by (provider, endpoint) (increase(errlens_endpoint_requests_total{{{FP}, code=\"429\"}}[$__range])))", "429"),
            (f"topk(15, sum by (provider, endpoint) (increase(errlens_endpoint_requests_total{{{FP}, code=\"412\"}}[$__range])))", "412"),
            (f"topk(15, sum by (provider, endpoint) (increase(errlens_endpoint_requests_total{{{FP}}}[$__range])))", "requests"),
        ], "short", w=12, h=9),
        panel(L, "timeseries", "Latency p50 / p90 / p99", [hq(0.5), hq(0.9), hq(0.99)], "s", w=12, h=9),
    ]


def retry_hygiene(L):
    kinds = f"sum by (kind) (rate(errlens_retries_total{{{FP}}}[{RI}]))"
    return [
        panel(L, "stat", "Wasted share of retries (range)", [(f"sum(increase(errlens_retries_total{{{FP}, kind=\"wasted\"}}[$__range])) / sum(increase(errlens_retry_attempts_total{{{FP}}}[$__range]))", "wasted")], "percentunit", w=6, h=4,
              description="Retries of deterministic errors (400, 401, 403, 404, 409, 412; TMDB 44 and others): they cannot succeed and use up rate limits."),
        panel(L, "stat", "Retries/s", [(f"sum(rate(errlens_retry_attempts_total{{{FP}}}[{RI}]))", "retries/s")], "reqps", w=6, h=4),
        panel(L, "stat", "Recovered share of chains (range)", [(f"sum(increase(errlens_retry_chains_total{{{FP}, outcome=\"recovered\"}}[$__range])) / sum(increase(errlens_retry_chains_total{{{FP}}}[$__range]))", "recovered")], "percentunit", w=6, h=4),
        panel(L, "stat", "POST retried after Simkl 429 (range)", [(f"sum(increase(errlens_retries_total{{{FP}, kind=\"post_after_429\"}}[$__range]))", "post_after_429")], "short", w=6, h=4,
              description="Repeated POSTs extend Simkl's temporary block."),
        panel(L, "timeseries", "Retries by kind", [(kinds, "{{kind}}")], "reqps",
              description="ok: no fault. wasted: deterministic error retried. early: sooner than 1,2,4,8,16 s or Retry-After. over_limit: beyond attempt 6. post_after_429: POST after a Simkl 429. A retry can have several faults."),
        panel(L, "timeseries", "Wasted share by provider", [(f"sum by (provider) (rate(errlens_retries_total{{{FP}, kind=\"wasted\"}}[{RI}])) / sum by (provider) (rate(errlens_retry_attempts_total{{{FP}}}[{RI}]))", "{{provider}}")], "percentunit"),
        panel(L, "timeseries", "Retry chains: recovered vs abandoned", [(f"sum by (outcome) (rate(errlens_retry_chains_total{{{FP}}}[{RI}]))", "{{outcome}}")], "reqps"),
        panel(L, "timeseries", "Retries by provider", [(f"sum by (provider) (rate(errlens_retry_attempts_total{{{FP}}}[{RI}]))", "{{provider}}")], "reqps"),
    ]


def exporter_health(L):
    return [
        panel(L, "timeseries", "Lines/s by result", [(f"sum by (result) (rate(errlens_lines_total{{{F}}}[{RI}]))", "{{result}}")], "short"),
        panel(L, "timeseries", "Malformed share of lines", [(f"sum(rate(errlens_lines_total{{{F}, result=\"malformed\"}}[{RI}])) / sum(rate(errlens_lines_total{{{F}}}[{RI}]))", "malformed")], "percentunit"),
        panel(L, "timeseries", "Bytes read/s", [(f"sum by (instance) (rate(errlens_bytes_read_total{{{F}}}[{RI}]))", "{{instance}}")], "Bps", w=8),
        panel(L, "timeseries", "File rotations (range)", [(f"sum by (instance) (increase(errlens_file_rotations_total{{{F}}}[$__range]))", "{{instance}}")], "short", w=8),
        panel(L, "timeseries", "Files followed", [(f"sum by (instance) (errlens_files_followed{{{F}}})", "{{instance}}")], "short", w=8),
        panel(L, "timeseries", "Lag: now minus newest record", [(f"time() - max by (instance) (errlens_last_record_timestamp_seconds{{{F}}})", "{{instance}}")], "s", w=12,
              description="How far behind the newest record's own timestamp is. Grows when the app stops logging or errlens stops reading."),
        panel(L, "table", "Versions", [(f"count by (instance, version) (errlens_build_info{{{F}}})", "")], "short", w=12),
    ]


def rules(t):
    share = lambda status: (
        f'sum by (instance, provider) (rate(errlens_requests_total{{status="{status}"}}[5m]))'
        f' / sum by (instance, provider) (rate(errlens_requests_total[5m]))')
    recording = [
        {"record": "errlens:requests:rate5m", "expr": "sum by (instance, provider) (rate(errlens_requests_total[5m]))"},
        {"record": "errlens:failures:share5m", "expr": "sum by (instance, provider) (rate(errlens_failures_total[5m])) / sum by (instance, provider) (rate(errlens_requests_total[5m]))"},
        {"record": "errlens:rate_limited:share5m", "expr": share(429)},
        {"record": "errlens:client_id_failed:share5m", "expr": share(412)},
        {"record": "errlens:client_id_failed:rate5m", "expr": 'sum by (instance, provider) (rate(errlens_requests_total{status="412"}[5m]))'},
        {"record": "errlens:retries:rate15m", "expr": "sum by (instance, provider) (rate(errlens_retry_attempts_total[15m]))"},
        {"record": "errlens:retries_wasted:share15m", "expr": 'sum by (instance, provider) (rate(errlens_retries_total{kind="wasted"}[15m])) / sum by (instance, provider) (rate(errlens_retry_attempts_total[15m]))'},
        {"record": "errlens:hidden_failures:increase15m", "expr": "sum by (instance, provider) (increase(errlens_hidden_failures_total[15m]))"},
        {"record": "errlens:lines_malformed:share5m", "expr": 'sum by (instance) (rate(errlens_lines_total{result="malformed"}[5m])) / sum by (instance) (rate(errlens_lines_total[5m]))'},
        {"record": "errlens:records:increase", "expr": f'sum by (instance) (increase(errlens_lines_total{{result="record"}}[{t["no_records_for"]}]))'},
    ]
    rb = "dashboards/README.md#"
    alerts = [
        {"alert": "ErrlensRateLimitedShareRising",
         "expr": f'errlens:rate_limited:share5m > {t["rate_limited_share"]} and errlens:rate_limited:share5m > {t["rate_limited_rise"]} * (errlens:rate_limited:share5m offset 1h)',
         "for": t["for_rate_limited"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $labels.provider }}: 429 share {{ $value | humanizePercentage }} and rising on {{ $labels.instance }}",
                         "description": "{{ $labels.provider }} answers {{ $value | humanizePercentage }} of requests with 429, above " + f'{t["rate_limited_share"]:.0%}' + " and at least " + f'{t["rate_limited_rise"]}' + "x the share an hour ago. Remedy (errlens explain simkl 429 / tmdb 25): back off exponentially and respect Retry-After, cache responses, never retry a POST right after a Simkl 429 (it extends the block). Find the clients and endpoints on the errlens / Rate limits dashboard.",
                         "runbook": rb + "errlensratelimitedsharerising"}},
        {"alert": "ErrlensClientIdFailing",
         "expr": "errlens:client_id_failed:rate5m > 0",
         "for": t["for_client_id_failed"], "labels": {"severity": "critical"},
         "annotations": {"summary": "{{ $labels.provider }}: sustained 412 client_id failed on {{ $labels.instance }}",
                         "description": "{{ $value | humanize }} requests/s get 412 (client_id failed). This is an app-credential problem, not load: the client_id is missing, wrong, suspended or over its cap (errlens explain simkl 412). Retrying cannot help; check the client_id in developer settings and the app's status.",
                         "runbook": rb + "errlensclientidfailing"}},
        {"alert": "ErrlensWastedRetriesHigh",
         "expr": f'errlens:retries_wasted:share15m > {t["wasted_share"]} and errlens:retries:rate15m > {t["wasted_min_rate"]}',
         "for": t["for_wasted"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $labels.provider }}: {{ $value | humanizePercentage }} of retries are wasted on {{ $labels.instance }}",
                         "description": "{{ $value | humanizePercentage }} of retries repeat a deterministic error (400, 401, 403, 404, 409, 412, TMDB 44, ...) that cannot succeed, using up rate limits. Fix the client's retry policy: retry only 429/5xx (Simkl) or TMDB 9, 11, 15, 24, 25, 43, 46. The worst clients are in `errlens report`.",
                         "runbook": rb + "errlenswastedretrieshigh"}},
        {"alert": "ErrlensHiddenFailures",
         "expr": "errlens:hidden_failures:increase15m > 0",
         "for": t["for_hidden"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $labels.provider }}: failures hidden under HTTP < 400 on {{ $labels.instance }}",
                         "description": "{{ $value | humanize }} failures in 15 minutes were logged under a success status (e.g. TMDB 21 'Entry not found' under HTTP 200). Clients that check only the HTTP status treat them as successes: check status_code / success in the body (errlens explain tmdb 21).",
                         "runbook": rb + "errlenshiddenfailures"}},
        {"alert": "ErrlensExporterDown",
         "expr": 'up{job=~".*errlens.*"} == 0',
         "for": t["for_down"], "labels": {"severity": "critical"},
         "annotations": {"summary": "errlens exporter {{ $labels.instance }} is down",
                         "description": "Prometheus cannot scrape errlens on {{ $labels.instance }}: no API error metrics from there. Check the process (systemctl status errlens), its --listen address and the network path.",
                         "runbook": rb + "errlensexporterdown"}},
        {"alert": "ErrlensNoRecords",
         "expr": "errlens:records:increase == 0",
         "for": "5m", "labels": {"severity": "warning"},
         "annotations": {"summary": "errlens on {{ $labels.instance }} read no records for " + t["no_records_for"],
                         "description": "No request record was read in " + t["no_records_for"] + ". Either the app stopped logging, the log moved (check --follow paths and errlens_files_followed), or the log format changed (check errlens_lines_total{result=\"malformed\"}).",
                         "runbook": rb + "errlensnorecords"}},
        {"alert": "ErrlensMalformedShareHigh",
         "expr": f'errlens:lines_malformed:share5m > {t["malformed_share"]}',
         "for": t["for_malformed"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $value | humanizePercentage }} of log lines are malformed on {{ $labels.instance }}",
                         "description": "{{ $value | humanizePercentage }} of lines are not request records (not JSON objects, or no usable HTTP status). The log format probably changed: run `errlens report` on a sample to see the malformed lines with their line numbers.",
                         "runbook": rb + "errlensmalformedsharehigh"}},
    ]
    return {"groups": [
        {"name": "errlens.recording", "rules": recording},
        {"name": "errlens.alerts", "rules": alerts},
    ]}


def to_yaml(obj, indent=0):
    """A small YAML writer for the rules (strings always quoted, via JSON escaping)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 1))
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    else:
        for item in obj:
            inner = to_yaml(item, indent + 1).lstrip()
            out.append(f"{pad}- {inner}")
    return "\n".join(out)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a threshold")
    args = ap.parse_args()
    t = dict(THRESHOLDS)
    for s in args.set:
        k, _, v = s.partition("=")
        if k not in t:
            ap.error(f"unknown threshold {k!r}; known: {', '.join(t)}")
        t[k] = type(t[k])(v) if not isinstance(t[k], str) else v
    boards = {
        "errlens-overview": ("errlens / Overview", "Requests and failures by provider, class and error.", overview),
        "errlens-rate-limits": ("errlens / Rate limits", "429 and 412 pressure by provider, client and endpoint; latency.", rate_limits),
        "errlens-retry-hygiene": ("errlens / Retry hygiene", "How clients retry: wasted, early, over-limit retries; chain outcomes.", retry_hygiene),
        "errlens-exporter-health": ("errlens / Exporter health", "errlens serve itself: input, malformed share, rotations, lag.", exporter_health),
    }
    for uid, (title, desc, build) in boards.items():
        path = os.path.join(HERE, "grafana", f"{uid}.json")
        with open(path, "w") as f:
            json.dump(dashboard(uid, title, desc, build), f, indent=2)
            f.write("\n")
    with open(os.path.join(HERE, "prometheus", "errlens-rules.yml"), "w") as f:
        f.write("# Generated by dashboards/generate.py: edit thresholds there (or --set NAME=VALUE).\n")
        f.write(to_yaml(rules(t)) + "\n")


if __name__ == "__main__":
    main()
