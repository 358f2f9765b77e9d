#!/usr/bin/env bash
# run-all.sh — README command 2: the whole test suite, from a clean clone.
#
#  1. installs missing Debian packages (root, apt-get) — skipped when present;
#  2. builds out of tree in build/ and runs `make check`;
#  3. builds again with --enable-asan --enable-ubsan in build-san/ and runs the
#     tests of plastcc's and libplast's own code (`make print-sanitizer-tests`):
#     the back-end cross-checks run the system C compiler, LLVM and valgrind,
#     which do not mix with the sanitizers, and run in build/ only;
#     tests/random/random-rules.sh gets the seeds 11 and 12 and one of the
#     day ($RANDOM_RULES_SEEDS replaces them);
#  4. fuzzes the front end (fuzz_frontend) and the whole compiler
#     (fuzz_pipeline) for $FUZZ_SECONDS each (default 60) with libFuzzer,
#     seeded with tests/fuzz/corpus/ and every .rule file of the repository
#     (skipped without clang);
# and ends with one line "N passed, N failed" over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
RANDOM_RULES_SEEDS=${RANDOM_RULES_SEEDS:-"11 12 $(date +%Y%m%d)"}
export RANDOM_RULES_SEEDS

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for p in build-essential autoconf automake libtool pkg-config flex bison llvm-dev zlib1g-dev \
         clang libclang-rt-14-dev dataset-fashion-mnist python3-torch python3-numpy valgrind \
         openmpi-bin libopenmpi-dev; do
  have "$p" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "== installing: ${need_pkgs[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null \
      || { echo "apt-get install failed"; exit 1; }
  else
    echo "missing packages and not root: ${need_pkgs[*]}"; exit 1
  fi
fi

passed=0; failed=0
count_log() {   # count_log BUILD_DIR: add automake's PASS/FAIL/XPASS/ERROR counts
  local log=$1/test-suite.log p f
  [ -f "$log" ] || { failed=$((failed + 1)); return; }
  p=$(sed -n 's/^# PASS: *//p' "$log"); f=$(sed -n 's/^# FAIL: *//p' "$log")
  local xp e; xp=$(sed -n 's/^# XPASS: *//p' "$log"); e=$(sed -n 's/^# ERROR: *//p' "$log")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${xp:-0} + ${e:-0}))
}

echo "== bootstrap"
./autogen.sh >/dev/null 2>&1 || { ./autogen.sh; echo "autogen failed"; echo "0 passed, 1 failed"; exit 1; }

build_and_check() {   # build_and_check DIR CONFIGURE-ARGS... (SUBSET=1: the sanitizer subset)
  local dir=$1; shift
  echo "== $dir: configure $*"
  rm -rf "$dir" && mkdir -p "$dir"
  if ! (cd "$dir" && "$top/configure" -q "$@" >configure.out 2>&1); then
    cat "$dir/configure.out" "$dir/config.log" | tail -40; failed=$((failed + 1)); return
  fi
  if ! make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1; then
    tail -40 "$dir/make.out"; failed=$((failed + 1)); return
  fi
  if [ "${SUBSET:-0}" = 1 ]; then
    make -C "$dir" -j"$jobs" check TESTS="$(make -s -C "$dir" print-sanitizer-tests)" >"$dir/check.out" 2>&1
  else
    make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1
  fi
  grep -E '^(FAIL|ERROR|XPASS)' "$dir/check.out" || true
  for log in $(grep -lE '^(FAIL|ERROR)' $(find "$dir" -name '*.log' -not -name test-suite.log) 2>/dev/null | head -5); do
    echo "--- $log"; tail -30 "$log"
  done
  sed -n '/^# TOTAL/,/^# ERROR/p' "$dir/check.out"
  count_log "$dir"
}

build_and_check build
# The sanitizer build is also the build without MPI (what configure gives
# where libopenmpi-dev is absent): both configurations build and pass.
SUBSET=1 build_and_check build-san --enable-asan --enable-ubsan --without-mpi

for target in fuzz_frontend fuzz_pipeline; do
  echo "== $target: $FUZZ_SECONDS s"
  if [ ! -x build/tests/fuzz/$target ]; then echo "fuzz target not built (no clang): skipped"; continue; fi
  corpus=$(mktemp -d)
  cp tests/fuzz/corpus/* "$corpus/"
  find . -name '*.rule' -not -path './build*' -exec cp {} "$corpus/" \; 2>/dev/null
  if build/tests/fuzz/$target -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=300 \
       -rss_limit_mb=2048 -print_final_stats=1 "$corpus" >build/$target.out 2>&1; then
    grep -E 'stat::number_of_executed_units|Done' build/$target.out | head -3
    passed=$((passed + 1))
  else
    tail -40 build/$target.out; failed=$((failed + 1))
  fi
  rm -rf "$corpus"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
