#!/usr/bin/env bash
# chatd against its peers: fan-out latency and loss, and idle memory per session, of the release
# chatd (embedded cluster), nchan (nginx) and NATS (core, over WebSocket), all driven by the same
# load tool (fanbench, Go) with the same shape, in one run. For every rate the three servers are
# measured back to back (interleaved, the first one rotating), each on a fresh process that the
# script starts and stops itself; everything listens on loopback only. Installs what is missing
# (Debian: nats-server, nginx-light, libnginx-mod-nchan, python3-websockets, gnuplot-nox; fanbench
# is built by its own build.sh). Writes OUT/peers.json (every run, the machine, the git commit),
# OUT/peers.md (the table, also printed on stdout) and OUT/bench-peers.png (p99 against
# deliveries/s). Progress goes to stderr. See docs/benchmarks.md, "Against the peers (fanbench)".
# The shape part runs chatd alone at one deliveries/s in rooms of different sizes (many small rooms,
# one very large room), so that whether the cost per delivery depends on the room's size can be read
# off; BENCH_ONLY=shape (or --only shape) runs only that part.
#
#   tools/bench-peers.sh                                   # the full run, about 6 minutes plus the build
#   tools/bench-peers.sh --duration 3 --rates 100 --members 10 --idle-sessions 200   # a quick check
#   BENCH_ONLY=shape tools/bench-peers.sh --output /tmp/shape          # the shape part alone, about 2 minutes
#   tools/bench-peers.sh --help
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

usage() {
  cat <<'EOF'
usage: tools/bench-peers.sh [options]
  --duration S          sending time of each measured run, seconds (10)
  --rates LIST          total messages/s, comma-separated (200,1000,2000,4000)
  --rooms N             rooms (10)
  --members N           subscribers per room (100); deliveries/s = rate x members
  --size N              message body bytes, about (100)
  --sender-rate N       messages/s per sender connection at most (40: under chatd's 50 req/s limit)
  --warmup S            unmeasured run before each measured one, seconds (2; 0: none)
  --warmup-rate N       its total messages/s (200)
  --settle S            wait for late deliveries after sending, seconds (3)
  --idle-sessions N     idle sessions opened per server for the memory figure (5000; 0: skip)
  --shapes LIST         chatd's shape part: rooms x members, comma-separated (100x10,10x100,1x1000)
  --shape-deliveries N  deliveries/s offered in every shape (100000); msgs/s = N / members
  --only LIST           run only these parts: rates, idle, shape (all three) [BENCH_ONLY]
  --servers LIST        chat,nats,nchan (all three)
  --output DIR          where peers.json, peers.md and bench-peers.png go (bench-results/peers)
  --chatd PATH          use this chatd binary instead of building the release one
  --shared-tools DIR    fanbench and the peers' configs (../shared/tools from the repository)
EOF
}

duration=10 rates=200,1000,2000,4000 rooms=10 members=100 size=100 sender_rate=40
warmup=2 warmup_rate=200 settle=3 idle_sessions=5000 servers=chat,nats,nchan
output=bench-results/peers chatd="" shared="${SHARED_TOOLS:-$repo/../shared/tools}"
shapes=100x10,10x100,1x1000 shape_deliveries=100000 only="${BENCH_ONLY:-rates,idle,shape}"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2 ;;
    --rates) rates=$2 ;;
    --rooms) rooms=$2 ;;
    --members) members=$2 ;;
    --size) size=$2 ;;
    --sender-rate) sender_rate=$2 ;;
    --warmup) warmup=$2 ;;
    --warmup-rate) warmup_rate=$2 ;;
    --settle) settle=$2 ;;
    --idle-sessions) idle_sessions=$2 ;;
    --servers) servers=$2 ;;
    --output) output=$2 ;;
    --chatd) chatd=$2 ;;
    --shared-tools) shared=$2 ;;
    --shapes) shapes=$2 ;;
    --shape-deliveries) shape_deliveries=$2 ;;
    --only) only=$2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-peers: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift 2 || { echo "bench-peers: $1 needs a value" >&2; exit 2; }
