# Tests: golden .rule files (diagnostics, DAG dumps, emitted C), the rule
# library, and C unit tests.  Each folder's files are listed by a glob that
# automake cannot do, so they are listed explicitly by tests/list.mk.
include tests/list.mk
EXTRA_DIST += $(GOLDEN_TESTS) $(GOLDEN_FILES) tests/run-golden.sh.in tests/gen-list.sh tests/README.md
TESTS += $(GOLDEN_TESTS)

# The libFuzzer targets (built with `make` whenever configure found clang,
# FUZZ_CC); each compiles the sources it drives itself, with the fuzzer and
# sanitizers, independently of the CFLAGS of the rest of the build:
#   fuzz_frontend (tests/fuzz/fuzz_frontend.c): lex, parse, check;
#   fuzz_pipeline (tests/fuzz/fuzz_pipeline.c): the whole compiler, from
#     parsing to the DAGs, adjoints, loop nests, emitted C and LLVM IR.
# `make fuzz` runs each for FUZZ_SECONDS on tests/fuzz/corpus/ plus every
# .rule file of the tree (new inputs go to a scratch copy, not the corpus);
# FUZZ_RUN picks the targets, FUZZ_ARGS adds libFuzzer options (the long
# run of docs/reliability.md: FUZZ_RUN=tests/fuzz/fuzz_pipeline
# FUZZ_ARGS='-fork=2 -runs=10000000').
# The timeout is for hangs: rules/hat.rule's 3-100-1 meta-MLP takes about
# 4 s to lower to LLVM IR natively, over a minute with the fuzzer's
# sanitizers on a loaded machine.
EXTRA_DIST += tests/fuzz/fuzz_frontend.c tests/fuzz/fuzz_pipeline.c tests/fuzz/corpus tests/gen-diagnostics-md.py
FUZZ_SECONDS = 60
FUZZ_ARGS =
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
if HAVE_FUZZ_CC
FUZZ_FRONT_END = \
  $(top_srcdir)/compiler/diag.c $(top_srcdir)/compiler/ast.c \
  $(top_srcdir)/compiler/sema.c $(top_srcdir)/compiler/sema_rule.c $(top_srcdir)/compiler/sema_config.c $(top_srcdir)/compiler/sema_joint.c \
  $(top_srcdir)/compiler/sema_unroll.c $(top_srcdir)/runtime/util.c $(top_srcdir)/compiler/ops.c compiler/parser.c compiler/lexer.c
FUZZ_FRONTEND_FILES = $(top_srcdir)/tests/fuzz/fuzz_frontend.c $(FUZZ_FRONT_END)
FUZZ_PIPELINE_FILES = $(top_srcdir)/tests/fuzz/fuzz_pipeline.c $(FUZZ_FRONT_END) \
  $(top_srcdir)/compiler/dag.c $(top_srcdir)/compiler/factor.c $(top_srcdir)/compiler/diff.c \
  $(top_srcdir)/compiler/kernel.c $(top_srcdir)/compiler/build_rule.c $(top_srcdir)/compiler/build_model.c \
  $(top_srcdir)/compiler/lower.c $(top_srcdir)/compiler/lower_fuse.c $(top_srcdir)/compiler/emit_c.c $(top_srcdir)/compiler/pipeline.c \
  $(top_srcdir)/compiler/schedule.c \
  $(top_srcdir)/compiler/llgen.c $(top_srcdir)/compiler/llgen_ir.c $(top_srcdir)/compiler/llgen_ops.c \
  $(top_srcdir)/compiler/llgen_loop.c $(top_srcdir)/compiler/llgen_fuse.c $(top_srcdir)/compiler/llgen_kernel.c $(top_srcdir)/compiler/llgen_mlp.c
