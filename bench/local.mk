# bench/local.mk — benchmarks (not tests): bench/jit_latency measures the
# LLVM JIT's latency and its kernels' speed against gcc (bench/README.md).
noinst_PROGRAMS += bench/jit_latency
bench_jit_latency_SOURCES = bench/jit_latency.c
bench_jit_latency_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
bench_jit_latency_LDADD = compiler/libplastcc.a $(LLVM_LIBS) -ldl -lz -lm
EXTRA_DIST += bench/README.md
