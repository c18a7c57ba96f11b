#!/usr/bin/env python3
"""Generates errlens' Grafana dashboards, Prometheus rules and the rules' promtool tests
(dashboards as code) from the settings in dashboards/settings.toml.

    python3 dashboards/generate.py                                   # settings.toml as it is
    python3 dashboards/generate.py --set rate_limited_share=0.1 --set for_rate_limited=15m
    python3 dashboards/generate.py --set rate_limited_share=0.1 --out /tmp/errlens-rules

Writes grafana/*.json, prometheus/errlens-rules.yml and prometheus/errlens-rules.test.yml
under --out (default: dashboards/). The tests' input series and expected alerts are
computed from the same settings, so `promtool test rules` passes for any valid settings.
A bad setting is one line on stderr and exit code 2. Only the metrics `errlens serve`
exports are used (docs/metrics.md); cargo test --test dashboards checks that.
"""
import argparse
import json
import math
import os
import re
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    sys.exit("generate.py: needs Python 3.11 or newer (tomllib), this is " + sys.version.split()[0])

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = os.path.join(HERE, "settings.toml")


class SettingsError(Exception):
    """A bad setting: reported as one line on stderr, exit code 2."""


# Every setting and its kind; settings.toml documents each (meaning, unit, valid range).
SPECS = {
    "requests_window": "window",
    "rate_limited_share": "share",
    "rate_limited_rise": "factor",
    "rate_limited_offset": "offset",
    "for_rate_limited": "duration",
    "for_client_id_failed": "duration",
    "retries_window": "window",
    "wasted_share": "share",
    "wasted_min_rate": "rate",
    "for_wasted": "duration",
    "hidden_window": "window",
    "for_hidden": "duration",
    "no_records_for": "window",
    "for_no_records": "duration",
    "malformed_window": "window",
    "malformed_share": "share",
    "for_malformed": "duration",
    "for_down": "duration",
}
MINUTE = 60_000  # ms
KINDS = {
    # kind: (what the value must be, numeric check or duration bounds in minutes)
    "share": ("a share, 0 < x < 1 (e.g. 0.05 for 5%)", lambda x: 0 < x < 1),
    "factor": ("a factor, 1 < x <= 1000 (e.g. 1.5)", lambda x: 1 < x <= 1000),
    "rate": ("a rate per second, 0 <= x <= 1000000 (e.g. 0.01)", lambda x: 0 <= x <= 1_000_000),
    "window": ("a Prometheus duration in whole minutes from 2m to 1d (e.g. 5m)", (2, 24 * 60)),
    "offset": ("a Prometheus duration in whole minutes from 10m to 7d (e.g. 1h)", (10, 7 * 24 * 60)),
    "duration": ("a Prometheus duration in whole minutes from 0m to 7d (e.g. 10m)", (0, 7 * 24 * 60)),
}
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
DURATION = re.compile(r"((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?")
DURATION_UNITS_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, MINUTE, 1000, 1]


def duration_ms(text):
    """Milliseconds of a Prometheus duration (`1h30m`), or None if it is not one."""
    m = DURATION.fullmatch(text)
    if not text or not m:
        return None
    return sum(int(n) * unit for n, unit in zip(m.groups()[1::2], DURATION_UNITS_MS) if n)


def check(name, value, source, text=False):
    """The setting's value as the generator uses it (float, or the duration's text), or a
    SettingsError. `text`: the value is a --set's text, not a TOML value."""
    if name not in SPECS:
        raise SettingsError(f"{source}: unknown setting {name!r} (known: {', '.join(SPECS)})")
    kind = SPECS[name]
    what, rule = KINDS[kind]
    shown = value if text else json.dumps(value) if isinstance(value, str) else str(value).lower()
    bad = source if text else f"{source}: {name} = {shown}"
    if kind in ("share", "factor", "rate"):
        if text and NUMBER.fullmatch(value):
            value = float(value)
        elif text or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{bad}: not a number; {name} must be {what}")
        value = float(value)
        if not math.isfinite(value) or not rule(value):
            raise SettingsError(f"{bad}: out of range; {name} must be {what}")
        return value
    if not isinstance(value, str):
        raise SettingsError(f'{bad}: not a duration; {name} must be {what}, as a quoted string ("5m")')
    ms = duration_ms(value)
    if ms is None:
        raise SettingsError(f"{bad}: not a Prometheus duration; {name} must be {what}")
    lo, hi = rule
    if ms % MINUTE or not lo * MINUTE <= ms <= hi * MINUTE:
        raise SettingsError(f"{bad}: out of range; {name} must be {what}")
    return value


