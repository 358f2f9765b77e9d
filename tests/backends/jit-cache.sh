#!/bin/sh
# jit-cache.sh — the JIT's compiled kernels kept on disk (compiler/jit_cache.h):
# a run fills a fresh cache directory, a second run loads its entries without
# writing any (the same files, not replaced), and both give the bits of a run
# with the cache off; a truncated, a corrupted and a foreign entry are each
# ignored and written again; two runs filling one cache at once leave whole
# entries; a cache directory that cannot be made costs nothing but the
# compile; PLASTCC_CACHE=0 writes nothing.
set -u
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
rules=$top_srcdir/tests/runtime/run/tiny.rule

# OUT: a short meta-training run (the pool, a meta-batch), one thread
run_exp() {
  exp=$1 out=$2; shift 2
  env "$@" OMP_NUM_THREADS=1 "$PLASTCC" run "$rules" --experiment "$exp" --threads 1 --quiet \
      --out "$work/$out" > "$work/$out.log" 2>&1 || { cat "$work/$out.log"; bad "the run $out failed"; }
}
run() { run_exp tiny_pool_batch "$@"; }
same() {   # the meta-parameters and the learned rule, bit for bit, against the run with the cache off
  for f in meta.csv meta-state.txt learned.rule; do
    cmp -s "$work/off/$f" "$work/$1/$f" || bad "$2: $f differs from the run without the cache"
  done
}
entries() { ls "$1" 2>/dev/null | grep -c '\.o$'; }

inodes() { ls -i "$1" | sort -k2 | awk '{print $1}' | tr '\n' ' '; }

run off PLASTCC_CACHE=0 PLASTCC_CACHE_DIR="$work/never"
[ -e "$work/never" ] && bad "PLASTCC_CACHE=0 made the cache directory"

cache=$work/home/.cache/plastcc
run cold HOME="$work/home" XDG_CACHE_HOME= PLASTCC_CACHE_DIR=
same cold "a run that filled the cache"
n=$(entries "$cache")
[ "$n" -ge 1 ] || bad "the first run left no entry in \$HOME/.cache/plastcc"
ls "$cache" | grep -q tmp && bad "a temporary file was left in the cache"
before=$(inodes "$cache")

run warm PLASTCC_CACHE_DIR="$cache"
same warm "a run from the cache"
[ "$(inodes "$cache")" = "$before" ] || bad "a run with every entry present wrote some again (it did not use them)"
echo "cache: $n entries written by the first run, all loaded by the second; the same bits as without it"

# damaged entries, one kind at a time: each ignored and replaced by a whole one
run_exp tiny_batch other PLASTCC_CACHE_DIR="$work/other"
foreign=$(ls "$work/other"/*.o | head -1)
[ -f "$foreign" ] || bad "the run of another experiment left no entry"
first=$cache/$(ls "$cache" | grep '\.o$' | head -1)
size=$(wc -c < "$first")
cp "$first" "$work/orig"
for kind in truncated flipped foreign; do
  case $kind in
    truncated) head -c $((size / 2)) "$first" > "$work/half" && cat "$work/half" > "$first" ;;
    flipped) printf 'X' | dd of="$first" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null ;;   # in the object
    foreign) cp "$foreign" "$first" ;;
  esac
  cmp -s "$first" "$work/orig" && bad "the $kind entry is the whole one"
  run "m_$kind" PLASTCC_CACHE_DIR="$cache"
  same "m_$kind" "a run over a $kind entry"
  cmp -s "$first" "$work/orig" || bad "the $kind entry was not written again as it was"
  [ "$(entries "$cache")" -eq "$n" ] || bad "the run over a $kind entry changed their number"
done
after=$(inodes "$cache")
run again PLASTCC_CACHE_DIR="$cache"
same again "a run after the entries were mended"
[ "$(inodes "$cache")" = "$after" ] || bad "the mended entries were written again"
echo "a truncated, a corrupted and a foreign entry: ignored, written again, the same bits"

# two processes filling one cache at the same time (MPI ranks): both whole,
# the entries whole (a third run writes none again)
run_exp tiny_pool_batch c1 PLASTCC_CACHE_DIR="$work/shared" & p1=$!
run_exp tiny_pool_batch c2 PLASTCC_CACHE_DIR="$work/shared" & p2=$!
wait $p1; wait $p2
same c1 "the first of two runs filling one cache"
same c2 "the second of two runs filling one cache"
ls "$work/shared" | grep -q tmp && bad "two runs filling one cache left a temporary file"
shared=$(inodes "$work/shared")
run c3 PLASTCC_CACHE_DIR="$work/shared"
same c3 "a run from the cache two runs filled"
[ "$(inodes "$work/shared")" = "$shared" ] || bad "the entries two runs wrote at once did not check out"
echo "two runs filling one cache at once: whole entries, the same bits"

# a directory that cannot be made: under a regular file
touch "$work/file"
run nodir PLASTCC_CACHE_DIR="$work/file/cache"
same nodir "a run whose cache directory cannot be made"
# a directory that cannot be written
mkdir "$work/ro" && chmod 500 "$work/ro"
run rodir PLASTCC_CACHE_DIR="$work/ro/cache"
same rodir "a run with a read-only cache directory"
echo "an unusable cache directory: the kernels compiled, the same bits"

# the JIT's latency from the cache (bench/jit_latency's warm column) is
# measured there, not here: a timed unit test would fail on a busy machine
exit $fail
