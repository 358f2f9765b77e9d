#!/bin/sh
# jit-perf.sh — PLASTCC_PERF=1 (compiler/jit.c): the JIT announces its
# kernels' functions to perf in a jitdump file under $JITDUMPDIR, from
# compiled code and from the JIT cache alike, and the run gives the same bits
# as one without it; without PLASTCC_PERF nothing is written.  Skipped (77)
# when the LLVM plastcc links was built without perf support.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
rules=$top_srcdir/tests/runtime/run/tiny.rule

# OUT: a short meta-training run of the pool, one thread
run() {
  out=$1; shift
  env "$@" OMP_NUM_THREADS=1 "$PLASTCC" run "$rules" --experiment tiny_pool_batch --threads 1 --quiet \
      --out "$work/$out" > "$work/$out.log" 2>&1 || { cat "$work/$out.log"; bad "the run $out failed"; }
}
dumps() { find "$1" -name 'jit-*.dump' 2>/dev/null; }
# whether the jitdump files under $1 name the pool's adjoint kernel
names_kernels() { for f in $(dumps "$1"); do tr -c '[:print:]' '\n' < "$f"; done | grep -q 'pool_adj'; }

run off PLASTCC_CACHE=0 JITDUMPDIR="$work/off.dumps"
[ -z "$(dumps "$work/off.dumps")" ] || bad "a run without PLASTCC_PERF wrote a jitdump"

run perf PLASTCC_PERF=1 PLASTCC_CACHE=0 JITDUMPDIR="$work/perf.dumps"
if grep -q "without perf support" "$work/perf.log"; then
  echo "SKIP: this LLVM has no perf JIT listener"
  exit 77
fi
[ -n "$(dumps "$work/perf.dumps")" ] || bad "PLASTCC_PERF=1 wrote no jitdump under \$JITDUMPDIR"
names_kernels "$work/perf.dumps" || bad "the jitdump does not name the kernel pool_adj"
cmp -s "$work/off/meta.csv" "$work/perf/meta.csv" || bad "PLASTCC_PERF=1 changed the meta-parameters' bits"

# from the JIT cache: the objects loaded are announced too
run fill PLASTCC_CACHE_DIR="$work/cache"
run cached PLASTCC_PERF=1 PLASTCC_CACHE_DIR="$work/cache" JITDUMPDIR="$work/cached.dumps"
names_kernels "$work/cached.dumps" || bad "kernels loaded from the JIT cache are not in the jitdump"
cmp -s "$work/off/meta.csv" "$work/cached/meta.csv" || bad "PLASTCC_PERF=1 from the cache changed the bits"

[ $fail = 0 ] && echo "PLASTCC_PERF: jitdump files name the kernels, compiled or cached; the same bits"
exit $fail