def load_settings(path, overrides):
    """settings.toml, then each `NAME=VALUE` override: every value checked, none missing."""
    source = os.path.relpath(path)
    if source.startswith(".."):
        source = path
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except OSError as e:
        raise SettingsError(f"{source}: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{source}: not valid TOML: {e}")
    t = {name: check(name, value, source) for name, value in raw.items()}
    missing = [name for name in SPECS if name not in t]
    if missing:
        raise SettingsError(f"{source}: missing setting {', '.join(missing)}")
    for item in overrides:
        name, eq, value = item.partition("=")
        if not eq:
            raise SettingsError(f"--set {item}: expected NAME=VALUE, e.g. --set rate_limited_share=0.1")
        t[name.strip()] = check(name.strip(), value.strip(), f"--set {item}", text=True)
    # Cross-checks: without them some alert could never fire (and its test could not exist).
    w, o, f = (minutes(t[k]) for k in ("requests_window", "rate_limited_offset", "for_rate_limited"))
    if f + w >= o:
        raise SettingsError(
            f"rate_limited_offset ({t['rate_limited_offset']}) must be longer than for_rate_limited "
            f"({t['for_rate_limited']}) + requests_window ({t['requests_window']}): a jump in the "
            "429 share would stop counting as a rise before the alert could fire")
    return {name: t[name] for name in SPECS}


def minutes(duration):
    return duration_ms(duration) // MINUTE


