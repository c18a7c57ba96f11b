#!/usr/bin/env bash
# Side-by-side: errlens against mtail, DuckDB, Polars, chDB, jq, grep and `wc -l` on the
# same generated log, and errlens on the gzipped log against `zcat`, run alternately,
# several runs each; checks that errlens' counts equal mtail's, that the gzip,
# single-thread and all-core reports are identical, and that DuckDB, Polars and chDB
# count the same as errlens, mtail and each other (benches/engines/check.py says what is
# compared with what); then prints a Markdown table (median wall time, MB/s of
# uncompressed log, peak RSS, cores used = (user + system CPU time) / wall time, ratio
# to errlens) and the goal ratios.
#
#   benches/compare.sh                  # 5,000,000 lines (~900 MB), 3 runs each
#   LINES=1000000 RUNS=5 benches/compare.sh
#   WORK=/tmp/bench benches/compare.sh  # keep the log and every tool's output there
#
# Installs mtail, jq and GNU time from Debian if missing (needs root or sudo), and the
# engines (benches/engines/requirements.txt) with pip into a virtual environment,
# target/bench-venv (BENCH_VENV=DIR for another), when it is missing or its pins changed.
# Each engine runs benches/engines/count.py: one Python process that imports the engine
# and has it read the NDJSON itself, on all cores (the import is in the time).
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-5000000}
RUNS=${RUNS:-3}
if [ -z "${WORK:-}" ]; then
  # A directory of our own (the log and its gzip, ~1.3 GB at the default size): removed
  # on exit. A WORK given by the caller is kept, and its log reused.
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
else
  mkdir -p "$WORK" # created when missing, then kept
fi

missing=()
command -v mtail >/dev/null || missing+=(mtail)
command -v jq >/dev/null || missing+=(jq)
command -v gzip >/dev/null || missing+=(gzip)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo build --release -q
venv=${BENCH_VENV:-$PWD/target/bench-venv}
req=benches/engines/requirements.txt
if ! cmp -s "$req" "$venv/requirements.txt"; then
  echo "installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv" >&2
  if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ]; then
    echo "$venv exists and is no virtual environment: not replacing it" >&2; exit 1
  fi
  rm -rf "$venv"
  if ! python3 -m venv "$venv" > /dev/null 2>&1; then # Debian: no ensurepip without python3-venv
    rm -rf "$venv"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt" # the stamp: installed, with these pins
fi
py=$venv/bin/python
version() { grep "^$1==" "$req" | cut -d= -f3; }
bin=$PWD/target/release/errlens
log=$WORK/errlens-bench-$LINES.jsonl
[ -s "$log" ] || "$bin" gen --lines "$LINES" --seed 42 -o "$log"
gz=$log.gz
[ -s "$gz" ] || gzip -c "$log" > "$gz"
bytes=$(stat -c %s "$log")
cat "$log" "$gz" > /dev/null # page cache warm for everyone

: > "$WORK/times"
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.$name" "$@" > "$WORK/out.$name" 2> "$WORK/err.$name"
  echo "$name $(cat "$WORK/time.$name")" >> "$WORK/times"
}
for r in $(seq "$RUNS"); do
  echo "run $r of $RUNS" >&2
  run wc wc -l "$log"
  run grep grep -c '"status":429' "$log"
  run errlens "$bin" report "$log" --format json
  run errlens_1_thread "$bin" report "$log" --format json --threads 1
  run mtail mtail --one_shot --one_shot_format prometheus --emit_prog_label=false \
    --progs benches/errlens.mtail --logs "$log"
  for engine in duckdb polars chdb; do
    run "$engine" "$py" benches/engines/count.py "$engine" "$log"
  done
  run jq jq -n 'reduce inputs as $l ({}; .[($l.status | tostring)] += 1)' "$log"
  run zcat sh -c 'zcat "$1" > /dev/null' zcat "$gz"
  run errlens_gz "$bin" report "$gz" --format json
done