done
for n in "$duration" "$rooms" "$members" "$size" "$sender_rate" "$warmup" "$warmup_rate" "$settle" "$idle_sessions" "$shape_deliveries"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench-peers: '$n' is not a whole number" >&2; exit 2; }
done
[[ "$rates" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench-peers: --rates takes numbers separated by commas" >&2; exit 2; }
[[ "$servers" =~ ^(chat|nats|nchan)(,(chat|nats|nchan))*$ ]] || { echo "bench-peers: --servers takes chat, nats, nchan" >&2; exit 2; }
[[ "$shapes" =~ ^[1-9][0-9]*x[1-9][0-9]*(,[1-9][0-9]*x[1-9][0-9]*)*$ ]] || { echo "bench-peers: --shapes takes ROOMSxMEMBERS separated by commas" >&2; exit 2; }
[[ "$only" =~ ^(rates|idle|shape)(,(rates|idle|shape))*$ ]] || { echo "bench-peers: --only (BENCH_ONLY) takes rates, idle, shape" >&2; exit 2; }
IFS=, read -r -a rate_list <<<"$rates"
IFS=, read -r -a shape_list <<<"$shapes"
IFS=, read -r -a server_list <<<"$servers"
[ -d "$shared/fanbench" ] && [ -d "$shared/peers" ] ||
  { echo "bench-peers: no fanbench and peers/ in $shared (set --shared-tools)" >&2; exit 2; }
shared=$(cd "$shared" && pwd)

log() { echo "bench-peers: $*" >&2; }
wants() { [[ ",$only," == *",$1,"* ]]; }

# Debian's python3 is the one python3-websockets installs into (a pyenv python3 may come first).
py=/usr/bin/python3
packages=(nats-server nginx-light libnginx-mod-nchan python3 python3-websockets gnuplot-nox curl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
fanbench=$("$shared/fanbench/build.sh" "$HOME/.cache/fanbench")

if [ -z "$chatd" ]; then
  if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="$PATH:/opt/swift/usr/bin"; fi
  log "building release chatd"
  swift build -c release --product chatd >&2
  chatd="$(swift build -c release --show-bin-path)/chatd"
fi
[ -x "$chatd" ] || { echo "bench-peers: no chatd at $chatd" >&2; exit 2; }

# Every session costs a descriptor in the server and one in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$output"
output=$(cd "$output" && pwd)
work=$(mktemp -d /tmp/bench-peers.XXXXXX)
runs="$work/runs.jsonl" idles="$work/idle.jsonl"
: >"$runs"; : >"$idles"
ticks=$(getconf CLK_TCK)

chat_port=18090 nats_port=18085 nchan_port=18080   # nats.conf and nchan.conf fix the peers' ports
declare -A port=([chat]=$chat_port [nats]=$nats_port [nchan]=$nchan_port)
main_pid="" server_pid="" load_pid=""

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_server() {
  [ -n "$main_pid" ] || return 0
  kill -TERM "$main_pid" 2>/dev/null || true
  # chatd drains for up to 10 s; give it 20 before SIGKILL.
  for _ in $(seq 1 200); do kill -0 "$main_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$main_pid" 2>/dev/null || true
  wait "$main_pid" 2>/dev/null || true
  main_pid="" server_pid=""
}

cleanup() {
  [ -n "$load_pid" ] && kill -TERM "$load_pid" 2>/dev/null || true
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a fresh server; sets main_pid (to stop) and server_pid (whose memory and CPU count).
start_server() {
  local name=$1 logfile="$output/logs/$2.log" p=${port[$1]}
  mkdir -p "$output/logs"
  if port_open "$p"; then echo "bench-peers: port $p is in use; stop what listens there" >&2; exit 1; fi
  case "$name" in
    chat)
      # The gateway role: fan-out without the history compactor, which a deployment runs apart.
      rm -rf "$work/snapshots"
      # fanbench's thousands of sessions all come from loopback: lift the per-address bound.
      "$chatd" --host 127.0.0.1 --port "$p" --node-id bench-peers --role gateway \
        --max-connections-per-ip 1000000 --snapshots "$work/snapshots" >"$logfile" 2>&1 &
      main_pid=$! server_pid=$main_pid ;;
    nats)
      nats-server -c "$shared/peers/nats.conf" >"$logfile" 2>&1 &
      main_pid=$! server_pid=$main_pid ;;
    nchan)
      rm -rf "$work/nginx"; mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
      nginx -p "$work/nginx" -c "$shared/peers/nchan.conf" -g 'daemon off;' >"$logfile" 2>&1 &
      main_pid=$! server_pid="" ;;
  esac
  local ready=""
  for _ in $(seq 1 600); do
    kill -0 "$main_pid" 2>/dev/null || break
    case "$name" in
      chat) [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/readyz")" = 200 ] && ready=1 ;;
      *) port_open "$p" && ready=1 ;;
    esac
    # nginx serves from its one worker process (worker_processes 1), not the master.
    if [ -n "$ready" ] && [ "$name" = nchan ]; then
      server_pid=$(pgrep -P "$main_pid" | head -1 || true)
      [ -n "$server_pid" ] || ready=""
    fi
    [ -n "$ready" ] && break
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "bench-peers: $name did not become ready; the end of $logfile:" >&2
    tail -20 "$logfile" >&2
    exit 1
  fi
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Runs fanbench against the running server; bounded by timeout in case a server stops reading.
fanbench_run() {
  local name=$1 rate=$2 seconds=$3 senders=$4 out=$5
  timeout --kill-after=10 "$((seconds + settle + 240))" "$fanbench" -mode "$name" -url "http://127.0.0.1:${port[$name]}" \
    -rooms "$rooms" -members "$members" -senders "$senders" -rate "$rate" -size "$size" \
    -duration "${seconds}s" -settle "${settle}s" >"$out" 2>>"$output/logs/fanbench.log" &
  load_pid=$!
  local status=0
  wait "$load_pid" || status=$?
  load_pid=""
  return "$status"
}

