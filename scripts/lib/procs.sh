# Shell helpers shared by scripts/quickstart.sh and bench/zk/run.sh: start a
# loopback ZooKeeper, start/stop background processes tracked by PID files,
# wait for ports and URLs. Source it; it defines functions only.
#
# Every process started here is recorded in a PID file together with a word
# of its command line, so a stale PID reused by an unrelated process is
# never signalled.

ZK_JAR=${ZK_JAR:-/usr/share/java/zookeeper.jar}

jcm_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# jcm_port_free PORT: true when no TCP socket (listening or connected) uses
# local port PORT. TIME_WAIT leftovers do not count: our servers bind with
# SO_REUSEADDR.
jcm_port_free() {
  local port=$1
  [ -z "$(ss -Htan exclude time-wait "sport = :$port" 2>/dev/null)" ]
}

# jcm_free_port: a free port from 20000-32767, below Linux's ephemeral range
# (32768-60999) so outgoing connections never hold it.
jcm_free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12768))
    if jcm_port_free "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

# jcm_pid_alive PIDFILE WORD: the PID in PIDFILE runs and its command line
# contains WORD.
jcm_pid_alive() {
  local file=$1 word=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$word"
}

# jcm_stop_pidfile PIDFILE WORD [GRACE_S]: SIGTERM the recorded PID, SIGKILL
# after GRACE_S seconds, remove the file.
jcm_stop_pidfile() {
  local file=$1 word=$2 grace=${3:-10} pid i
  if jcm_pid_alive "$file" "$word"; then
    pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((grace * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      jcm_log "pid $pid ($word) ignored SIGTERM for ${grace}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

# jcm_spawn PIDFILE LOGFILE CMD...: starts CMD in the background in its own
# session (it outlives this shell), stdin from /dev/null, output to LOGFILE.
jcm_spawn() {
  local file=$1 log=$2
  shift 2
  setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$file"
}

# jcm_zk_mode PORT: "standalone"/"leader"/... once ZooKeeper serves, else "".
jcm_zk_mode() {
  local port=$1
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf srvr >&3 && cat <&3" 2>/dev/null |
    sed -n 's/^Mode: //p'
}

# jcm_zk_start DIR PORT PIDFILE: a single-node ZooKeeper on 127.0.0.1:PORT
# with its data in DIR/data; waits until it serves (at most 60 s).
jcm_zk_start() {
  local dir=$1 port=$2 pidfile=$3 i
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=500
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr,stat,cons
minSessionTimeout=1000
maxSessionTimeout=60000
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
CFG
  jcm_spawn "$pidfile" "$dir/zookeeper.log" java -Xmx512m -cp "$ZK_JAR" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg"
  for i in $(seq 1 600); do
    [ -n "$(jcm_zk_mode "$port")" ] && return 0
    jcm_pid_alive "$pidfile" QuorumPeerMain || break
    sleep 0.1
  done
  jcm_log "ZooKeeper did not start on 127.0.0.1:$port; see $dir/zookeeper.log"
  return 1
}

# jcm_zk_ensemble_write DIR N CLIENT_PORT PEER_PORT ELECTION_PORT: the
# zoo.cfg and myid of member N (1-3) of a three-member ensemble on
# 127.0.0.1, member k on ports CLIENT_PORT+k-1 (client), PEER_PORT+k-1 and
# ELECTION_PORT+k-1; its data in DIR/data.
jcm_zk_ensemble_write() {
  local dir=$1 n=$2 client=$3 peer=$4 election=$5 k
  mkdir -p "$dir/data"
  echo "$n" >"$dir/data/myid"
  {
    echo "tickTime=500"
    echo "initLimit=10"
    echo "syncLimit=4"
    echo "dataDir=$dir/data"
    echo "clientPort=$((client + n - 1))"
    echo "clientPortAddress=127.0.0.1"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=srvr,ruok,mntr,stat,cons"
    echo "minSessionTimeout=1000"
    echo "maxSessionTimeout=10000"
    echo "autopurge.snapRetainCount=3"
    echo "autopurge.purgeInterval=1"
    for k in 1 2 3; do
      echo "server.$k=127.0.0.1:$((peer + k - 1)):$((election + k - 1))"
    done
  } >"$dir/zoo.cfg"
}

# jcm_zk_ensemble_start DIR CLIENT_PORT PEER_PORT ELECTION_PORT RUNDIR: the
# three members of a loopback ensemble (DIR/member1-3, PID files
# RUNDIR/zookeeper-1..3.pid); members already running are left alone.
# Waits until one leads and two follow (at most 90 s).
jcm_zk_ensemble_start() {
  local dir=$1 client=$2 peer=$3 election=$4 run=$5 n i modes
  for n in 1 2 3; do
    jcm_pid_alive "$run/zookeeper-$n.pid" QuorumPeerMain && continue
    jcm_zk_ensemble_write "$dir/member$n" "$n" "$client" "$peer" "$election"
    # Three JVMs on one machine: a small heap each.
    jcm_spawn "$run/zookeeper-$n.pid" "$dir/member$n/zookeeper.log" java -Xmx256m -cp "$ZK_JAR" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/member$n/zoo.cfg"
  done
  for i in $(seq 1 900); do
    modes=""
    for n in 1 2 3; do modes="$modes $(jcm_zk_mode $((client + n - 1)) || true)"; done
    if [ "$(echo "$modes" | tr ' ' '\n' | grep -c '^leader$')" = 1 ] &&
      [ "$(echo "$modes" | tr ' ' '\n' | grep -c '^follower$')" = 2 ]; then
      return 0
    fi
    for n in 1 2 3; do jcm_pid_alive "$run/zookeeper-$n.pid" QuorumPeerMain || break 2; done
    sleep 0.1
  done
  jcm_log "the ZooKeeper ensemble formed no quorum; see $dir/member*/zookeeper.log"
  return 1
}

# jcm_wait_http URL [TIMEOUT_S [PIDFILE WORD]]: until URL answers 200; gives
# up early when the process in PIDFILE is gone.
jcm_wait_http() {
  local url=$1 t=${2:-30} pidfile=${3:-} word=${4:-} i
  for i in $(seq 1 $((t * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")" = 200 ] && return 0
    if [ -n "$pidfile" ] && ! jcm_pid_alive "$pidfile" "$word"; then return 1; fi
    sleep 0.1
  done
  return 1
}