def num(v):
    """A setting's number as PromQL and people read it: 0.05, 1.5, 2 (never 2.0)."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def pct(v):
    """A share as a percentage for descriptions: 0.05 -> 5%, 0.125 -> 12.5%."""
    return f"{v * 100:.10g}%"


DS = {"type": "prometheus", "uid": "${datasource}"}
F = 'instance=~"$instance"'
FP = 'instance=~"$instance", provider=~"$provider"'
FC = 'instance=~"$instance", provider=~"$provider", client=~"$client"'
RI = "$__rate_interval"


def threshold_line(value, style="line"):
    """An alert threshold drawn on a panel (a red line, or red colouring for a stat)."""
    d = {"thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": value}]}}
    if style:
        d["custom"] = {"thresholdsStyle": {"mode": style}}
    return {"field_defaults": d}


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
    for key, value in extra.pop("field_defaults", {}).items():
        p["fieldConfig"]["defaults"][key] = value
    p.update(extra)
    layout.next_id += 1
    return p


def dashboard(uid, title, description, build, t):
    layout = Layout()
    return {
        "uid": uid, "title": title, "description": description, "tags": ["errlens"],
        "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": True,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "templating": variables(), "annotations": {"list": []},
        "links": [{"title": "errlens dashboards", "type": "dashboards", "tags": ["errlens"], "asDropdown": True}],
        "panels": build(layout, t),
    }


def overview(L, t):
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


def rate_limits(L, t):
    share = lambda status: f"sum by (provider) (rate(errlens_requests_total{{{FP}, status=\"{status}\"}}[{RI}])) / sum by (provider) (rate(errlens_requests_total{{{FP}}}[{RI}]))"
    hq = lambda q: (f"histogram_quantile({q}, sum by (le, provider) (rate(errlens_request_duration_seconds_bucket{{{FP}}}[{RI}])))", f"{{{{provider}}}} p{int(q*100)}")
    return [
        panel(L, "timeseries", "429 share by provider", [(share(429), "{{provider}}")], "percentunit",
              description="Simkl: 10 GET/s and 1 POST/s per client_id and token. TMDB: about 40-50 requests/s. "
                          "The red line is ErrlensRateLimitedShareRising's threshold (rate_limited_share).",
              **threshold_line(t["rate_limited_share"])),
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


def retry_hygiene(L, t):
    kinds = f"sum by (kind) (rate(errlens_retries_total{{{FP}}}[{RI}]))"
    return [
        panel(L, "stat", "Wasted share of retries (range)", [(f"sum(increase(errlens_retries_total{{{FP}, kind=\"wasted\"}}[$__range])) / sum(increase(errlens_retry_attempts_total{{{FP}}}[$__range]))", "wasted")], "percentunit", w=6, h=4,
              description="Retries of deterministic errors (400, 401, 403, 404, 409, 412; TMDB 44 and others): they cannot succeed and use up rate limits. "
                          "Red above ErrlensWastedRetriesHigh's threshold (wasted_share).",
              **threshold_line(t["wasted_share"], style=None)),
        panel(L, "stat", "Retries/s", [(f"sum(rate(errlens_retry_attempts_total{{{FP}}}[{RI}]))", "retries/s")], "reqps", w=6, h=4),
        panel(L, "stat", "Recovered share of chains (range)", [(f"sum(increase(errlens_retry_chains_total{{{FP}, outcome=\"recovered\"}}[$__range])) / sum(increase(errlens_retry_chains_total{{{FP}}}[$__range]))", "recovered")], "percentunit", w=6, h=4),
        panel(L, "stat", "POST retried after Simkl 429 (range)", [(f"sum(increase(errlens_retries_total{{{FP}, kind=\"post_after_429\"}}[$__range]))", "post_after_429")], "short", w=6, h=4,
              description="Repeated POSTs extend Simkl's temporary block."),
        panel(L, "timeseries", "Retries by kind", [(kinds, "{{kind}}")], "reqps",
              description="ok: no fault. wasted: deterministic error retried. early: sooner than 1,2,4,8,16 s or Retry-After. over_limit: beyond attempt 6. post_after_429: POST after a Simkl 429. A retry can have several faults."),
        panel(L, "timeseries", "Wasted share by provider", [(f"sum by (provider) (rate(errlens_retries_total{{{FP}, kind=\"wasted\"}}[{RI}])) / sum by (provider) (rate(errlens_retry_attempts_total{{{FP}}}[{RI}]))", "{{provider}}")], "percentunit",
              description="The red line is ErrlensWastedRetriesHigh's threshold (wasted_share).",
              **threshold_line(t["wasted_share"])),
        panel(L, "timeseries", "Retry chains: recovered vs abandoned", [(f"sum by (outcome) (rate(errlens_retry_chains_total{{{FP}}}[{RI}]))", "{{outcome}}")], "reqps"),
        panel(L, "timeseries", "Retries by provider", [(f"sum by (provider) (rate(errlens_retry_attempts_total{{{FP}}}[{RI}]))", "{{provider}}")], "reqps"),
    ]


def exporter_health(L, t):
    return [
        panel(L, "timeseries", "Lines/s by result", [(f"sum by (result) (rate(errlens_lines_total{{{F}}}[{RI}]))", "{{result}}")], "short"),
        panel(L, "timeseries", "Malformed share of lines", [(f"sum(rate(errlens_lines_total{{{F}, result=\"malformed\"}}[{RI}])) / sum(rate(errlens_lines_total{{{F}}}[{RI}]))", "malformed")], "percentunit",
              description="The red line is ErrlensMalformedShareHigh's threshold (malformed_share).",
              **threshold_line(t["malformed_share"])),
        panel(L, "timeseries", "Bytes read/s", [(f"sum by (instance) (rate(errlens_bytes_read_total{{{F}}}[{RI}]))", "{{instance}}")], "Bps", w=8),
        panel(L, "timeseries", "File rotations (range)", [(f"sum by (instance) (increase(errlens_file_rotations_total{{{F}}}[$__range]))", "{{instance}}")], "short", w=8),
        panel(L, "timeseries", "Files followed", [(f"sum by (instance) (errlens_files_followed{{{F}}})", "{{instance}}")], "short", w=8),
        panel(L, "timeseries", "Lag: now minus newest record", [(f"time() - max by (instance) (errlens_last_record_timestamp_seconds{{{F}}})", "{{instance}}")], "s", w=12,
              description="How far behind the newest record's own timestamp is. Grows when the app stops logging or errlens stops reading."),
        panel(L, "table", "Versions", [(f"count by (instance, version) (errlens_build_info{{{F}}})", "")], "short", w=12),
    ]


RB = "dashboards/README.md#"


def rules(t):
    w, rw, hw, mw = t["requests_window"], t["retries_window"], t["hidden_window"], t["malformed_window"]
    share = lambda status: (
        f'sum by (instance, provider) (rate(errlens_requests_total{{status="{status}"}}[{w}]))'
        f' / sum by (instance, provider) (rate(errlens_requests_total[{w}]))')
    recording = [
        {"record": f"errlens:requests:rate{w}", "expr": f"sum by (instance, provider) (rate(errlens_requests_total[{w}]))"},
        {"record": f"errlens:failures:share{w}", "expr": f"sum by (instance, provider) (rate(errlens_failures_total[{w}])) / sum by (instance, provider) (rate(errlens_requests_total[{w}]))"},
        {"record": f"errlens:rate_limited:share{w}", "expr": share(429)},
        {"record": f"errlens:client_id_failed:share{w}", "expr": share(412)},
        {"record": f"errlens:client_id_failed:rate{w}", "expr": f'sum by (instance, provider) (rate(errlens_requests_total{{status="412"}}[{w}]))'},
        {"record": f"errlens:retries:rate{rw}", "expr": f"sum by (instance, provider) (rate(errlens_retry_attempts_total[{rw}]))"},
        {"record": f"errlens:retries_wasted:share{rw}", "expr": f'sum by (instance, provider) (rate(errlens_retries_total{{kind="wasted"}}[{rw}])) / sum by (instance, provider) (rate(errlens_retry_attempts_total[{rw}]))'},
        {"record": f"errlens:hidden_failures:increase{hw}", "expr": f"sum by (instance, provider) (increase(errlens_hidden_failures_total[{hw}]))"},
        {"record": f"errlens:lines_malformed:share{mw}", "expr": f'sum by (instance) (rate(errlens_lines_total{{result="malformed"}}[{mw}])) / sum by (instance) (rate(errlens_lines_total[{mw}]))'},
        {"record": "errlens:records:increase", "expr": f'sum by (instance) (increase(errlens_lines_total{{result="record"}}[{t["no_records_for"]}]))'},
    ]
    rl = f"errlens:rate_limited:share{w}"
    alerts = [
        {"alert": "ErrlensRateLimitedShareRising",
         "expr": f'{rl} > {num(t["rate_limited_share"])} and {rl} > {num(t["rate_limited_rise"])} * ({rl} offset {t["rate_limited_offset"]})',
         "for": t["for_rate_limited"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $labels.provider }}: 429 share {{ $value | humanizePercentage }} and rising on {{ $labels.instance }}",
                         "description": "{{ $labels.provider }} answers {{ $value | humanizePercentage }} of requests with 429, above " + pct(t["rate_limited_share"]) + " and at least " + num(t["rate_limited_rise"]) + "x the share " + t["rate_limited_offset"] + " earlier. Remedy (errlens explain simkl 429 / tmdb 25): back off exponentially and respect Retry-After, cache responses, never retry a POST right after a Simkl 429 (it extends the block). Find the clients and endpoints on the errlens / Rate limits dashboard.",
                         "runbook": RB + "errlensratelimitedsharerising"}},
        {"alert": "ErrlensClientIdFailing",
         "expr": f"errlens:client_id_failed:rate{w} > 0",
         "for": t["for_client_id_failed"], "labels": {"severity": "critical"},
         "annotations": {"summary": "{{ $labels.provider }}: sustained 412 client_id failed on {{ $labels.instance }}",
                         "description": "{{ $value | humanize }} requests/s get 412 (client_id failed). This is an app-credential problem, not load: the client_id is missing, wrong, suspended or over its cap (errlens explain simkl 412). Retrying cannot help; check the client_id in developer settings and the app's status.",
                         "runbook": RB + "errlensclientidfailing"}},
        {"alert": "ErrlensWastedRetriesHigh",
         "expr": f'errlens:retries_wasted:share{rw} > {num(t["wasted_share"])} and errlens:retries:rate{rw} > {num(t["wasted_min_rate"])}',
         "for": t["for_wasted"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $labels.provider }}: {{ $value | humanizePercentage }} of retries are wasted on {{ $labels.instance }}",
                         "description": "{{ $value | humanizePercentage }} of retries in the last " + rw + " (above " + pct(t["wasted_share"]) + ") repeat a deterministic error (400, 401, 403, 404, 409, 412, TMDB 44, ...) that cannot succeed, using up rate limits. Fix the client's retry policy: retry only 429/5xx (Simkl) or TMDB 9, 11, 15, 24, 25, 43, 46. The worst clients are in `errlens report`.",
                         "runbook": RB + "errlenswastedretrieshigh"}},
        {"alert": "ErrlensHiddenFailures",
         "expr": f"errlens:hidden_failures:increase{hw} > 0",
         "for": t["for_hidden"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $labels.provider }}: failures hidden under HTTP < 400 on {{ $labels.instance }}",
                         "description": "{{ $value | humanize }} failures in the last " + hw + " were logged under a success status (e.g. TMDB 21 'Entry not found' under HTTP 200). Clients that check only the HTTP status treat them as successes: check status_code / success in the body (errlens explain tmdb 21).",
                         "runbook": RB + "errlenshiddenfailures"}},
        {"alert": "ErrlensExporterDown",
         "expr": 'up{job=~".*errlens.*"} == 0',
         "for": t["for_down"], "labels": {"severity": "critical"},
         "annotations": {"summary": "errlens exporter {{ $labels.instance }} is down",
                         "description": "Prometheus cannot scrape errlens on {{ $labels.instance }}: no API error metrics from there. Check the process (systemctl status errlens), its --web.listen-address and the network path.",
                         "runbook": RB + "errlensexporterdown"}},
        {"alert": "ErrlensNoRecords",
         "expr": "errlens:records:increase == 0",
         "for": t["for_no_records"], "labels": {"severity": "warning"},
         "annotations": {"summary": "errlens on {{ $labels.instance }} read no records for " + t["no_records_for"],
                         "description": "No request record was read in " + t["no_records_for"] + ". Either the app stopped logging, the log moved (check --follow paths and errlens_files_followed), or the log format changed (check errlens_lines_total{result=\"malformed\"}).",
                         "runbook": RB + "errlensnorecords"}},
        {"alert": "ErrlensMalformedShareHigh",
         "expr": f'errlens:lines_malformed:share{mw} > {num(t["malformed_share"])}',
         "for": t["for_malformed"], "labels": {"severity": "warning"},
         "annotations": {"summary": "{{ $value | humanizePercentage }} of log lines are malformed on {{ $labels.instance }}",
                         "description": "{{ $value | humanizePercentage }} of lines in the last " + mw + " (above " + pct(t["malformed_share"]) + ") are not request records (not JSON objects, or no usable HTTP status). The log format probably changed: run `errlens report` on a sample to see the malformed lines with their line numbers.",
                         "runbook": RB + "errlensmalformedsharehigh"}},
    ]
    return {"groups": [
        {"name": "errlens.recording", "rules": recording},
        {"name": "errlens.alerts", "rules": alerts},
    ]}


# --- promtool tests, computed from the settings ---------------------------------------
#
# Each alert gets a series that must fire it and series that must not, with evaluation
# times placed from the windows and `for` durations (all whole minutes; samples every
# minute). Expected annotations are the rule's own templates rendered with the value the
# series produce, formatted as Prometheus' humanize functions do.

def go_g4(v):
    """Go's fmt %.4g (Python's .4g is the same for finite values)."""
    return format(v, ".4g")


def humanize(v):
    """Prometheus' `humanize` template function."""
    if v == 0 or not math.isfinite(v):
        return go_g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in "kMGTPEZY":
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in "munpfazy":
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return go_g4(v) + prefix