FUZZ_INCLUDED = compiler/parser.h config.h $(top_srcdir)/compiler/*.h $(top_srcdir)/compiler/ops.def \
  $(top_srcdir)/runtime/util.h $(top_srcdir)/runtime/plast.h
tests/fuzz/fuzz_frontend$(EXEEXT): $(FUZZ_FRONTEND_FILES) $(FUZZ_INCLUDED)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(top_builddir) $(AM_CPPFLAGS) \
	  -o $@ $(filter %.c,$^) -lm
tests/fuzz/fuzz_pipeline$(EXEEXT): $(FUZZ_PIPELINE_FILES) $(FUZZ_INCLUDED)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(top_builddir) $(AM_CPPFLAGS) $(LLVM_CFLAGS) \
	  -o $@ $(filter %.c,$^) $(LLVM_LIBS) -lm
FUZZ_TARGETS = tests/fuzz/fuzz_frontend$(EXEEXT) tests/fuzz/fuzz_pipeline$(EXEEXT)
FUZZ_RUN = $(FUZZ_TARGETS)
all-local: $(FUZZ_TARGETS)
CLEANFILES += $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_RUN); do \
	  rm -rf tests/fuzz/run && $(MKDIR_P) tests/fuzz/run && \
	  cp $(top_srcdir)/tests/fuzz/corpus/* tests/fuzz/run/ && \
	  find $(top_srcdir)/rules $(top_srcdir)/tests -name '*.rule' -exec cp {} tests/fuzz/run/ \; && \
	  echo "== $$t, $(FUZZ_SECONDS) s" && \
	  $$t $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=300 -rss_limit_mb=2048 -print_final_stats=1 \
	    tests/fuzz/run || exit 1; \
	done
else
fuzz:
	@echo "fuzz: no clang found by configure (FUZZ_CC); install clang and reconfigure"
endif
.PHONY: fuzz

# The runtime seen from the command line (tests/runtime/): episodes against
# PyTorch, runs, evaluation, single precision, the alignment angles and
# orthonormality errors of 003 against NumPy, HAT's episodes and joint
# training, plastcc analyze and curves.
TESTS += tests/runtime/episode.sh tests/runtime/run.sh tests/runtime/eval.sh tests/runtime/alignment.sh \
  tests/runtime/precision.sh tests/runtime/episode-hat.sh tests/runtime/joint.sh tests/runtime/analyze.sh \
  tests/runtime/curves.sh
EXTRA_DIST += tests/runtime/episode.sh tests/runtime/run.sh tests/runtime/eval.sh tests/runtime/episode/small.rule \
  tests/runtime/run/tiny.rule tests/runtime/alignment.sh tests/runtime/alignment.py tests/runtime/precision.sh \
  tests/runtime/episode-hat.sh tests/runtime/episode/hat.rule tests/runtime/joint.sh tests/runtime/joint/joint.rule \
  tests/runtime/analyze.sh tests/runtime/analyze/known.rule tests/runtime/curves.sh \
  tests/runtime/episode-gu.sh tests/runtime/episode/gu.rule tests/runtime/boundary.py tests/runtime/gu-run.sh
# Gu et al.: episodes against PyTorch, semi-supervised runs and evaluations.
TESTS += tests/runtime/episode-gu.sh tests/runtime/gu-run.sh
# k-cap RNNs (paper 000): unrolled recurrent layers against PyTorch, plastcc latents.
TESTS += tests/runtime/episode-kcap.sh tests/runtime/latents.sh
# Saved weights a network starts from ('weights from').
TESTS += tests/runtime/weights-from.sh
EXTRA_DIST += tests/runtime/weights-from.sh tests/runtime/weights/weights.rule
EXTRA_DIST += tests/runtime/episode-kcap.sh tests/runtime/episode/kcap.rule bench/ref_kcap.py tests/runtime/latents.sh \
  tests/runtime/latents/latents.rule
# MPI ranks: 2 ranks follow 1 process bit for bit; faults stop the job, named (skipped without MPI).
TESTS += tests/runtime/mpi.sh
EXTRA_DIST += tests/runtime/mpi.sh tests/runtime/mpi/mb4.rule
# Reliability: every error path of run, episode and eval, faults, resumes.
RELIABILITY_TESTS = tests/runtime/run-errors.sh tests/runtime/run-resume.sh tests/runtime/episode-errors.sh \
  tests/runtime/eval-errors.sh tests/runtime/special-files.sh
# Fault injection (tests/fault/): full disks, read-only folders, kill -9 in
# a loop, concurrent runs, damaged meta-states; each disturbed run, resumed,
# must end bit for bit where an undisturbed one ends.
FAULT_TESTS = tests/fault/full-disk.sh tests/fault/read-only.sh tests/fault/kill-loop.sh \
  tests/fault/concurrent.sh tests/fault/corrupt-state.sh tests/fault/joint.sh
RELIABILITY_TESTS += $(FAULT_TESTS)
EXTRA_DIST += tests/fault/common.sh tests/fault/fault.rule
TESTS += $(RELIABILITY_TESTS)
# Data files that are no files: a FIFO as IDX or .npy data is refused, named.
TESTS += tests/runtime/data-files.sh
EXTRA_DIST += tests/runtime/data-files.sh
# The documentation stands alone: no path outside the repository, no work periods.
TESTS += tests/docs/standalone.sh
EXTRA_DIST += tests/docs/standalone.sh
# The public API from outside: docs/embed/embed.c built against a staged
# `make install` through pkg-config, and run (the same bits as plastcc run).
TESTS += tests/runtime/embed.sh
EXTRA_DIST += tests/runtime/embed.sh tests/runtime/fused-api.c docs/embed/embed.c docs/embed/embed.rule docs/embed/README.md
EXTRA_DIST += $(RELIABILITY_TESTS) tests/runtime/run/errors.rule tests/runtime/run/bad-options.rule \
  tests/runtime/run/resume.rule tests/runtime/run/oom.rule tests/runtime/episode/errors.rule tests/runtime/eval/errors.rule

# Differential testing on random valid programs (tests/random/gen_rules.py):
# check, gradcheck through the JIT and the C, JIT = C = object.  Back-end
# cross-checks: the plain build only.
TESTS += tests/random/random-rules.sh
EXTRA_DIST += tests/random/random-rules.sh tests/random/gen_rules.py
# The fuzz targets over their corpus, once (when clang built them).
TESTS += tests/fuzz/corpus.sh
EXTRA_DIST += tests/fuzz/corpus.sh

# The back ends (tests/backends/): JIT, emitted C and LLVM object files agree
# on every kernel (and across 1, 2, 4 threads, bit for bit); gradcheck
# through the JIT; vector code in the per-synapse loops; no leaks under
# valgrind; emit-llvm and compile from the command line.
check_PROGRAMS += tests/backends/cross_check
tests_backends_cross_check_SOURCES = tests/backends/cross_check.c
tests_backends_cross_check_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
tests_backends_cross_check_LDADD = compiler/libplastcc.a runtime/libplast.la $(LLVM_LIBS) -ldl -lz -lm
tests_backends_cross_check_LDFLAGS = $(OPENMP_CFLAGS)
# kcap's forward value: exactly k winners per sample, ties to the lower
# index, the same bits from every back end.
check_PROGRAMS += tests/backends/kcap_exact
tests_backends_kcap_exact_SOURCES = tests/backends/kcap_exact.c
tests_backends_kcap_exact_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
tests_backends_kcap_exact_LDADD = compiler/libplastcc.a runtime/libplast.la $(LLVM_LIBS) -ldl -lz -lm
TESTS += tests/backends/kcap_exact
LLVM_TESTS = tests/backends/rules.sh tests/backends/valid.sh tests/backends/paths.sh tests/backends/jit-gradcheck.sh \
  tests/backends/jit-vector.sh tests/backends/jit-leaks.sh tests/backends/llvm-cli.sh tests/backends/mlp-paths.sh \
  tests/backends/jit-cache.sh tests/backends/jit-perf.sh
TESTS += $(LLVM_TESTS)
EXTRA_DIST += $(LLVM_TESTS)
# The emitted exp and log1p (compiler/vmath.h) against glibc.
TESTS += tests/backends/vmath.sh
EXTRA_DIST += tests/backends/vmath.sh tests/backends/vmath_accuracy.c

# The symbolic core: every adjoint against finite differences (rules/ and the
# operator coverage rules of tests/gradcheck/, through the C back end), the
# DAG and the partials on their own, the pool kernel's numbers against a
# hand-written loop, hoisting in the loop nests, and warning-free emitted C.
SYMBOLIC_TESTS = tests/gradcheck/gradcheck.sh tests/symbolic/test_loops.sh tests/symbolic/test_cc_warnings.sh
TESTS += $(SYMBOLIC_TESTS) tests/symbolic/test_dag tests/symbolic/test_pool_reference
EXTRA_DIST += $(SYMBOLIC_TESTS)
check_PROGRAMS += tests/symbolic/test_dag tests/symbolic/test_pool_reference
SYMBOLIC_LDADD = compiler/libplastcc.a runtime/libplast.la $(LLVM_LIBS) -ldl -lz -lm
tests_symbolic_test_dag_SOURCES = tests/symbolic/test_dag.c
tests_symbolic_test_dag_LDADD = $(SYMBOLIC_LDADD)
tests_symbolic_test_dag_LDFLAGS = $(OPENMP_CFLAGS)
tests_symbolic_test_pool_reference_SOURCES = tests/symbolic/test_pool_reference.c
tests_symbolic_test_pool_reference_LDADD = $(SYMBOLIC_LDADD)
tests_symbolic_test_pool_reference_LDFLAGS = $(OPENMP_CFLAGS)