# nchan keeps a channel's messages and hands a new subscriber the newest one: delete what the
# warm-up left so that the measured run counts only its own messages.
nchan_forget() {
  for ((r = 0; r < rooms; r++)); do curl -s -o /dev/null -X DELETE "http://127.0.0.1:$nchan_port/pub/bench$r" || true; done
}

# measure SERVER RATE [PART ROOMS MEMBERS]: the shape part passes its own rooms and members, which
# fanbench_run and nchan_forget see in place of the global ones (bash's dynamic scope).
measure() {
  local name=$1 rate=$2 part=${3:-rates}
  # The warm-up offers the same deliveries/s whatever the room size: a 1,000-member room warms up
  # at a tenth of the messages/s of 100-member rooms.
  local warm_rate=$(( warmup_rate * members / ${5:-$members} ))
  local rooms=${4:-$rooms} members=${5:-$members}
  [ "$warm_rate" -ge 1 ] || warm_rate=1
  local senders=$(( (rate + rooms * sender_rate - 1) / (rooms * sender_rate) ))
  [ "$senders" -ge 1 ] || senders=1
  local label="$name-$rate"
  [ "$part" = rates ] || label="$name-$part-${rooms}x$members"
  log "$name at $rate msgs/s, $rooms rooms x $members members ($((rate * members)) deliveries/s, $senders sender(s) per room), load $(load1)"
  start_server "$name" "$label"
  if [ "$warmup" -gt 0 ]; then
    fanbench_run "$name" "$warm_rate" "$warmup" "$senders" "$work/warmup.json" || log "  warm-up failed (see logs/fanbench.log)"
    [ "$name" = nchan ] && nchan_forget
    sleep 1
  fi
  local load_before cpu_before rss_before status=0
  load_before=$(load1) cpu_before=$(cpu_ticks "$server_pid") rss_before=$(rss_kb "$server_pid")
  fanbench_run "$name" "$rate" "$duration" "$senders" "$work/run.json" || status=$?
  local cpu_after rss_after
  cpu_after=$(cpu_ticks "$server_pid") rss_after=$(rss_kb "$server_pid")
  local result="null"
  if [ "$status" -eq 0 ] && [ -s "$work/run.json" ]; then result=$(head -1 "$work/run.json"); fi
  printf '{"part":"%s","server":"%s","rooms":%s,"members":%s,"rate":%s,"sendersPerRoom":%s,"load1Before":%s,"load1After":%s,"serverCpuSeconds":%s,"serverRssKbBefore":%s,"serverRssKbAfter":%s,"exitStatus":%s,"fanbench":%s}\n' \
    "$part" "$name" "$rooms" "$members" "$rate" "$senders" "$load_before" "$(load1)" \
    "$(awk -v a="$cpu_before" -v b="$cpu_after" -v t="$ticks" 'BEGIN { printf "%.3f", (b - a) / t }')" \
    "$rss_before" "$rss_after" "$status" "$result" >>"$runs"
  [ "$result" != null ] && log "  $result" || log "  fanbench failed with status $status (see $output/logs/fanbench.log)"
  stop_server
}

