#!/bin/sh
# corpus.sh — both libFuzzer targets over every input of tests/fuzz/corpus/
# once (no mutation): what fuzzing found once stays fixed.  The long runs
# are `make fuzz` and tests/run-all.sh.  Skips (77) when the targets are not
# built (no clang).
set -u
status=0 ran=0
for t in fuzz_frontend fuzz_pipeline; do
  bin=$top_builddir/tests/fuzz/$t
  [ -x "$bin" ] || continue
  if "$bin" -runs=0 -timeout=120 -rss_limit_mb=2048 "$top_srcdir/tests/fuzz/corpus" > "$t.corpus.out" 2>&1; then
    echo "$t: $(grep -Eo 'INITED.*corp: [0-9]+' "$t.corpus.out" | sed 's/.*corp: //') corpus inputs, no failure"
  else
    tail -40 "$t.corpus.out"; echo "FAIL: $t on the corpus"; status=1
  fi
  rm -f "$t.corpus.out"
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "no fuzz target built (no clang): skipping"; exit 77; }
exit $status
