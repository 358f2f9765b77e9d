# bench/local.mk — benchmarks (not tests): bench/jit_latency measures the
# LLVM JIT's latency and its kernels' speed against gcc; bench/bench.py runs
# plastcc and PyTorch side by side on 003 episodes (bench/README.md).  Not
# part of the test suite.
noinst_PROGRAMS += bench/jit_latency
bench_jit_latency_SOURCES = bench/jit_latency.c
bench_jit_latency_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
bench_jit_latency_LDADD = compiler/libplastcc.a $(LLVM_LIBS) -ldl -lz -lm
EXTRA_DIST += bench/README.md bench/bench.py bench/torch003.py bench/workloads.rule
