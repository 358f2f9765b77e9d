#!/bin/sh
# full-disk.sh — runs into small tmpfs file systems that fill at different
# moments (the log, a meta-state, learned.rule, meta.csv, a plot): each run
# stops with "cannot write FILE: No space left on device" naming the file
# (never an empty "plastcc: "), claims to keep only what it kept, leaves every
# file whole, and, copied to a disk with room, resumes to the undisturbed
# run's bits.  Mounting needs a mount namespace (root, or user namespaces):
# skips (77) without one.
. "$top_srcdir/tests/fault/common.sh"

if [ "${1:-}" = --inside ]; then   # in the mount namespace: one file system of size $2, experiment $4
  mnt=$3
  mount -t tmpfs -o size="$2" tmpfs "$mnt" || exit 99
  "$PLASTCC" run "$rules" --experiment "$4" --threads 1 --quiet --out "$mnt/o" > "$mnt.out" 2> "$mnt.err"
  echo $? > "$mnt.rc"
  cp -a "$mnt/o" "$mnt.copy" 2>/dev/null
  exit 0
fi

need_mount_namespace
"$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --out "$work/ref" > /dev/null 2>&1 || bad "the undisturbed run"
"$PLASTCC" run "$rules" --experiment rare_checkpoints --threads 1 --quiet --out "$work/ref_rare" > /dev/null 2>&1 ||
  bad "the undisturbed run (rare checkpoints)"
# quick writes its meta-state every episode, so a meta-state or a final
# output is what meets the full disk; rare_checkpoints writes it at the end
# only, so the log meets it first
cases="quick:8k quick:16k quick:28k quick:32k quick:36k quick:48k quick:60k quick:72k quick:80k
       rare_checkpoints:12k rare_checkpoints:16k rare_checkpoints:24k"
for c in $cases; do
  exp=${c%%:*} size=${c#*:}
  m=$work/m$exp$size
  mkdir "$m"
  ref=$work/ref; [ "$exp" = quick ] || ref=$work/ref_rare
  unshare -rm sh "$0" --inside "$size" "$m" "$exp" || { bad "$size: could not mount"; continue; }
  rc=$(cat "$m.rc")
  if [ "$rc" -eq 0 ]; then echo "$exp, $size: room enough"; same_run "$ref" "$m.copy" "$exp, $size"; continue; fi
  [ "$rc" -eq 1 ] || { cat "$m.err"; bad "$size: exit status $rc"; continue; }
  grep -Eq "cannot write $m/o/[a-z.-]+: No space left on device" "$m.err" || { cat "$m.err"; bad "$size: no message naming the file"; }
  grep -q '^plastcc: *$' "$m.err" && bad "$size: an empty message"
  whole "$m.copy" "$exp, $size"
  kept=$(sed -n 's/.* of the \([0-9]*\) episodes done are in .*/\1/p' "$m.err")
  if [ -n "$kept" ]; then
    grep -q "^episode $kept$" "$m.copy/meta-state.txt" || bad "$size: claims $kept episodes kept, the meta-state says otherwise"
  fi
  what="nothing to resume"
  if [ -f "$m.copy/meta-state.txt" ]; then
    "$PLASTCC" run "$rules" --threads 1 --quiet --resume "$m.copy" > "$m.resume" 2>&1 || { cat "$m.resume"; bad "$exp, $size: resume"; }
    same_run "$ref" "$m.copy" "$exp, $size, resumed on a disk with room" && what="resumed to the same bits"
  fi
  full=$(grep -Eo "cannot write [^ ]+: No space" "$m.err" | sed "s|cannot write $m/o/||; s|: No space||" | sort -u | tr '\n' ' ')
  echo "$exp, $size: no space for ${full}${kept:+; $kept episodes kept}; $what"
done
exit $fail
