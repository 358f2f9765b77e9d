#!/bin/sh
# episode-errors.sh — every error path of `plastcc episode`: usage errors
# (status 2), experiments it cannot run, and states wrong in one way each
# (a missing or misshapen array, a label out of range, a batch larger than
# the training set, an output folder that cannot be made, a diverging
# episode): status 1 and a message naming the file and the problem, never a
# crash (the sanitizer build runs it too).  The states are written with
# NumPy; skips (77) without it.
set -u
PY=/usr/bin/python3
rules=$top_srcdir/tests/runtime/episode/errors.rule
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
$PY -c 'import numpy' 2>/dev/null || { echo "numpy is not installed: skipping"; exit 77; }

expect() {   # expect STATUS PATTERN -- ARGS...: plastcc episode ARGS exits STATUS with PATTERN on stderr
  want=$1 pattern=$2; shift 3
  "$PLASTCC" episode "$@" > "$work/out" 2> "$work/err"; got=$?
  if [ $got -ne "$want" ] || ! grep -Eq -- "$pattern" "$work/err"; then
    bad "episode $* exited $got (expected $want) with:"; head -5 "$work/err"; return
  fi
  echo "ok ($got): $(grep -E -- "$pattern" "$work/err" | head -1)"
}

# state DIR [python statements]: a valid state for model `small` (4-6-3,
# random feedback, 8 training and 3 query samples), then the statements
state() {
  $PY - "$1" "${2:-}" <<'PYEOF'
import os, sys
import numpy as np
d, edit = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
r = np.random.default_rng(1)
a = {"W1": r.uniform(-.5, .5, (6, 4)), "W2": r.uniform(-.5, .5, (3, 6)),
     "B1": r.uniform(-.5, .5, (4, 6)), "B2": r.uniform(-.5, .5, (6, 3)),
     "x_train": r.uniform(0, 1, (8, 4)), "y_train": np.arange(8, dtype=np.int64) % 3,
     "x_query": r.uniform(0, 1, (3, 4)), "y_query": np.arange(3, dtype=np.int64)}
exec(edit)
for k, v in a.items():
    if v is not None:
        np.save(os.path.join(d, k + ".npy"), v)
PYEOF
}

state "$work/ok"
"$PLASTCC" episode "$rules" --experiment fa --state "$work/ok" --out "$work/o" > /dev/null 2> "$work/err" ||
  { cat "$work/err"; bad "the valid state fails"; }

# usage errors
expect 2 'episode needs FILE, --experiment, --state and --out' -- "$rules" --experiment fa
expect 2 "unknown option '--bogus'" -- "$rules" --experiment fa --state "$work/ok" --out "$work/o" --bogus
expect 2 "--checkpoint wants an integer from 0 to 1000000000, not 'x'" -- \
  "$rules" --experiment fa --state "$work/ok" --out "$work/o" --checkpoint x
expect 2 "--sweep-states wants an integer from 2 to 1000000000, not '1'" -- \
  "$rules" --experiment fa --state "$work/ok" --out "$work/o" --sweep-states 1
expect 2 "--batch wants an integer from 1 to 1000000000, not '0'" -- \
  "$rules" --experiment fa --state "$work/ok" --out "$work/o" --batch 0
expect 2 "--batch wants an integer from 1 to 1000000000, not '4.5'" -- \
  "$rules" --experiment fa --state "$work/ok" --out "$work/o" --batch 4.5
expect 2 "unknown backend 'gpu'" -- "$rules" --experiment fa --state "$work/ok" --out "$work/o" --backend gpu
expect 2 "unknown precision 'half'" -- "$rules" --experiment fa --state "$work/ok" --out "$work/o" --precision half

# experiments it cannot run
expect 1 "has no experiment 'nope'" -- "$rules" --experiment nope --state "$work/ok" --out "$work/o"
expect 1 "cannot read 'no-such.rule'" -- no-such.rule --experiment fa --state "$work/ok" --out "$work/o"
expect 1 'the diagnostics of experiment diag run in double precision only' -- \
  "$rules" --experiment diag --state "$work/ok" --out "$work/o" --precision single

# states wrong in one way each
state "$work/s1" 'a["W2"] = None'
expect 1 "$work/s1/W2.npy: " -- "$rules" --experiment fa --state "$work/s1" --out "$work/o"
state "$work/s2" 'a["W1"] = a["W1"].T.copy()'
expect 1 'W1.npy has shape \(4, 6\), expected \(6, 4\)' -- "$rules" --experiment fa --state "$work/s2" --out "$work/o"
state "$work/s3" 'a["B2"] = None'
expect 1 "$work/s3/B2.npy: " -- "$rules" --experiment fa --state "$work/s3" --out "$work/o"
state "$work/s4" 'a["y_train"] = a["y_train"][:5].copy()'
expect 1 'y_train.npy has shape \(5,\), expected \(8,\)' -- "$rules" --experiment fa --state "$work/s4" --out "$work/o"
state "$work/s5" 'a["y_query"][1] = 7'
expect 1 'y_query.npy\[1\] = 7 is not a class of the 3-neuron output layer' -- \
  "$rules" --experiment fa --state "$work/s5" --out "$work/o"
state "$work/s6" 'a["y_train"][2] = -2'
expect 1 'y_train.npy\[2\] = -2 is not a class' -- "$rules" --experiment fa --state "$work/s6" --out "$work/o"
state "$work/s7" 'a["theta"] = np.zeros(3)'
expect 1 "theta.npy has 3 values, but parameter 'theta' has 1" -- "$rules" --experiment fa --state "$work/s7" --out "$work/o"
state "$work/s8" 'a["x_query"] = a["x_query"][:, :3].copy()'
expect 1 'x_query.npy has shape \(3, 3\), expected \(3, 4\)' -- "$rules" --experiment fa --state "$work/s8" --out "$work/o"
expect 1 "a batch of 16 is larger than the 8 training samples of $work/ok/x_train.npy" -- \
  "$rules" --experiment fa --state "$work/ok" --out "$work/o" --batch 16

# the output folder cannot be made; the episode diverges
: > "$work/file"
expect 1 "cannot create $work/file/out: Not a directory" -- "$rules" --experiment fa --state "$work/ok" --out "$work/file/out"
expect 1 'episode failed: .*(NaN|Inf)' -- "$rules" --experiment diverge --state "$work/ok" --out "$work/o"
exit $fail
