#!/bin/sh
# standalone.sh — the repository's documentation stands alone: no README,
# doc, man page or example points outside the repository (`../shared/...`,
# an absolute path of the machine it was written on), and none tells
# history as work periods ("session 3's kernels"): a number names the
# commit it was measured at.  Run outputs (examples/*/runs/) are left out.
set -u
cd "$top_srcdir" || exit 99
files=$(find README.md tests/README.md docs bench examples rules -type f \
          \( -name '*.md' -o -name '*.1' -o -name '*.rule' -o -name '*.sh' \) \
          ! -path '*/runs/*' 2>/dev/null | LC_ALL=C sort)
[ -n "$files" ] || { echo "no documentation found under $top_srcdir"; exit 99; }
hits=$(grep -n -E '\.\./shared|/work/|[Ss]ession [0-9]|[Ss]ession'"'"'s|[0-9](st|nd|rd|th) session' $files)
if [ -n "$hits" ]; then
  echo "FAIL: documentation that points outside the repository or tells work periods:"
  echo "$hits"
  exit 1
fi
echo "$(echo "$files" | wc -l) documentation files stand alone"