measure_idle() {
  local name=$1 status=0
  log "$name: $idle_sessions idle sessions"
  start_server "$name" "$name-idle"
  timeout --kill-after=10 600 "$py" "$shared/peers/idle-sessions.py" "$name" "http://127.0.0.1:${port[$name]}" \
    "$server_pid" "$idle_sessions" >"$work/idle.json" 2>>"$output/logs/idle-sessions.log" || status=$?
  if [ "$status" -eq 0 ] && [ -s "$work/idle.json" ]; then
    printf '{"server":"%s","result":%s}\n' "$name" "$(tail -1 "$work/idle.json")" >>"$idles"
    log "  $(tail -1 "$work/idle.json")"
  else
    printf '{"server":"%s","result":null,"exitStatus":%s}\n' "$name" "$status" >>"$idles"
    log "  idle-sessions.py failed with status $status (see $output/logs/idle-sessions.log)"
  fi
  stop_server
}

rm -f "$output/logs/"*.log
started=$(date -u +%Y-%m-%dT%H:%M:%SZ) load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if wants rates; then
  for i in "${!rate_list[@]}"; do
    # Rotate which server goes first, so that none always meets the machine right after a build.
    for j in "${!server_list[@]}"; do
      measure "${server_list[$(( (i + j) % ${#server_list[@]} ))]}" "${rate_list[$i]}"
    done
  done
fi
if wants idle && [ "$idle_sessions" -gt 0 ]; then
  for name in "${server_list[@]}"; do measure_idle "$name"; done
fi
if wants shape; then
  # chatd only: the same deliveries/s in every shape, so that only the room size differs.
  for shape in "${shape_list[@]}"; do
    shape_rooms=${shape%x*} shape_members=${shape#*x}
    shape_rate=$(( (shape_deliveries + shape_members / 2) / shape_members ))
    [ "$shape_rate" -ge 1 ] || shape_rate=1
    measure chat "$shape_rate" shape "$shape_rooms" "$shape_members"
  done
fi
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ) load_end=$(cut -d' ' -f1-3 /proc/loadavg)

