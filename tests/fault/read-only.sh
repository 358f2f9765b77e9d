#!/bin/sh
# read-only.sh — an output folder on a file system that is read-only from
# the start (a fresh run and a resume are refused, naming the folder, and
# change nothing), or becomes read-only during a run (the run stops naming
# the file it could not write, and its meta-state still resumes to the
# undisturbed run's bits).  Needs a mount namespace (root, or user
# namespaces): skips (77) without one.
. "$top_srcdir/tests/fault/common.sh"

if [ "${1:-}" = --inside ]; then   # in the mount namespace, on tmpfs $2
  mnt=$2
  mount -t tmpfs -o size=1m tmpfs "$mnt" || exit 99
  run() { "$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet "$@"; }
  # a finished run and a half one, then the file system read-only
  run --out "$mnt/done" > /dev/null 2>&1 || echo "FAIL: run onto tmpfs"
  run --out "$mnt/half" --episodes 100 > /dev/null 2>&1 || echo "FAIL: half run onto tmpfs"
  snapshot "$mnt" > "$mnt.before"
  mount -o remount,ro "$mnt" || exit 99
  run --out "$mnt/new" > "$mnt.new.out" 2>&1; echo $? > "$mnt.new.rc"
  run --resume "$mnt/half" > "$mnt.resume.out" 2>&1; echo $? > "$mnt.resume.rc"
  run --out "$mnt/done" --force > "$mnt.force.out" 2>&1; echo $? > "$mnt.force.rc"
  snapshot "$mnt" > "$mnt.after"
  # read-only in the middle of a run
  mount -o remount,rw "$mnt"
  run --out "$mnt/mid" --episodes 100000 > "$mnt.mid.out" 2>&1 &
  pid=$!
  wait_episode "$mnt/mid" 20 $pid || echo "FAIL: no meta-state before the remount"
  # a read-only bind mount over the folder: the files the run has open stay
  # writable (a remount of the whole file system would be refused as busy),
  # every file it opens from now on is on a read-only mount.  The remount
  # fails (EBUSY) while the run has a file open for writing that it opened
  # through the new bind mount (a meta-state being written): tried again
  ro=0
  if mount --bind "$mnt/mid" "$mnt/mid"; then
    for k in 1 2 3 4 5 6 7 8 9 10; do
      mount -o remount,bind,ro "$mnt/mid" 2>/dev/null && { ro=1; break; }
      sleep 0.05
    done
  fi
  [ $ro = 1 ] || echo "FAIL: read-only bind mount"
  wait $pid; echo $? > "$mnt.mid.rc"
  cp -a "$mnt/mid" "$mnt.mid.copy"
  exit 0
fi

need_mount_namespace
m=$work/m
mkdir "$m"
# the comparison is at episode 1000, which the run stopped mid-way must not
# reach before its folder turns read-only: at ~1000 episodes a second, 200
# was passed on a loaded machine
"$PLASTCC" run "$rules" --experiment quick --threads 1 --quiet --episodes 1000 --out "$work/ref" > /dev/null 2>&1 ||
  bad "the undisturbed run"
unshare -rm sh "$0" --inside "$m" > "$work/inside" 2>&1 || bad "the read-only tests could not run"
grep FAIL "$work/inside" && fail=1
check() {   # check NAME PATTERN: exit 1 with PATTERN
  rc=$(cat "$m.$1.rc" 2>/dev/null)
  if [ "${rc:-x}" != 1 ] || ! grep -Eq -- "$2" "$m.$1.out"; then cat "$m.$1.out"; bad "$1 on a read-only folder: exit ${rc:-none}"; return; fi
  echo "$1: $(grep -Eo -- "$2.*" "$m.$1.out" | head -1)"
}
check new "cannot create $m/new: Read-only file system"
check resume "cannot lock $m/half: .*Read-only file system"
check force "(cannot lock|--force: cannot remove) $m/done.*Read-only file system"
cmp -s "$m.before" "$m.after" || bad "a refused run changed the read-only file system"
check mid "cannot write $m/mid/[a-z.-]+: Read-only file system"
whole "$m.mid.copy" "read-only in the middle"
"$PLASTCC" run "$rules" --threads 1 --quiet --resume "$m.mid.copy" --episodes 1000 > "$work/r.out" 2>&1 || { cat "$work/r.out"; bad "resume after read-only"; }
# the run was told --episodes 100000; resumed to 1000 it must match the
# undisturbed 1000-episode run but for the fingerprint's note of the options
same_numbers "$work/ref" "$m.mid.copy" || bad "read-only in the middle, then resumed: other meta-parameters"
echo "read-only in the middle of a run: stopped naming the file; resumed elsewhere to the same meta-parameters"
exit $fail
