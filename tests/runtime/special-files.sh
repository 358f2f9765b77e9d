#!/bin/sh
# special-files.sh — fifos, devices and folders where a rule file, an import
# or a meta-state is expected: each is refused at once with "not a regular
# file" (opening a fifo for reading would wait for a writer forever).  Each
# command runs under `timeout`: exit 124 means it waited.
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
cd "$work" || exit 99

expect() {   # expect PATTERN -- COMMAND...: exit 1 within 60 s, PATTERN on stderr
  pattern=$1; shift 2
  timeout 60 "$@" > out 2> err; got=$?
  if [ $got -eq 124 ]; then bad "$* waited on a special file"; return; fi
  if [ $got -ne 1 ] || ! grep -Eq -- "$pattern" err; then bad "$* exited $got with:"; cat err; return; fi
  echo "ok: $(grep -E -- "$pattern" err | head -1)"
}

mkfifo fifo.rule
printf 'import "fifo.rule";\n' > imports-fifo.rule
printf 'import "/dev/zero";\n' > imports-device.rule
mkdir folder.rule
expect "cannot read 'fifo.rule': not a regular file" -- "$PLASTCC" check fifo.rule
expect "imports-fifo.rule:1:8: error: cannot read 'fifo.rule': not a regular file" -- "$PLASTCC" check imports-fifo.rule
expect "imports-device.rule:1:8: error: cannot read '/dev/zero': not a regular file" -- "$PLASTCC" check imports-device.rule
expect "cannot read '/dev/null': not a regular file" -- "$PLASTCC" check /dev/null
expect "cannot read 'folder.rule': Is a directory" -- "$PLASTCC" check folder.rule
expect "cannot read 'fifo.rule': not a regular file" -- "$PLASTCC" run fifo.rule --out o1
expect "cannot read 'fifo.rule': not a regular file" -- "$PLASTCC" emit-c fifo.rule

# a resume whose meta-state or log is a fifo
rules=$top_srcdir/tests/runtime/run/errors.rule
"$PLASTCC" run "$rules" --experiment ok --out r --quiet > /dev/null 2>&1 || bad "run ok"
mv r/meta-state.txt state.txt && mkfifo r/meta-state.txt
expect "cannot resume: r/meta-state.txt: not a regular file" -- "$PLASTCC" run "$rules" --resume r --quiet
rm r/meta-state.txt && mv state.txt r/meta-state.txt && rm r/log.csv && mkfifo r/log.csv
expect "cannot resume: r/log.csv: not a regular file" -- "$PLASTCC" run "$rules" --resume r --quiet
exit $fail