commit=$(git rev-parse HEAD 2>/dev/null || echo "${BENCH_GIT_COMMIT:-unknown}")
# BENCH_GIT_COMMIT names the commit where git cannot see the repository (a bind-mounted worktree).
dirty=unknown
if changes=$(git status --porcelain --untracked-files=no 2>/dev/null); then dirty=false; [ -n "$changes" ] && dirty=true; fi
export BP_RUNS="$runs" BP_IDLES="$idles" BP_OUT="$output" BP_STARTED="$started" BP_FINISHED="$finished" \
  BP_LOAD_START="$load_start" BP_LOAD_END="$load_end" BP_COMMIT="$commit" BP_DIRTY="$dirty" \
  BP_DURATION="$duration" BP_ROOMS="$rooms" BP_MEMBERS="$members" BP_SIZE="$size" BP_SENDER_RATE="$sender_rate" \
  BP_WARMUP="$warmup" BP_WARMUP_RATE="$warmup_rate" BP_SETTLE="$settle" BP_IDLE_SESSIONS="$idle_sessions" \
  BP_CHATD="$chatd" BP_SERVERS="$servers" BP_ONLY="$only" BP_SHAPES="$shapes" BP_SHAPE_DELIVERIES="$shape_deliveries" \
  BP_V_NATS="$(nats-server --version 2>&1 | head -1)" BP_V_NGINX="$(nginx -v 2>&1 | head -1)" \
  BP_V_NCHAN="$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)" \
  BP_V_SWIFT="$(swift --version 2>/dev/null | head -1 || true)" BP_V_GO="$(go version 2>/dev/null || true)"

"$py" - <<'EOF'
import json, os, platform

env = os.environ
all_runs = [json.loads(line) for line in open(env["BP_RUNS"]) if line.strip()]
runs = [r for r in all_runs if r["part"] == "rates"]
shape_runs = [r for r in all_runs if r["part"] == "shape"]
idles = [json.loads(line) for line in open(env["BP_IDLES"]) if line.strip()]
members = int(env["BP_MEMBERS"])
servers = env["BP_SERVERS"].split(",")
rates = sorted({r["rate"] for r in runs})
# The issue's targets by deliveries/s: p99 in ms (None: none), and no message lost at any rate.
p99_targets = {20_000: 10, 100_000: 50, 200_000: 150}
idle_target_kb = 8

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def mem_total_kb():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1])

for r in all_runs:
    f = r["fanbench"]
    r["deliveriesOffered"] = r["rate"] * r["members"]
    if f and f.get("deliveries"):
        r["serverCpuMicrosecondsPerDelivery"] = round(r["serverCpuSeconds"] * 1e6 / f["deliveries"], 3)

def run(server, rate):
    return next((r for r in runs if r["server"] == server and r["rate"] == rate), None)

def p99(r):
    f = r and r["fanbench"]
    return f["p99_ms"] if f and f.get("p99_ms", -1) >= 0 else None

def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None

summary = []
for rate in rates:
    offered = rate * members
    chat = run("chat", rate)
    entry = {"rate": rate, "deliveriesPerSecondOffered": offered, "p99TargetMs": p99_targets.get(offered)}
    if chat and chat["fanbench"]:
        f = chat["fanbench"]
        entry["chatLost"] = f["lost"]
        entry["chatP99Ms"] = f["p99_ms"]
        target = p99_targets.get(offered)
        entry["targetMet"] = f["lost"] == 0 and (target is None or 0 <= f["p99_ms"] <= target)
    for peer in ("nats", "nchan"):
        entry[f"p99RatioVs{peer.capitalize()}"] = ratio(p99(chat), p99(run(peer, rate)))
        a, b = chat and chat.get("serverCpuMicrosecondsPerDelivery"), run(peer, rate)
        entry[f"cpuPerDeliveryRatioVs{peer.capitalize()}"] = ratio(a, b and b.get("serverCpuMicrosecondsPerDelivery"))
    summary.append(entry)

idle = {i["server"]: i["result"] for i in idles}
idle_summary = {s: (idle[s]["kb_per_session"] if idle.get(s) else None) for s in idle}
if "chat" in idle_summary:
    idle_summary["chatTargetKb"] = idle_target_kb
    c = idle_summary["chat"]
    idle_summary["chatTargetMet"] = c is not None and c <= idle_target_kb
    for peer in ("nats", "nchan"):
        idle_summary[f"chatRatioVs{peer.capitalize()}"] = ratio(c, idle_summary.get(peer))

