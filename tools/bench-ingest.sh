#!/usr/bin/env bash
# Durable ingest (acks after acks=all) with the gateway and the client in separate processes, so
# that each one's CPU is its own: `chat-bench --serve-seconds` runs the in-process gateway on its
# embedded cluster, a second chat-bench drives the ingest scenario against it (--url). The server's
# utime+stime is sampled over 5 s inside the measured window. One line per run: acks/s, ack
# latency, server cores, server CPU per ack, client cores, load average.
#
#   tools/bench-ingest.sh                                   # release build; 3 runs of the default shape
#   tools/bench-ingest.sh --runs 5 -- --ingest-clients 64 --window 16
#   tools/bench-ingest.sh --server-args "--kafka-property linger.ms=1" \
#       --vs-args "--kafka-property linger.ms=5"          # A B A B: the same build, two settings
#   tools/bench-ingest.sh --server old/chat-bench --vs .build/release/chat-bench   # two builds
#
# Arguments after -- go to the client (chat-bench's ingest options). With --vs (another server
# binary) or --vs-args, runs alternate A B A B so drift on a shared machine hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."

server="" vs="" server_args="" vs_args="" runs=3 compare=0
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift ;;
    --vs) vs=$2; compare=1; shift ;;
    --server-args) server_args=$2; shift ;;
    --vs-args) vs_args=$2; compare=1; shift ;;
    --runs) runs=$2; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$server" ]; then
  bash tools/build-benchmarks.sh -c release --product chat-bench >&2
  server="$(swift build -c release --show-bin-path)/chat-bench"
fi
client=$server
[ -n "$vs" ] || vs=$server

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

one() {  # label, binary, server args, client args...
  local label=$1 binary=$2 args=$3; shift 3
  # shellcheck disable=SC2086
  "$binary" --serve-seconds 40 $args >"$work/url" 2>"$work/serve.err" &
  local spid=$!
  for _ in $(seq 150); do [ -s "$work/url" ] && break; sleep 0.2; done
  sleep 2
  "$client" --url "$(head -1 "$work/url")" --scenarios ingest --skip-baselines --idle-sessions 0 "$@" >/dev/null 2>"$work/client.err" &
  local cpid=$!
  sleep 3
  local t0 s0 t1 s1
  t0=$(awk '{print $14+$15}' /proc/$spid/stat); s0=$(date +%s.%N)
  sleep 5
  t1=$(awk '{print $14+$15}' /proc/$spid/stat); s1=$(date +%s.%N)
  wait $cpid || true
  kill $spid 2>/dev/null || true
  wait $spid 2>/dev/null || true
  local acks latency clientcores cores
  acks=$(grep -o 'ingest: [0-9.]* acks/s' "$work/client.err" | grep -o '[0-9.]*' | head -1 || true)
  latency=$(grep -o 'ack n=[0-9]* p50 [0-9.]* p90 [0-9.]* p99 [0-9.]*' "$work/client.err" | sed 's/ack n=[0-9]* //; s/ p90 [0-9.]*//' || true)
  clientcores=$(grep -o 'process CPU [0-9.]* cores' "$work/client.err" | grep -o '[0-9.]*' || true)
  cores=$(echo "($t1 - $t0) / 100 / ($s1 - $s0)" | bc -l)
  if [ -z "$acks" ]; then echo "$label: failed: $(tail -2 "$work/client.err")"; return; fi
  printf '%s: %s acks/s | ack %s ms | server %.2f cores, %.0f us CPU per ack | client %s cores | load %s\n' \
    "$label" "$acks" "$latency" "$cores" "$(echo "$cores * 1000000 / $acks" | bc -l)" "$clientcores" "$(cut -d' ' -f1 /proc/loadavg)"
}

for _ in $(seq "$runs"); do
  one A "$server" "$server_args" "$@"
  if [ $compare = 1 ]; then one B "$vs" "$vs_args" "$@"; fi
done
