# common.sh — what the fault-injection tests share (sourced, not a test):
# a scratch folder, failure reporting, and the comparison of a run that was
# disturbed and resumed with one that was not.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
rules=$top_srcdir/tests/fault/fault.rule

# need_mount_namespace: exit 77 unless tmpfs can be mounted in a mount
# namespace of our own (root, or user namespaces)
need_mount_namespace() {
  mkdir "$work/probe"
  unshare -rm sh -c "mount -t tmpfs -o size=16k tmpfs '$work/probe'" 2>/dev/null && return 0
  echo "no mount namespace here (unshare -rm and mount -t tmpfs are refused): skipping"; exit 77
}

# at_once N NAME PATTERN -- ARGS...: N `plastcc run ARGS` started together;
# the number that worked in $ok; each other one must say PATTERN
at_once() {
  n=$1 name=$2 pattern=$3; shift 4
  pids= i=0
  while [ $i -lt "$n" ]; do
    i=$((i + 1))
    "$PLASTCC" run "$rules" --threads 1 --quiet "$@" > "$work/$name$i.out" 2>&1 &
    pids="$pids $!"
  done
  ok=0 i=0
  for p in $pids; do
    i=$((i + 1))
    if wait $p; then ok=$((ok + 1))
    elif ! grep -Eq "$pattern" "$work/$name$i.out"; then
      cat "$work/$name$i.out"; bad "$name $i of $n failed without saying why"
    fi
  done
  [ $ok -ge 1 ] || bad "none of $n $name worked"
}

# snapshot DIR: every file and its checksum (not the lock, which names the last holder)
snapshot() { (cd "$1" && find . -type f ! -name .plastcc.lock | LC_ALL=C sort | xargs -r md5sum); }

# wait_count FILE KEY N PID: until FILE's line "KEY COUNT" has a COUNT of N
# or more (1: PID ended first)
wait_count() {
  i=0
  while [ $i -lt 1500 ]; do
    e=$(sed -n "s/^$2 //p" "$1" 2>/dev/null)
    [ -n "$e" ] && [ "$e" -ge "$3" ] && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.02; i=$((i + 1))
  done
  return 1
}
# wait_episode DIR N PID: until DIR's meta-state has N or more episodes
wait_episode() { wait_count "$1/meta-state.txt" episode "$2" "$3"; }

# same_run REFERENCE DIR WHAT: DIR ends where the undisturbed REFERENCE run
# ended: the same meta-state and learned.rule, bit for bit, and the same log
# but for its seconds column; no temporary left
same_run() {
  [ -z "$(find "$2" -name '*.tmp')" ] || { bad "$3: a temporary file was left: $(find "$2" -name '*.tmp')"; return 1; }
  cmp -s "$1/meta-state.txt" "$2/meta-state.txt" || { bad "$3: the meta-state differs from the undisturbed run's"; return 1; }
  cmp -s "$1/learned.rule" "$2/learned.rule" || { bad "$3: learned.rule differs"; return 1; }
  cut -d, -f1-6,8- "$1/log.csv" > "$work/ref.cols"; cut -d, -f1-6,8- "$2/log.csv" > "$work/got.cols"
  cmp -s "$work/ref.cols" "$work/got.cols" || { bad "$3: log.csv differs"; return 1; }
  return 0
}

# same_numbers REFERENCE DIR: the same meta-state after the fingerprint (a
# run given other --episodes on its command line notes them there)
same_numbers() {
  sed -n '/^episode /,$p' "$1/meta-state.txt" > "$work/ref.numbers"
  sed -n '/^episode /,$p' "$2/meta-state.txt" > "$work/got.numbers"
  cmp -s "$work/ref.numbers" "$work/got.numbers"
}

# whole DIR WHAT: every file of DIR is complete (a learned.rule that checks,
# SVGs that end, log rows that end, a meta-state that a resume would read);
# a kill may leave a NAME.tmp beside them, which the next run removes
whole() {
  [ ! -f "$1/learned.rule" ] || "$PLASTCC" check "$1/learned.rule" > /dev/null 2>&1 || bad "$2: learned.rule does not check"
  for svg in "$1"/*.svg; do
    [ -f "$svg" ] || continue
    [ "$(tail -1 "$svg")" = "</svg>" ] || bad "$2: $svg is cut"
  done
  [ ! -s "$1/log.csv" ] || [ "$(tail -c 1 "$1/log.csv" | od -An -c | tr -d ' ')" = '\n' ] || bad "$2: log.csv ends in a cut row"
  [ ! -f "$1/meta-state.txt" ] || tail -1 "$1/meta-state.txt" | grep -Eq '^0 ' || bad "$2: meta-state.txt is cut"
}
