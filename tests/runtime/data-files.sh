#!/bin/sh
# data-files.sh — `plastcc run` given a FIFO as a data file, IDX or .npy, in
# either slot: refused at once with the file's name (the open used to wait
# for a writer forever), exit 1, nothing written.  `timeout` turns a hang
# into a failure.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

mkfifo "$tmp/fifo" || { echo "cannot make a FIFO: skipped"; exit 77; }
cat > "$tmp/fifo.rule" <<EOF2
import "$top_srcdir/rules/fa.rule";
model m { input 2; dense 2 softmax; loss cross_entropy; feedback random; }
experiment idx_images { model m; rule fa_sgd; data idx "fifo" "labels.idx"; tasks ways 2 train 2 query 1; meta adam episodes 1; }
experiment idx_labels { model m; rule fa_sgd; data idx "images.idx" "fifo"; tasks ways 2 train 2 query 1; meta adam episodes 1; }
experiment npy_x { model m; rule fa_sgd; data npy "fifo" "y.npy"; tasks ways 2 train 2 query 1; meta adam episodes 1; }
experiment npy_y { model m; rule fa_sgd; data npy "x.npy" "fifo"; tasks ways 2 train 2 query 1; meta adam episodes 1; }
EOF2
# The other slot holds a valid file, so that only the FIFO can be refused:
# two 1x2 images, and a 2x2 .npy of bytes (format 1.0, data at byte 128).
printf '\000\000\010\003\000\000\000\002\000\000\000\001\000\000\000\002\001\002\003\004' >"$tmp/images.idx"
printf '\000\000\010\001\000\000\000\002\000\001' >"$tmp/labels.idx"
{ printf '\223NUMPY\001\000\166\000'
  printf "%-117s\n" "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }"
  printf '\001\002\003\004'; } >"$tmp/x.npy"
cp "$tmp/x.npy" "$tmp/y.npy"

for x in idx_images idx_labels npy_x npy_y; do
  timeout 60 "$PLASTCC" run "$tmp/fifo.rule" --experiment $x --out "$tmp/out-$x" --quiet \
    >"$tmp/$x.out" 2>"$tmp/$x.err"
  rc=$?
  [ $rc = 124 ] && { bad "$x: plastcc run waited on the FIFO (killed after 60 s)"; continue; }
  [ $rc = 1 ] || bad "$x: exit $rc, expected 1"
  grep -q "$tmp/fifo: a FIFO, not a regular file" "$tmp/$x.err" ||
    { bad "$x: the message does not name the FIFO:"; cat "$tmp/$x.err"; }
  [ -e "$tmp/out-$x/log.csv" ] && bad "$x: wrote a log"
done
[ $fail = 0 ] && echo "a FIFO as IDX images, IDX labels, .npy x or .npy y: refused at once, named"
exit $fail
