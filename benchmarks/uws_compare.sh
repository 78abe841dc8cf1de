#!/usr/bin/env bash
# herald's WebSocket echo against uWebSockets' and Beast's on this machine, side by
# side, with two load generators: herald's ws_load and uWebSockets' own load_test
# (docs/benchmarks.md, "herald and uWebSockets").
#
#   benchmarks/uws_compare.sh UWS_DIR [BENCH_BUILD_DIR]
#
# UWS_DIR is a checkout of uWebSockets (github.com/uNetworking/uWebSockets) with
# uSockets in its uSockets folder (its submodule), or in USOCKETS_DIR. Nothing is
# downloaded and nothing is written into UWS_DIR or into herald's tree: uSockets,
# uWebSockets' benchmarks/load_test.c and herald's benchmarks/uws/echo_server.cpp
# are compiled at -O2 (as herald's Release build is) into WORK_DIR
# (/tmp/herald-uws unless set). BENCH_BUILD_DIR is herald built with
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_BENCHMARKS=ON
# (build-bench unless given); its websocket_echo_server, herald_bench_ws_echo_beast
# and herald_bench_ws_load are used.
#
# Each server runs pinned to CPU 0 and each load generator to CPU 1. For every
# shape, ROUNDS rounds (3 unless set) run the servers in an order that rotates
# from round to round; the tables give min / median / max over the rounds and
# herald's median over each peer's median.
#   ws_load:   100 x 16 B, 500 x 512 B, 100 x 16 B with 8 in flight, 10 x 64 KiB
#              (its "ratio" column is each server over herald)
#   load_test: 100 x 16 B and 500 x 512 B (one message in flight per connection;
#              its figure is the median of its 4-second reports after the first)
#   wrk:       GET /hello over 100 keep-alive connections (herald and uWebSockets)
set -euo pipefail

uws=${1:?usage: benchmarks/uws_compare.sh UWS_DIR [BENCH_BUILD_DIR]}
bench=${2:-build-bench}
usockets=${USOCKETS_DIR:-$uws/uSockets}
work=${WORK_DIR:-/tmp/herald-uws}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-5}
here=$(cd "$(dirname "$0")" && pwd)

for f in "$uws/src/App.h" "$uws/benchmarks/load_test.c" "$usockets/src/libusockets.h"; do
  [[ -f $f ]] || { echo "not found: $f (UWS_DIR must be a uWebSockets checkout with uSockets)" >&2; exit 2; }
done
herald_echo=$bench/examples/websocket_echo_server
beast_echo=$bench/benchmarks/herald_bench_ws_echo_beast
ws_load=$bench/benchmarks/herald_bench_ws_load
for f in "$herald_echo" "$beast_echo" "$ws_load"; do
  [[ -x $f ]] || { echo "not found: $f (build herald with -DHERALD_BUILD_BENCHMARKS=ON in $bench)" >&2; exit 2; }
done