# The counts must agree: errlens' report against mtail's counters.
sum_mtail() { awk -v m="$1" '$1 ~ "^"m"([{]|$)" { s += $NF } END { printf "%d", s }' "$WORK/out.mtail"; }
e="$WORK/out.errlens"
check() {
  if [ "$2" != "$3" ]; then echo "MISMATCH $1: errlens $2, mtail $3" >&2; exit 1; fi
  echo "counts agree: $1 = $2" >&2
}
check requests "$(jq .records "$e")" "$(sum_mtail requests)"
check retries "$(jq .retries.total "$e")" "$(sum_mtail retries)"
check simkl_error_ids "$(jq '[.groups[] | select(.error != null) | .count] | add' "$e")" "$(sum_mtail simkl_errors)"
check tmdb_codes "$(jq '[.groups[] | select(.tmdb_code != null) | .count] | add' "$e")" "$(sum_mtail tmdb_codes)"
for s in 200 412 429 500; do
  check "status $s" "$(jq ".by_status[\"$s\"] // 0" "$e")" \
    "$(awk -v s="$s" '$1 ~ /^requests[{]/ && $1 ~ "status=\""s"\"" { t += $NF } END { printf "%d", t }' "$WORK/out.mtail")"
done
check "errlens 1 thread = 2 threads" "$(jq -S -c . "$WORK/out.errlens_1_thread" | md5sum)" "$(jq -S -c . "$e" | md5sum)"
# The gzip report names another file; everything else must be identical.
same() { jq -S -c 'del(.inputs) | .malformed_sample |= map(del(.file))' "$1" | md5sum; }
check "errlens gzip = plain" "$(same "$WORK/out.errlens_gz")" "$(same "$e")"
# DuckDB, Polars and chDB against errlens' report, mtail's histogram and each other.
"$py" benches/engines/check.py "$e" "$WORK/out.mtail" \
  duckdb="$WORK/out.duckdb" polars="$WORK/out.polars" chdb="$WORK/out.chdb"

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(awk '$1 == "errlens" { print $2 }' "$WORK/times" | median)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo
echo "$LINES lines, $((bytes / 1000000)) MB, $(nproc) cores ($cpu), median of $RUNS runs, page cache warm"
echo
echo "| tool | median wall (s) | MB/s | peak RSS (MB) | cores used | time vs errlens |"
echo "|---|---:|---:|---:|---:|---:|"
for name in errlens errlens_1_thread errlens_gz zcat mtail duckdb polars chdb jq grep wc; do
  wall=$(awk -v n="$name" '$1 == n { print $2 }' "$WORK/times" | median)
  rss=$(awk -v n="$name" '$1 == n { print $3 }' "$WORK/times" | sort -n | tail -1)
  # (user + system) / wall of each run, median over the runs
  cores=$(awk -v n="$name" '$1 == n { print ($2 > 0) ? ($4 + $5) / $2 : 0 }' "$WORK/times" | median)
  label=$name
  case $name in
    errlens) label="errlens report --format json (all cores)" ;;
    errlens_1_thread) label="errlens report --threads 1" ;;
    errlens_gz) label="errlens report FILE.gz --format json (all cores)" ;;
    zcat) label="zcat FILE.gz > /dev/null" ;;
    mtail) label="mtail --one_shot (benches/errlens.mtail)" ;;
    duckdb) label="DuckDB $(version duckdb) read_ndjson (all cores)" ;;
    polars) label="Polars $(version polars) scan_ndjson, streaming (all cores)" ;;
    chdb) label="chDB $(version chdb) file(JSONEachRow) (all cores)" ;;
    jq) label="jq (count by status only)" ;;
    grep) label="grep -c '\"status\":429'" ;;
    wc) label="wc -l" ;;
  esac
  awk -v l="$label" -v w="$wall" -v r="$rss" -v c="$cores" -v b="$bytes" -v base="$base" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.0f | %.2f | %.2fx |\n", l, w, b / w / 1e6, r / 1024, c, w / base }'
done
m() { awk -v n="$1" '$1 == n { print $2 }' "$WORK/times" | median; }
echo
awk -v e="$base" -v e1="$(m errlens_1_thread)" -v d="$(m duckdb)" -v mt="$(m mtail)" -v wc="$(m wc)" \
  -v g="$(m errlens_gz)" -v z="$(m zcat)" -v b="$bytes" 'BEGIN {
  printf "- errlens takes %.2fx DuckDB'"'"'s time (goal: <= 0.5x)\n", e / d
  printf "- errlens: %.2f GB/s on all cores (goal: >= 1 GB/s on 2 cores)\n", b / e / 1e9
  printf "- errlens --threads 1: %.2f GB/s (goal: >= 0.5 GB/s)\n", b / e1 / 1e9
  printf "- errlens takes %.1fx the time of wc -l (goal: <= 6x)\n", e / wc
  printf "- errlens is %.1fx faster than mtail\n", mt / e
  printf "- errlens on gzip takes %.2fx the time of zcat (goal: <= 1.3x)\n", g / z
}'
