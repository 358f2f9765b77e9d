# bench/local.mk — benchmarks (not tests): bench/jit_latency measures the
# LLVM JIT's latency and its kernels' speed against gcc; bench/bench.py runs
# plastcc and PyTorch side by side on 003 episodes (bench/README.md).  Not
# part of the test suite.
noinst_PROGRAMS += bench/jit_latency
bench_jit_latency_SOURCES = bench/jit_latency.c bench/bench_time.h
bench_jit_latency_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
# linked with LLVM as plastcc is (its static libraries where they are installed)
bench_jit_latency_LDADD = compiler/libplastcc.a runtime/libplast.la $(PLASTCC_LLVM_LIBS) -ldl -lz -lm
EXTRA_DIST += bench/README.md bench/bench.py bench/torch003.py bench/workloads.rule
# bench/hat_step: HAT's meta-learner kernels (rules/hat.rule) at the paper's
# sizes, JIT'ed, timed, peak RSS; bench/bench.py --only w4 sets it against
# bench/torch_hat.py (PyTorch, 1x1-convolution form).
noinst_PROGRAMS += bench/hat_step
bench_hat_step_SOURCES = bench/hat_step.c bench/bench_time.h
bench_hat_step_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
bench_hat_step_LDADD = compiler/libplastcc.a runtime/libplast.la $(PLASTCC_LLVM_LIBS) -ldl -lz -lm
bench_hat_step_LDFLAGS = $(OPENMP_CFLAGS)
EXTRA_DIST += bench/torch_hat.py bench/hat_joint.sh