def humanize_percentage(v):
    """Prometheus' `humanizePercentage` template function."""
    return go_g4(v * 100) + "%"


def render(template, labels, value):
    """An annotation template as Prometheus renders it for one alert."""
    out = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)
    out = out.replace("{{ $value | humanizePercentage }}", humanize_percentage(value))
    out = out.replace("{{ $value | humanize }}", humanize(value))
    assert "{{" not in out, f"template not rendered: {template}"
    return out


def nice(lo, hi, target, show=humanize_percentage):
    """A number strictly between lo and hi, near target, with as few digits as can be,
    whose display (show) is the same for the value Prometheus computes, give or take
    rounding: no test depends on the last bit of a float."""
    for digits in range(1, 16):
        x = float(f"{target:.{digits}g}")
        if lo * (1 + 1e-9) < x < hi * (1 - 1e-9) and show(x * (1 + 1e-12)) == show(x * (1 - 1e-12)):
            return x
    raise AssertionError(f"no number in ({lo}, {hi})")


def above(share):
    """A share clearly above `share` (and below 1) that a firing test uses."""
    return nice(share, 1, min(4 * share, (share + 1) / 2))


def below(share):
    return nice(0, share, share / 2)


def counter(*phases):
    """promtool series values of a counter: phases of (minutes, increase per minute); the
    first phase starts at 0 at minute 0."""
    v = lambda x: f"{x:.12g}"  # no float noise (929999.9999999999) in the file
    parts, value = [], 0.0
    for i, (length, per_min) in enumerate(phases):
        if i == 0:
            parts.append(f"0+{v(per_min)}x{length}")
            value = per_min * length
        else:
            parts.append(f"{v(value + per_min)}+{v(per_min)}x{length - 1}")
            value += per_min * length
    return " ".join(parts)


