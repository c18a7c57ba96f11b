"""errlens' counting work done by a general-purpose engine, for benches/compare.sh.

    python count.py duckdb|polars|chdb LOG.jsonl > counts.json

The engine reads the flat NDJSON log written by `errlens gen` itself, with explicit
columns, on every core it can use, and computes in one pass over the file:

- records (lines with a `status`) by (provider, status, error, code), the key of the
  `groups` of `errlens report --format json`;
- retries: records with `attempt` > 1, in total and per provider;
- latency: records with a `latency_ms` per provider, a cumulative histogram with upper
  bounds 5, 10, 20, 40, 80, 160, 320, 640, 1280 ms (Prometheus `le` buckets; `+Inf`
  is every latency) and the sum of the latencies.

The definitions follow errlens' for this log (docs/report-schema.md, docs/providers.md
and the built-in provider definitions in crates/errlens-classify/providers/):

- provider: the URL's host, lower-cased (user@, port and a trailing dot dropped):
  api.simkl.com / api.simkl.org -> simkl, api.themoviedb.org / api.tmdb.org -> tmdb,
  anything else -> unknown. errlens would name a record of another host (or without a
  URL) by its body's keys instead; the generated log has none, and if it ever had, the
  groups check against errlens would fail rather than pass silently;
- error: Simkl's errors are ids: the `error` field as logged when it looks like an id
  ([A-Za-z0-9_.-]{1,64}), else "<invalid>", null when absent; TMDB's errors are own
  codes, so its `error` is always null (the same rule as Simkl for `unknown`);
- code: TMDB's own code, the `status_code` field; null for every other provider (Simkl
  bodies carry a `code` too, but it only echoes the HTTP status and is not a group key).

The engine groups the lines by (URL authority, status, raw error, status_code) with all
the per-line aggregates; mapping those few group rows to host, provider, error and code
is a second, tiny query in the same engine. The output is canonical JSON (sorted), so that
two engines' outputs are equal byte for byte exactly when their counts are.
"""

import json
import os
import sys

BUCKETS = [5, 10, 20, 40, 80, 160, 320, 640, 1280]
SIMKL_HOSTS = ["api.simkl.com", "api.simkl.org"]
TMDB_HOSTS = ["api.themoviedb.org", "api.tmdb.org"]
# The pass over the file groups by the URL's authority (`[userinfo@]host[:port]`, the
# third `/`-separated part of `scheme://authority/...`), which costs a string split per
# line, not a regular expression; the host is taken out of the few distinct
# authorities in the second query (RE2 and Rust regex alike). A per-line regex costs
# DuckDB about 2 s on 5M lines: the engines get their fastest correct query.
AUTH_RE = r"^(?:[^@]*@)?([^:]*)"
ID_RE = r"^[A-Za-z0-9_.-]{1,64}$"
THREADS = os.cpu_count() or 1

# Per-line aggregates, shared by the two SQL engines (`a_` names inside, so that the
# outer sums can take the plain names without ClickHouse reading them as aliases).
AGG_COLS = ["n", "retries", "lat_n", "lat_sum"] + [f"le_{b}" for b in BUCKETS]
AGGS_SQL = ",\n  ".join(
    ["count(*) AS a_n", "count_if(attempt > 1) AS a_retries",
     "count(latency_ms) AS a_lat_n", "coalesce(sum(latency_ms), 0) AS a_lat_sum"]
    + [f"count_if(latency_ms <= {b}) AS a_le_{b}" for b in BUCKETS]
)


def provider_sql(host):
    simkl = ", ".join(f"'{h}'" for h in SIMKL_HOSTS)
    tmdb = ", ".join(f"'{h}'" for h in TMDB_HOSTS)
    return (f"CASE WHEN {host} IN ({simkl}) THEN 'simkl' "
            f"WHEN {host} IN ({tmdb}) THEN 'tmdb' ELSE 'unknown' END")


def mapped_sql(inner, full_match, host_sql):
    """The second query: group rows keyed by host and raw fields -> errlens' keys."""
    aggs = ", ".join(f"a_{c}" for c in AGG_COLS)
    sums = ", ".join(f"sum(a_{c}) AS {c}" for c in AGG_COLS)
    return f"""
SELECT provider, status, error, code, {sums}
FROM (
  SELECT provider, status,
         CASE WHEN provider = 'tmdb' OR raw_error IS NULL THEN NULL
              WHEN {full_match} THEN raw_error ELSE '<invalid>' END AS error,
         CASE WHEN provider = 'tmdb' THEN status_code END AS code,
         {aggs}
  FROM (
    SELECT {provider_sql('host')} AS provider, status, raw_error, status_code, {aggs}
    FROM (SELECT {host_sql}, * FROM ({inner}) AS a) AS g
  ) AS p
) AS m
GROUP BY provider, status, error, code
"""


