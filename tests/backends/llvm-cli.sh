#!/bin/sh
# llvm-cli.sh — the LLVM back end's commands as a user runs them:
# `plastcc emit-llvm` writes verified IR with every kernel, `plastcc compile
# -o K.o` a native object with the ABI's symbols (NAME, NAME_scratch,
# NAME_desc), `-shared -o K.so` a library a C program can dlopen and call
# through the descriptor; `--experiment` the kernels an experiment runs; a
# bad option gets a usage error.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
rule=$top_srcdir/rules/pool.rule

"$PLASTCC" emit-llvm "$rule" -o "$tmp/k.ll" || bad "emit-llvm"
for k in pool_fwd pool_adj; do
  grep -q "^define .*@$k(" "$tmp/k.ll" || bad "emit-llvm: no function $k"
  grep -q "@${k}_desc = " "$tmp/k.ll" || bad "emit-llvm: no descriptor ${k}_desc"
done

"$PLASTCC" compile "$rule" -o "$tmp/k.o" || bad "compile -o k.o"
for s in pool_fwd pool_fwd_scratch pool_fwd_desc pool_adj pool_adj_scratch pool_adj_desc; do
  nm "$tmp/k.o" 2>/dev/null | grep -q " [TDRB] $s\$" || bad "k.o does not define $s"
done

"$PLASTCC" compile "$rule" -shared -o "$tmp/k.so" || bad "compile -shared"
cat > "$tmp/call.c" <<'EOC'
#include <dlfcn.h>
#include <stdio.h>
#include "plast.h"
int main(int argc, char **argv)
{
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    const plast_kdesc *d = dlsym(h, "pool_fwd_desc");
    if (!d || !d->run || !d->scratch || d->n_meta != 10) { printf("bad descriptor\n"); return 1; }
    printf("%s: %d arguments, %d meta-parameters\n", d->name, d->n_arg, d->n_meta);
    return 0;
}
EOC
if cc -I"$top_srcdir/runtime" -o "$tmp/call" "$tmp/call.c" -ldl 2>"$tmp/cc.err"; then
  "$tmp/call" "$tmp/k.so" || bad "k.so: descriptor not callable"
else
  cat "$tmp/cc.err"; bad "cannot build the dlopen driver"
fi

# --experiment: the kernels an experiment runs, the update of each layer
# fused with the next step's dense layer among them (emit-c's schedule names
# them); an unknown experiment is an error
small=$top_srcdir/tests/runtime/episode/small.rule
"$PLASTCC" compile "$small" --experiment pool_random -o "$tmp/x.o" || bad "compile --experiment"
for s in pool_step_small_random_dense1_desc pool_step_small_random_dense3_desc small_random_dense1_fwd_desc; do
  nm "$tmp/x.o" 2>/dev/null | grep -q " [TDRB] $s\$" || bad "compile --experiment: x.o does not define $s"
done
"$PLASTCC" emit-llvm "$small" --experiment pool_random | grep -q "^define .*@pool_step_small_random_dense2(" ||
  bad "emit-llvm --experiment: no pool_step_small_random_dense2"
"$PLASTCC" emit-c "$small" --experiment pool_random --dump=schedule | grep -q "(and the next step's small_random_dense2_fwd: pool_step_small_random_dense2)" ||
  bad "emit-c --experiment --dump=schedule names no fused update"
"$PLASTCC" emit-c "$small" --experiment pool_random | grep -q "^void pool_step_small_random_dense1(" ||
  bad "emit-c --experiment: no C function pool_step_small_random_dense1"
"$PLASTCC" compile "$small" --experiment nope -o "$tmp/y.o" 2>"$tmp/n.err" && bad "compile accepted an unknown experiment"
grep -q "has no experiment 'nope'" "$tmp/n.err" || bad "no message for an unknown experiment: $(cat "$tmp/n.err")"

"$PLASTCC" compile "$rule" --bogus >/dev/null 2>"$tmp/u.err" && bad "compile accepted --bogus"
grep -q "usage: plastcc compile" "$tmp/u.err" || bad "no usage message for a bad option"
[ $fail = 0 ] && echo "emit-llvm, compile -o, compile -shared: kernels and descriptors present and callable"
exit $fail