# Build uSockets (epoll, no TLS), uWebSockets' echo server and its load generator.
mkdir -p "$work/obj"
(cd "$work/obj" && cc -O2 -DLIBUS_NO_SSL -I"$usockets/src" -c "$usockets"/src/*.c "$usockets"/src/eventing/*.c \
   "$usockets"/src/crypto/*.c)
c++ -O2 -std=c++20 -DLIBUS_NO_SSL -DUWS_NO_ZLIB -I"$uws/src" -I"$usockets/src" "$here/uws/echo_server.cpp" \
  "$work"/obj/*.o -o "$work/uws_echo_server"
cc -O2 -DLIBUS_NO_SSL -I"$usockets/src" "$uws/benchmarks/load_test.c" "$work"/obj/*.o -lz -o "$work/load_test"
uws_echo=$work/uws_echo_server
echo "uWebSockets $(git -C "$uws" rev-parse --short HEAD 2>/dev/null || echo '?'), uSockets" \
     "$(git -C "$usockets" rev-parse --short HEAD 2>/dev/null || echo '?'); herald $(git -C "$here/.." rev-parse --short HEAD)"

declare -A binary_of=([herald]=$herald_echo [beast]=$beast_echo [uws]=$uws_echo)
declare -A results=()

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts server $1 on port $2 pinned to CPU 0; returns once it accepts.
start() {
  taskset -c 0 "$1" --port "$2" >/dev/null &
  server_pid=$!
  for _ in $(seq 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.01
  done
  echo "$1 did not start" >&2; exit 1
}
stop() { kill -9 "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }

# min / median / max of the numbers on standard input.
spread() { sort -g | awk '{v[NR]=$1} END {printf "%.0f / %.0f / %.0f", v[1], v[int((NR+1)/2)], v[NR]}'; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# Fills results[NAME] for each server NAME after $1 with one rate per round: the
# server is started on a free port and `$1 PORT` prints the rate it measured. The
# order of the servers rotates from round to round.
measure_rounds() {
  local measure=$1 round k i port rate
  shift
  local servers=("$@")
  results=()
  for ((round = 0; round < rounds; round++)); do
    for ((k = 0; k < ${#servers[@]}; k++)); do
      i=$(((round + k) % ${#servers[@]}))
      port=$(free_port)
      start "${binary_of[${servers[$i]}]}" "$port"
      rate=$("$measure" "$port" || true)
      stop
      results[${servers[$i]}]+="${rate:-0} "
    done
  done
}

# Prints min / median / max of results[NAME] for each NAME and herald's median over each.
table() {
  local herald_median name m
  herald_median=$(tr ' ' '\n' <<<"${results[herald]}" | grep . | median)
  for name in "$@"; do
    m=$(tr ' ' '\n' <<<"${results[$name]}" | grep . | median)
    printf "  %-8s %32s   herald / %s = %s\n" "$name" "$(tr ' ' '\n' <<<"${results[$name]}" | grep . | spread)" "$name" \
      "$(awk -v h="$herald_median" -v m="$m" 'BEGIN {printf (m > 0 ? "%.2f" : "-"), h / m}')"
  done
}

echo
echo "== herald's ws_load (each shape: $rounds rounds, ${seconds} s each after 1 s of warm-up)"
for shape in "100 16 1" "500 512 1" "100 16 8" "10 65536 1"; do
  read -r conns size burst <<<"$shape"
  echo
  "$ws_load" --connections "$conns" --size "$size" --burst "$burst" --seconds "$seconds" --warmup 1 --repeat "$rounds" \
    "herald=$herald_echo" "beast=$beast_echo" "uws=$uws_echo"
done

echo
echo "== uWebSockets' load_test (each shape: $rounds rounds of 14 s, the first 4-second report dropped)"
# Line-buffered: its reports are printed to a pipe and the run ends by timeout.
load_test_rate() {
  taskset -c 1 timeout 14 stdbuf -oL "$work/load_test" "$conns" 127.0.0.1 "$1" 0 0 "$size" 2>/dev/null |
    awk '/Msg\/sec/ {n++; if (n > 1) print $2}' | median
}
for shape in "100 16" "500 512"; do
  read -r conns size <<<"$shape"
  measure_rounds load_test_rate herald beast uws
  echo
  echo "$conns connections x $size B, messages/s (min / median / max), herald's median over each"
  table herald beast uws
done

# HTTP/1.1 keep-alive: GET /hello (13 bytes) from wrk, one thread on CPU 1 with 100
# connections. herald's echo server and uWebSockets' answer it; Beast's echo does not.
if command -v wrk >/dev/null; then
  echo
  echo "== wrk GET /hello, 100 keep-alive connections ($rounds rounds of ${seconds} s)"
  wrk_rate() { taskset -c 1 wrk -t1 -c100 -d"${seconds}s" "http://127.0.0.1:$1/hello" | awk '/Requests\/sec/ {print $2}'; }
  measure_rounds wrk_rate herald uws
  echo
  echo "requests/s (min / median / max), herald's median over each"
  table herald uws
else
  echo
  echo "(wrk not installed: no HTTP keep-alive comparison; Debian: apt install wrk)"
fi