# The shape part: one deliveries/s, rooms of different sizes. The issue asks that the cost per
# delivery not depend on the shape; the spreads (largest over smallest) say how far it does.
shape_summary = []
for r in shape_runs:
    f = r["fanbench"]
    entry = {"rooms": r["rooms"], "members": r["members"], "rate": r["rate"],
             "deliveriesPerSecondOffered": r["deliveriesOffered"], "sendersPerRoom": r["sendersPerRoom"]}
    if f:
        entry.update({"deliveriesPerSecond": f["deliveries_per_s"], "lost": f["lost"], "p50Ms": f["p50_ms"],
                      "p99Ms": f["p99_ms"], "maxMs": f["max_ms"],
                      "serverCpuMicrosecondsPerDelivery": r.get("serverCpuMicrosecondsPerDelivery")})
    shape_summary.append(entry)

def spread(key):
    values = [e[key] for e in shape_summary if e.get(key) is not None and e[key] > 0]
    return round(max(values) / min(values), 2) if len(values) > 1 else None

shapes = {"deliveriesPerSecondOffered": int(env["BP_SHAPE_DELIVERIES"]), "server": "chat", "runs": shape_summary,
          "p50Spread": spread("p50Ms"), "p99Spread": spread("p99Ms"),
          "cpuPerDeliverySpread": spread("serverCpuMicrosecondsPerDelivery")} if shape_runs else None

report = {
    "benchmark": "bench-peers",
    "started": env["BP_STARTED"], "finished": env["BP_FINISHED"],
    "git": {"commit": env["BP_COMMIT"], "dirty": {"true": True, "false": False}.get(env["BP_DIRTY"])},
    "machine": {"cores": os.cpu_count(), "cpu": cpu_model(), "memTotalKb": mem_total_kb(),
                "kernel": platform.release(), "loadAverageStart": env["BP_LOAD_START"],
                "loadAverageEnd": env["BP_LOAD_END"]},
    "versions": {"natsServer": env["BP_V_NATS"], "nginx": env["BP_V_NGINX"], "nchan": env["BP_V_NCHAN"],
                 "swift": env["BP_V_SWIFT"], "go": env["BP_V_GO"], "chatd": env["BP_CHATD"]},
    "settings": {"durationSeconds": int(env["BP_DURATION"]), "rooms": int(env["BP_ROOMS"]), "members": members,
                 "bodyBytes": int(env["BP_SIZE"]), "maxRatePerSender": int(env["BP_SENDER_RATE"]),
                 "warmupSeconds": int(env["BP_WARMUP"]), "warmupRate": int(env["BP_WARMUP_RATE"]),
                 "settleSeconds": int(env["BP_SETTLE"]), "idleSessions": int(env["BP_IDLE_SESSIONS"]),
                 "servers": servers, "chatd": "--role gateway on its embedded cluster",
                 "order": "per rate, the servers back to back, the first one rotating",
                 "parts": env["BP_ONLY"].split(","), "shapes": env["BP_SHAPES"].split(","),
                 "shapeDeliveriesPerSecond": int(env["BP_SHAPE_DELIVERIES"])},
    "runs": runs, "summary": summary, "idle": idle, "idleSummary": idle_summary,
    "shapeRuns": shape_runs, "shapes": shapes,
}
out = env["BP_OUT"]
with open(os.path.join(out, "peers.json"), "w") as fh:
    json.dump(report, fh, indent=2)
    fh.write("\n")

def ms(v):
    return "-" if v is None or v < 0 else (f"{v:,.1f}" if v >= 10 else f"{v:.2f}")

def num(v):
    return "-" if v is None else f"{v:,.0f}"

lines = [f"bench-peers {env['BP_STARTED']} - {env['BP_FINISHED']}, commit {env['BP_COMMIT'][:12]}"
         + (" (dirty)" if env["BP_DIRTY"] == "true" else "")
         + f", {os.cpu_count()} cores, load average {env['BP_LOAD_START']} -> {env['BP_LOAD_END']}"]
if runs:
    lines += ["", f"{int(env['BP_ROOMS'])} rooms x {members} members, {env['BP_DURATION']} s per run, "
              f"~{env['BP_SIZE']}-byte bodies, one sender connection per {env['BP_SENDER_RATE']} msgs/s", "",
              "| msgs/s → deliveries/s | server | sent/s | delivered/s | lost | p50 / p99 / max ms | server CPU µs/delivery | load |",
              "|---|---|---|---|---|---|---|---|"]
