#!/bin/sh
# embed.sh — libplast from outside: `make install` into a staging folder,
# then docs/embed/embed.c built with nothing but the installed header and
# `pkg-config --cflags --libs plast` (and the kernels from `plastcc compile`),
# run against the installed library.  Fails if an installed header or the .pc
# file is incomplete (the program does not compile or link), and if the
# program's meta-parameters differ from `plastcc run`'s on the same
# experiment (same seed, same library: the same bits).
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
command -v pkg-config >/dev/null || { echo "pkg-config not installed (apt-get install pkgconf): skipped"; exit 77; }
stage=$tmp/stage
cc=${EMBED_CC:-cc}
cflags=${EMBED_CFLAGS:--fopenmp}   # the build's sanitizers (to link its libplast) and OpenMP

# The make running this test must not lend its jobserver to this one.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install DESTDIR="$stage" \
  >"$tmp/install.log" 2>&1 || { tail -20 "$tmp/install.log"; bad "make install DESTDIR=..."; exit 1; }
pc=$(find "$stage" -name plast.pc | head -1)
[ -n "$pc" ] || { bad "make install put no plast.pc in the staging folder"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR=/nonexistent
flags=$(pkg-config --cflags --libs plast) || { bad "pkg-config --cflags --libs plast"; exit 1; }
echo "pkg-config --cflags --libs plast: $flags"
libdir=$(dirname "$(dirname "$pc")")   # the staged $libdir/pkgconfig/plast.pc

"$PLASTCC" compile "$top_srcdir/docs/embed/embed.rule" -o "$tmp/kernels.o" || bad "plastcc compile embed.rule"
# C99, every warning an error: the public header must be clean in a user's build.
$cc $cflags -std=c99 -Wall -Wextra -Werror -o "$tmp/embed" "$top_srcdir/docs/embed/embed.c" "$tmp/kernels.o" \
  $flags -lm 2>"$tmp/cc.err" || { cat "$tmp/cc.err"; bad "docs/embed/embed.c does not build against the install"; exit 1; }
# The header's extern "C" block: a C++ program includes it as well.
if command -v c++ >/dev/null; then
  printf '#include <plast.h>\nint main() { plast_dataset d{}; plast_dataset_free(&d); return 0; }\n' >"$tmp/cxx.cc"
  c++ $cflags -Wall -Wextra -Werror -o "$tmp/cxx" "$tmp/cxx.cc" $flags 2>"$tmp/cxx.err" ||
    { cat "$tmp/cxx.err"; bad "the installed plast.h does not build as C++"; }
fi
LD_LIBRARY_PATH="$libdir" ldd "$tmp/embed" | grep -q "$stage.*libplast" ||
  bad "embed does not load the installed libplast"
LD_LIBRARY_PATH="$libdir" "$tmp/embed" 6 >"$tmp/embed.out" 2>&1 || { cat "$tmp/embed.out"; bad "embed 6 failed"; }
head -1 "$tmp/embed.out"

"$PLASTCC" run "$top_srcdir/docs/embed/embed.rule" --experiment embed --episodes 6 --threads 1 --quiet \
  --out "$tmp/run" >/dev/null 2>"$tmp/run.err" || { cat "$tmp/run.err"; bad "plastcc run embed.rule"; }
tail -n +2 "$tmp/run/meta.csv" | cut -d, -f1-3 >"$tmp/run.meta"
grep -v '^#' "$tmp/embed.out" >"$tmp/embed.meta"
[ -s "$tmp/embed.meta" ] || bad "embed printed no meta-parameters"
cmp -s "$tmp/run.meta" "$tmp/embed.meta" ||
  { bad "the program's meta-parameters differ from plastcc run's:"; diff "$tmp/run.meta" "$tmp/embed.meta"; }

# plast_call.fused from outside (tests/runtime/fused-api.c, embed.c's
# network): the kernels an experiment runs (`plastcc compile --experiment`)
# fused into the updates give the calls' bits apart, and a fused call that
# names an update call is refused with a message
"$PLASTCC" compile "$top_srcdir/docs/embed/embed.rule" --experiment embed -o "$tmp/fused.o" ||
  bad "plastcc compile embed.rule --experiment embed"
$cc $cflags -std=c99 -Wall -Wextra -Werror -I"$top_srcdir/docs/embed" -o "$tmp/fused" \
  "$top_srcdir/tests/runtime/fused-api.c" "$tmp/fused.o" $flags -lm 2>"$tmp/fcc.err" ||
  { cat "$tmp/fcc.err"; bad "tests/runtime/fused-api.c does not build against the install"; }
[ -x "$tmp/fused" ] && { LD_LIBRARY_PATH="$libdir" "$tmp/fused" || bad "fused-api"; }

[ $fail = 0 ] && echo "installed plast.h + plast.pc build docs/embed/embed.c; 6 episodes, the same bits as plastcc run"
exit $fail