def series(name, labels, values):
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def case(comment, name, inputs, checks):
    """One test: checks are (eval minute, alert, None for silent or (labels, value))."""
    tests = []
    for at, alert, firing in checks:
        check = {"eval_time": f"{at}m", "alertname": alert["alert"]}
        if firing is None:
            check["exp_alerts"] = []
        else:
            labels, value = firing
            check["exp_alerts"] = [{
                "exp_labels": {**alert["labels"], **labels},
                "exp_annotations": {k: render(v, labels, value) for k, v in sorted(alert["annotations"].items())},
            }]
        tests.append(check)
    return comment, {"name": name, "interval": "1m", "input_series": inputs, "alert_rule_test": tests}


def rule_tests(t, rule_groups):
    alert = {r["alert"]: r for g in rule_groups["groups"] for r in g["rules"] if "alert" in r}
    m = {k: minutes(v) for k, v in t.items() if SPECS[k] not in ("share", "factor", "rate")}
    cases = []

    # ErrlensRateLimitedShareRising: the 429 share jumps at minute j from p0 to p1. It
    # counts as rising from j + window + 1 (an alert may see the recorded share of the
    # evaluation before) until the offset reaches past j, at j + offset.
    a = alert["ErrlensRateLimitedShareRising"]
    s, rise = t["rate_limited_share"], t["rate_limited_rise"]
    w, off, hold = m["requests_window"], m["rate_limited_offset"], m["for_rate_limited"]
    j = off + w + 5
    at = j + w + 1 + hold + (off - w - hold - 1) // 2
    end = at + 5
    total = 1_000_000  # requests per minute
    p1 = above(s)
    p0 = nice(0, p1 / rise, p1 / rise / 2)
    low = below(s)
    low0 = nice(0, low / rise, low / rise / 2)

    def requests(provider, *phases):
        lab = {"instance": "a", "provider": provider}
        return [
            series("errlens_requests_total", {**lab, "status": "200", "class": "success"},
                   counter(*[(n, total * (1 - p)) for n, p in phases])),
            series("errlens_requests_total", {**lab, "status": "429", "class": "rate_limited"},
                   counter(*[(n, total * p) for n, p in phases])),
        ]
    cases.append(case(
        f"429 share jumps from {pct(p0)} to {pct(p1)} at {j}m: above {pct(s)} and more than "
        f"{num(rise)}x the share {t['rate_limited_offset']} earlier.",
        "rate-limited share rising fires", requests("simkl", (j, p0), (end - j, p1)),
        [(j, a, None), (at, a, ({"instance": "a", "provider": "simkl"}, p1))]))
    cases.append(case(
        f"Flat high: {pct(p1)} all along is high but not rising.",
        "rate-limited share flat high stays silent", requests("tmdb", (end, p1)),
        [(at, a, None)]))
    cases.append(case(
        f"Rising but low: {pct(low0)} to {pct(low)} is below the {pct(s)} floor.",
        "rate-limited share rising but low stays silent", requests("simkl", (j, low0), (end - j, low)),
        [(at, a, None)]))

    # ErrlensClientIdFailing: 6 412s a minute (0.1/s) from the start; pending from 1m.
    # Evaluated once the window is full (before, the rate is extrapolated from less).
    a = alert["ErrlensClientIdFailing"]
    hold = m["for_client_id_failed"]
    at = max(hold + 6, w + 2)
    lab = {"instance": "a", "provider": "simkl", "status": "412", "class": "client_id_failed"}
    cases.append(case(
        f"0.1 412s/s from the start: firing once it held {t['for_client_id_failed']}.",
        "sustained 412 fires", [series("errlens_requests_total", lab, counter((at + 5, 6)))],
        [(hold, a, None), (at, a, ({"instance": "a", "provider": "simkl"}, 0.1))]))
    cases.append(case(
        f"412s that stopped more than {t['requests_window']} ago.",
        "old 412s stay silent",
        [series("errlens_requests_total", lab, counter((5, 6), (w + 10, 0)))],
        [(5 + w + 5, a, None)]))

    # ErrlensWastedRetriesHigh: a share q of `per_min` retries a minute are wasted.
    a = alert["ErrlensWastedRetriesHigh"]
    ws, floor_rate = t["wasted_share"], t["wasted_min_rate"]
    at = m["retries_window"] + m["for_wasted"] + 5
    per_s = max(1.0, float(f"{4 * floor_rate:.2g}"))  # well above the floor
    q, q_low = above(ws), below(ws)

    def retries(per_second, share):
        lab = {"instance": "a", "provider": "tmdb"}
        return [series("errlens_retry_attempts_total", lab, counter((at + 5, 60 * per_second))),
                series("errlens_retries_total", {**lab, "kind": "wasted"}, counter((at + 5, 60 * per_second * share)))]
    cases.append(case(
        f"{pct(q)} of {num(per_s)} retries/s wasted: above {pct(ws)} and more than {num(floor_rate)} retries/s.",
        "wasted retries high fires", retries(per_s, q),
        [(at, a, ({"instance": "a", "provider": "tmdb"}, q))]))
    cases.append(case(
        f"{pct(q_low)} wasted is below {pct(ws)}.",
        "few wasted retries stay silent", retries(per_s, q_low), [(at, a, None)]))
    if floor_rate > 0:
        cases.append(case(
            f"{pct(q)} wasted, but only {num(floor_rate / 2)} retries/s: noise.",
            "wasted share of few retries stays silent", retries(floor_rate / 2, q), [(at, a, None)]))

    # ErrlensHiddenFailures: 2 hidden failures a minute from minute 6 on.
    a = alert["ErrlensHiddenFailures"]
    hw, hold = m["hidden_window"], m["for_hidden"]
    at = 6 + max(hold, hw) + 2
    lab = {"instance": "a", "provider": "tmdb"}
    cases.append(case(
        f"Hidden failures from 6m on: {2 * hw} in every {t['hidden_window']}, for longer than {t['for_hidden']}.",
        "hidden failures appearing fire",
        [series("errlens_hidden_failures_total", lab, counter((5, 0), (at, 2)))],
        [(5, a, None), (at, a, (lab, 2.0 * hw))]))
    cases.append(case(
        f"A burst of hidden failures more than {t['hidden_window']} ago.",
        "old hidden failures stay silent",
        [series("errlens_hidden_failures_total", lab, counter((5, 0), (1, 40), (hw + 10, 0)))],
        [(6 + hw + 2, a, None)]))
    cases.append(case(
        "No hidden failures.", "no hidden failures stay silent",
        [series("errlens_hidden_failures_total", lab, counter((hw + hold + 10, 0)))],
        [(hw + hold + 5, a, None)]))

    # ErrlensExporterDown: up is 0 from minute 11 on.
    a = alert["ErrlensExporterDown"]
    hold = m["for_down"]
    lab = {"job": "errlens", "instance": "a"}
    at = 11 + hold + 2
    cases.append(case(
        f"The scrape fails from 11m on, for longer than {t['for_down']}.",
        "exporter down fires", [series("up", lab, f"1x10 0x{hold + 10}")],
        [(10 + hold, a, None), (at, a, (lab, 0.0))]))
    cases.append(case(
        "The scrape works.", "exporter up stays silent", [series("up", lab, f"1x{at + 5}")],
        [(at, a, None)]))

    # ErrlensNoRecords: 50 records a minute until minute 20, then none.
    a = alert["ErrlensNoRecords"]
    nr, hold = m["no_records_for"], m["for_no_records"]
    at = 20 + nr + hold + 2
    lab = {"instance": "a", "result": "record"}
    cases.append(case(
        f"Records stop at 20m: none for {t['no_records_for']}, for longer than {t['for_no_records']}.",
        "no records fires", [series("errlens_lines_total", lab, counter((20, 50), (at - 15, 0)))],
        [(19 + nr + hold, a, None), (at, a, ({"instance": "a"}, 0.0))]))
    cases.append(case(
        "Records flowing.", "records flowing stay silent",
        [series("errlens_lines_total", lab, counter((at + 5, 50)))], [(at, a, None)]))

    # ErrlensMalformedShareHigh: a share of 1000 lines a minute is malformed.
    a = alert["ErrlensMalformedShareHigh"]
    ms = t["malformed_share"]
    at = m["malformed_window"] + m["for_malformed"] + 5
    q, q_low = above(ms), below(ms)

    def lines(share):
        return [series("errlens_lines_total", {"instance": "a", "result": "record"}, counter((at + 5, 1000 * (1 - share)))),
                series("errlens_lines_total", {"instance": "a", "result": "malformed"}, counter((at + 5, 1000 * share)))]
    cases.append(case(
        f"{pct(q)} of lines malformed: above {pct(ms)}.",
        "malformed share high fires", lines(q), [(at, a, ({"instance": "a"}, q))]))
    cases.append(case(
        f"{pct(q_low)} of lines malformed: below {pct(ms)}.",
        "low malformed share stays silent", lines(q_low), [(at, a, None)]))

    out = [
        "# Generated by dashboards/generate.py from dashboards/settings.toml: do not edit.",
        "# promtool test rules errlens-rules.test.yml",
        "# Every alert: a series that must fire it, and series that must not. Series values and",
        "# evaluation times are computed from the settings.",
        "rule_files:",
        "  - errlens-rules.yml",
        "evaluation_interval: 1m",
        "",
        "tests:",
    ]
    for comment, c in cases:
        out.append(f"  # {comment}")
        out.append(to_yaml([c], 1))
        out.append("")
    return "\n".join(out)


