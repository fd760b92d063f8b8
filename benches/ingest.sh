#!/bin/bash
# Headless ingest, measured from outside: socat sends SIZE bytes of zeros over loopback
# into each receiver, whose stdout goes to /dev/null. The time runs from socat's start
# until the receiving socket has taken every byte (the kernel's bytes_received for the
# receiver's end, from `ss`; a receiver that already exited took them all).
# Usage: benches/ingest.sh [SOCKLAB] [SIZE] [ROUNDS] (needs socat, OpenBSD nc, ss, python3;
# run `cargo build --release` first)
SOCKLAB=${1:-target/release/socklab}
SIZE=${2:-4294967296}
ROUNDS=${3:-2}
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
received() { # port
  ss -Htin state all "( sport = :$1 )" 2>/dev/null | grep -o 'bytes_received:[0-9]*' | head -1 | cut -d: -f2
}
measure() { # name, command that listens on $P with stdout to /dev/null
  local name=$1; shift
  P=$(port)
  eval "$* > /dev/null 2>/tmp/ingest-err < /dev/null &"
  local pid=$!
  sleep 0.3
  local start=$(date +%s.%N)
  socat -u -b 262144 "OPEN:/dev/zero,readbytes=$SIZE" "TCP:127.0.0.1:$P" 2>/dev/null &
  local sender=$!
  while true; do
    local got=$(received $P)
    if [ -z "$got" ]; then
      # No socket left: the receiver read everything and exited (nc), or not yet connected.
      kill -0 $sender 2>/dev/null || break
    elif [ "$got" -ge "$SIZE" ]; then
      break
    fi
    sleep 0.002
  done
  local end=$(date +%s.%N)
  wait $sender 2>/dev/null
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  python3 -c "print(f'$name: {$SIZE/($end-$start)/1e9:.2f} GB/s ({$end-$start:.2f} s)')"
}
for round in $(seq 1 $ROUNDS); do
  echo "== round $round"
  measure "nc -l > /dev/null          " "nc -l 127.0.0.1 \$P"
  measure "socklab server --data none " "$SOCKLAB server 127.0.0.1:\$P --data none"
  measure "socklab server (text)      " "$SOCKLAB server 127.0.0.1:\$P"
  measure "socklab server --data hex  " "$SOCKLAB server 127.0.0.1:\$P --data hex"
done