for rate in rates:
    for server in servers:
        r = run(server, rate)
        if not r:
            continue
        f = r["fanbench"]
        head = f"{rate:,} → {rate * members:,}"
        if not f:
            lines.append(f"| {head} | {server} | failed (status {r['exitStatus']}) | | | | | {r['load1Before']} |")
            continue
        lines.append(f"| {head} | {server} | {num(f['sent_per_s'])} | {num(f['deliveries_per_s'])} | {f['lost']:,} "
                     f"| {ms(f['p50_ms'])} / {ms(f['p99_ms'])} / {ms(f['max_ms'])} "
                     f"| {r.get('serverCpuMicrosecondsPerDelivery', '-')} | {r['load1Before']} → {r['load1After']} |")
if summary:
    lines += ["", "| deliveries/s | target | chatd | met | chatd p99 / NATS p99 | chatd p99 / nchan p99 | CPU/delivery vs NATS | vs nchan |",
              "|---|---|---|---|---|---|---|---|"]
for e in summary:
    t = e["p99TargetMs"]
    target = f"0 lost, p99 ≤ {t} ms" if t else "0 lost"
    got = f"{e['chatLost']:,} lost, p99 {ms(e['chatP99Ms'])} ms" if "chatLost" in e else "-"
    met = {True: "yes", False: "**no**"}.get(e.get("targetMet"), "-")
    fmt = lambda v: "-" if v is None else f"{v}×"
    lines.append(f"| {e['deliveriesPerSecondOffered']:,} | {target} | {got} | {met} | {fmt(e['p99RatioVsNats'])} "
                 f"| {fmt(e['p99RatioVsNchan'])} | {fmt(e['cpuPerDeliveryRatioVsNats'])} | {fmt(e['cpuPerDeliveryRatioVsNchan'])} |")
if idle:
    lines += ["", "| idle sessions | server RSS before → after | per session | |", "|---|---|---|---|"]
    for server in servers:
        i = idle.get(server)
        if i is None:
            if server in idle:
                lines.append(f"| {server} | failed | | |")
            continue
        note = ""
        if server == "chat":
            note = f"target ≤ {idle_target_kb} KB: {'met' if idle_summary['chatTargetMet'] else '**missed**'}"
            for peer in ("nats", "nchan"):
                v = idle_summary.get(f"chatRatioVs{peer.capitalize()}")
                if v is not None:
                    note += f"; {v}× {peer}"
        lines.append(f"| {server}: {i['sessions']:,} | {i['rss_before_kb']:,} → {i['rss_after_kb']:,} KB | {i['kb_per_session']} KB | {note} |")
