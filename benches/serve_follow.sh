#!/usr/bin/env bash
# Throughput of `errlens serve` following a growing file while scraped every second,
# against `errlens report` on the same lines in the same run (the ratio is what to
# compare across machines). Usage: benches/serve_follow.sh [LINES]
set -euo pipefail
calc() { awk "BEGIN { print $1 }"; }
cd "$(dirname "$0")/.."
lines=${1:-2000000}
cargo build --release -q
bin=target/release/errlens
work=$(mktemp -d)
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
$bin gen --lines "$lines" --seed 7 -o "$work/src.jsonl"
bytes=$(stat -c %s "$work/src.jsonl")

# Baseline: the offline report over the same file.
t0=$(date +%s.%N)
$bin report "$work/src.jsonl" -o /dev/null
t1=$(date +%s.%N)
report_s=$(calc "$t1 - $t0")

# Live: follow a file that grows in 8 MiB appends, scraped every second.
: > "$work/live.jsonl"
$bin serve --follow "$work/live.jsonl" --from-start --poll-interval 50ms --listen 127.0.0.1:0 2> "$work/serve.err" &
serve_pid=$!
for _ in $(seq 50); do grep -q "serving metrics on" "$work/serve.err" && break; sleep 0.1; done
addr=$(sed -n 's|.*serving metrics on http://\(.*\)/metrics|\1|p' "$work/serve.err")
scrapes=0
t0=$(date +%s.%N)
( split -b 8M --filter='cat >> '"$work/live.jsonl" "$work/src.jsonl" ) &
writer=$!
while :; do
  sleep 1
  scrapes=$((scrapes + 1))
  total=$(curl -s "http://$addr/metrics" | awk '/^errlens_lines_total/ {s += $2} END {printf "%d", s}')
  [ "$total" -ge "$lines" ] && break
done
t1=$(date +%s.%N)
wait $writer
serve_s=$(calc "$t1 - $t0")
printf '| what | lines | seconds | lines/s | MB/s |\n|---|---:|---:|---:|---:|\n'
printf '| errlens report (baseline) | %d | %.2f | %.0f | %.0f |\n' "$lines" "$report_s" "$(calc "$lines / $report_s")" "$(calc "$bytes / $report_s / 1000000")"
printf '| errlens serve, following, scraped every 1 s (%d scrapes) | %d | %.2f | %.0f | %.0f |\n' "$scrapes" "$lines" "$serve_s" "$(calc "$lines / $serve_s")" "$(calc "$bytes / $serve_s / 1000000")"
printf '\nserve/report throughput ratio: %.2f (serve time is rounded up to the 1 s scrape)\n' "$(calc "$report_s / $serve_s")"