def run_duckdb(log):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    path = log.replace("'", "''")
    inner = f"""
SELECT split_part(url, '/', 3) AS authority,
       status, error AS raw_error, status_code,
  {AGGS_SQL}
FROM read_ndjson('{path}', format = 'newline_delimited', columns = {{
  url: 'VARCHAR', status: 'BIGINT', latency_ms: 'BIGINT', attempt: 'BIGINT',
  error: 'VARCHAR', status_code: 'BIGINT'}})
WHERE status IS NOT NULL
GROUP BY ALL
"""
    sql = mapped_sql(inner, f"regexp_full_match(raw_error, '{ID_RE}')",
                     f"rtrim(lower(regexp_extract(authority, '{AUTH_RE}', 1)), '.') AS host")
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def run_chdb(log):
    import chdb

    path = log.replace("\\", "\\\\").replace("'", "\\'")
    schema = ("url Nullable(String), status Nullable(Int64), latency_ms Nullable(Int64), "
              "attempt Nullable(Int64), error Nullable(String), status_code Nullable(Int64)")
    aggs = AGGS_SQL.replace("count_if(", "countIf(")
    inner = f"""
SELECT if(url IS NULL, NULL, splitByChar('/', assumeNotNull(url))[3]) AS authority,
       status, error AS raw_error, status_code,
  {aggs}
FROM file('{path}', 'JSONEachRow', '{schema}')
WHERE status IS NOT NULL
GROUP BY authority, status, raw_error, status_code
"""
    sql = mapped_sql(inner, f"match(raw_error, '{ID_RE}')",
                     f"trimRight(lower(extract(assumeNotNull(authority), '{AUTH_RE}')), '.') AS host")
    sql += f"""SETTINGS max_threads = {THREADS}, input_format_parallel_parsing = 1,
  input_format_skip_unknown_fields = 1"""
    res = chdb.query(sql, "JSONEachRow")
    return [json.loads(line) for line in res.bytes().decode().splitlines() if line]


def run_polars(log):
    import polars as pl

    schema = {"url": pl.String, "status": pl.Int64, "latency_ms": pl.Int64,
              "attempt": pl.Int64, "error": pl.String, "status_code": pl.Int64}
    lat = pl.col("latency_ms")
    authority = pl.col("url").str.split_exact("/", 3).struct.field("field_2").alias("authority")
    grouped = (
        pl.scan_ndjson(log, schema=schema)
        .filter(pl.col("status").is_not_null())
        .group_by(authority, "status", pl.col("error").alias("raw_error"), "status_code")
        .agg(
            n=pl.len(),
            retries=(pl.col("attempt") > 1).sum(),
            lat_n=lat.count(),
            lat_sum=lat.sum(),
            **{f"le_{b}": (lat <= b).sum() for b in BUCKETS},
        )
        .collect(engine="streaming")
    )
    h = pl.col("host")
    host = (pl.col("authority").str.extract(AUTH_RE, 1).str.to_lowercase()
            .str.strip_chars_end(".").alias("host"))
    provider = (pl.when(h.is_in(SIMKL_HOSTS)).then(pl.lit("simkl"))
                .when(h.is_in(TMDB_HOSTS)).then(pl.lit("tmdb"))
                .otherwise(pl.lit("unknown")))
    raw = pl.col("raw_error")
    rows = (
        grouped.lazy()
        .with_columns(host)
        .with_columns(provider=provider)
        .with_columns(
            error=pl.when((pl.col("provider") == "tmdb") | raw.is_null()).then(None)
            .when(raw.str.contains(ID_RE)).then(raw).otherwise(pl.lit("<invalid>")),
            code=pl.when(pl.col("provider") == "tmdb").then(pl.col("status_code")),
        )
        .group_by("provider", "status", "error", "code")
        .agg(*[pl.col(c).sum() for c in AGG_COLS])
        .collect()
    )
    return rows.to_dicts()


def canonical(rows):
    """The engine's group rows -> the JSON that compare.sh compares."""
    groups, retries, lat_n = [], {}, {}
    le = {str(b): 0 for b in BUCKETS}
    lat_sum = 0
    for r in rows:
        p = r["provider"]
        code = None if r["code"] is None else int(r["code"])
        groups.append([p, int(r["status"]), r["error"], code, int(r["n"])])
        retries[p] = retries.get(p, 0) + int(r["retries"])
        if int(r["lat_n"]):
            lat_n[p] = lat_n.get(p, 0) + int(r["lat_n"])
        lat_sum += int(r["lat_sum"])
        for b in BUCKETS:
            le[str(b)] += int(r[f"le_{b}"])
    le["+Inf"] = sum(lat_n.values())
    groups.sort(key=lambda g: (g[0], g[1], g[2] or "", -1 if g[3] is None else g[3]))
    return {
        "records": sum(g[4] for g in groups),
        "groups": groups,
        "retries": {"total": sum(retries.values()),
                    "by_provider": {p: n for p, n in retries.items() if n}},
        "latency_ms": {"count_by_provider": lat_n, "le": le, "sum": lat_sum},
    }


def main():
    engines = {"duckdb": run_duckdb, "polars": run_polars, "chdb": run_chdb}
    if len(sys.argv) != 3 or sys.argv[1] not in engines:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(engines)} LOG.jsonl")
    log = os.path.abspath(sys.argv[2])
    out = canonical(engines[sys.argv[1]](log))
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