def to_yaml(obj, indent=0):
    """A small YAML writer (strings always quoted, via JSON escaping)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 1))
            else:
                out.append(f"{pad}{k}: {scalar(v)}")
    else:
        for item in obj:
            inner = to_yaml(item, indent + 1).lstrip() if isinstance(item, (dict, list)) else scalar(item)
            out.append(f"{pad}- {inner}")
    return "\n".join(out)


def scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"generate.py: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def main():
    ap = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override one setting of settings.toml for this run (repeatable)")
    ap.add_argument("--settings", default=SETTINGS, metavar="FILE", help="the settings file (default: dashboards/settings.toml)")
    ap.add_argument("--out", default=HERE, metavar="DIR", help="write grafana/ and prometheus/ under DIR (default: dashboards/)")
    args = ap.parse_args()
    try:
        t = load_settings(args.settings, args.set)
    except SettingsError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        sys.exit(2)
    boards = {
        "errlens-overview": ("errlens / Overview", "Requests and failures by provider, class and error.", overview),
        "errlens-rate-limits": ("errlens / Rate limits", "429 and 412 pressure by provider, client and endpoint; latency.", rate_limits),
        "errlens-retry-hygiene": ("errlens / Retry hygiene", "How clients retry: wasted, early, over-limit retries; chain outcomes.", retry_hygiene),
        "errlens-exporter-health": ("errlens / Exporter health", "errlens serve itself: input, malformed share, rotations, lag.", exporter_health),
    }
    the_rules = rules(t)
    files = {os.path.join("grafana", f"{uid}.json"): json.dumps(dashboard(uid, title, desc, build, t), indent=2) + "\n"
             for uid, (title, desc, build) in boards.items()}
    files[os.path.join("prometheus", "errlens-rules.yml")] = (
        "# Generated by dashboards/generate.py from dashboards/settings.toml: edit the settings there\n"
        "# (or override them with --set NAME=VALUE) and run it again.\n" + to_yaml(the_rules) + "\n")
    files[os.path.join("prometheus", "errlens-rules.test.yml")] = rule_tests(t, the_rules)
    try:
        for rel, text in files.items():
            path = os.path.join(args.out, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    except OSError as e:
        print(f"generate.py: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