if shape_runs:
    lines += ["", f"Shape: chatd at {int(env['BP_SHAPE_DELIVERIES']):,} deliveries/s offered in every shape, "
              f"{env['BP_DURATION']} s per run, ~{env['BP_SIZE']}-byte bodies, one sender connection per {env['BP_SENDER_RATE']} msgs/s", "",
              "| rooms × members | msgs/s → deliveries/s | senders | sent/s | delivered/s | lost | p50 / p99 / max ms | server CPU µs/delivery | load |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in shape_runs:
        f = r["fanbench"]
        head = f"{r['rooms']:,} × {r['members']:,} | {r['rate']:,} → {r['deliveriesOffered']:,} | {r['rooms'] * r['sendersPerRoom']:,}"
        if not f:
            lines.append(f"| {head} | failed (status {r['exitStatus']}) | | | | | {r['load1Before']} |")
            continue
        lines.append(f"| {head} | {num(f['sent_per_s'])} | {num(f['deliveries_per_s'])} | {f['lost']:,} "
                     f"| {ms(f['p50_ms'])} / {ms(f['p99_ms'])} / {ms(f['max_ms'])} "
                     f"| {r.get('serverCpuMicrosecondsPerDelivery', '-')} | {r['load1Before']} → {r['load1After']} |")
    fmt = lambda v: "-" if v is None else f"{v}×"
    lines += ["", f"Spread over the shapes (largest / smallest): p50 {fmt(shapes['p50Spread'])}, p99 {fmt(shapes['p99Spread'])}, "
              f"server CPU per delivery {fmt(shapes['cpuPerDeliverySpread'])} (1× is the same cost whatever the room size)"]
table = "\n".join(lines) + "\n"
with open(os.path.join(out, "peers.md"), "w") as fh:
    fh.write(table)
print(table, end="")

def lost_label(r):
    f = r and r["fanbench"]
    if not f or not f["expected_deliveries"] or f["lost"] <= 0:
        return "-"
    return f'"{100 * f["lost"] / f["expected_deliveries"]:.2g}% lost"'

# For gnuplot (the rates part only): offered deliveries/s, p99 of each server, the target, then each server's loss label.
with open(os.path.join(out, "p99.dat"), "w") as fh:
    fh.write("# deliveries/s offered, p99 ms of " + " ".join(servers) + ", target p99, lost of " + " ".join(servers) + "\n")
    for rate in rates:
        vals = [p99(run(s, rate)) for s in servers]
        target = p99_targets.get(rate * members)
        fh.write(" ".join([str(rate * members)] + ["NaN" if v is None else str(v) for v in vals]
                          + ["NaN" if target is None else str(target)]
                          + [lost_label(run(s, rate)) for s in servers]) + "\n")
EOF

if ! wants rates; then
  log "wrote $output/peers.json, $output/peers.md (no plot: the rates part did not run)"
  exit 0
fi
titles=() xtics=()
for s in "${server_list[@]}"; do
  case "$s" in
    chat) titles+=("chatd (embedded cluster)") ;;
    nats) titles+=("NATS $(nats-server --version 2>&1 | awk '{ print $2 }')") ;;
    nchan) titles+=("nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null | sed 's/^1://; s/+.*//') (nginx)") ;;
  esac
done
for r in "${rate_list[@]}"; do
  d=$((r * members))
  if [ $((d % 1000)) -eq 0 ]; then xtics+=("\"$((d / 1000))k\" $d"); else xtics+=("\"$d\" $d"); fi
done
servers_n=${#server_list[@]} plot=""
for j in "${!server_list[@]}"; do
  plot+="'$output/p99.dat' using 1:$((j + 2)) with linespoints lw 2 pt 7 ps 1.2 lc $((j + 1)) title '${titles[$j]}', "
  # A run that lost messages gets the share lost beside its point (its p99 is of what arrived).
  # The first server's labels go above its points, the others' below, so that they do not collide.
  label=$((servers_n + 3 + j)) lift=-1; [ "$j" -eq 0 ] && lift=1
  plot+="'' using 1:$((j + 2)):(strcol($label) eq '-' ? '' : strcol($label)) with labels noenhanced offset 0,$lift font 'Sans,9' tc lt $((j + 1)) notitle, "
done
plot+="'' using 1:$((servers_n + 2)) with linespoints dt 2 lw 1.5 lc rgb '#888888' pt 2 title 'target p99'"
gnuplot <<EOF || log "gnuplot failed; no plot"
set terminal pngcairo size 900,560 font 'Sans,11'
set output '$output/bench-peers.png'
set title "Fan-out p99 latency: ${rooms} rooms x ${members} members, ${duration} s per rate, one 2-core machine (loopback)"
set xlabel 'deliveries per second offered (messages/s x members)'
set ylabel 'p99 latency, ms (log scale)'
set logscale xy
set xtics ($(IFS=,; echo "${xtics[*]}"))
set ytics (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
set offsets graph 0.05, graph 0.05, graph 0.1, 0
set grid xtics ytics
set key top left box opaque
set datafile missing 'NaN'
plot $plot
EOF
log "wrote $output/peers.json, $output/peers.md, $output/bench-peers.png"
