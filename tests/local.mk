# Tests: golden .rule files (diagnostics, DAG dumps, emitted C), the rule
# library, and C unit tests.  Each folder's files are listed by a glob that
# automake cannot do, so they are listed explicitly by tests/list.mk.
include tests/list.mk
EXTRA_DIST += $(GOLDEN_TESTS) $(GOLDEN_FILES) tests/run-golden.sh.in tests/gen-list.sh tests/README.md
TESTS += $(GOLDEN_TESTS)

# The libFuzzer target for the front end (tests/fuzz/fuzz_frontend.c), built
# with `make` whenever configure found clang (FUZZ_CC).  It compiles the front
# end's sources itself, with the fuzzer and sanitizers, independently of the
# CFLAGS of the rest of the build.  `make fuzz` runs it for FUZZ_SECONDS.
EXTRA_DIST += tests/fuzz/fuzz_frontend.c tests/gen-diagnostics-md.py
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
if HAVE_FUZZ_CC
FUZZ_FRONTEND_FILES = \
  $(top_srcdir)/tests/fuzz/fuzz_frontend.c \
  $(top_srcdir)/compiler/diag.c $(top_srcdir)/compiler/ast.c \
  $(top_srcdir)/compiler/sema.c $(top_srcdir)/compiler/sema_rule.c $(top_srcdir)/compiler/sema_config.c $(top_srcdir)/compiler/sema_joint.c \
  $(top_srcdir)/runtime/util.c $(top_srcdir)/compiler/ops.c compiler/parser.c compiler/lexer.c
tests/fuzz/fuzz_frontend$(EXEEXT): $(FUZZ_FRONTEND_FILES) compiler/parser.h \
    $(top_srcdir)/compiler/ast.h $(top_srcdir)/compiler/diag.h $(top_srcdir)/compiler/parse.h \
    $(top_srcdir)/compiler/sema.h $(top_srcdir)/compiler/sema_impl.h $(top_srcdir)/compiler/ops.h \
    $(top_srcdir)/compiler/ops.def $(top_srcdir)/compiler/ops_end.h $(top_srcdir)/compiler/space.h config.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(top_builddir) $(AM_CPPFLAGS) \
	  -o $@ $(filter %.c,$^) -lm
all-local: tests/fuzz/fuzz_frontend$(EXEEXT)
CLEANFILES += tests/fuzz/fuzz_frontend$(EXEEXT)

fuzz: tests/fuzz/fuzz_frontend$(EXEEXT)
	rm -rf tests/fuzz/corpus && $(MKDIR_P) tests/fuzz/corpus
	find $(top_srcdir)/rules $(top_srcdir)/tests -name '*.rule' -exec cp {} tests/fuzz/corpus/ \;
	tests/fuzz/fuzz_frontend$(EXEEXT) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  -rss_limit_mb=2048 -print_final_stats=1 tests/fuzz/corpus
else
fuzz:
	@echo "fuzz: no clang found by configure (FUZZ_CC); install clang and reconfigure"
endif
.PHONY: fuzz

# The runtime seen from the command line (tests/runtime/): episodes against
# PyTorch, runs, evaluation, single precision, the alignment angles and
# orthonormality errors of 003 against NumPy, HAT's episodes and joint
# training, plastcc analyze.
TESTS += tests/runtime/episode.sh tests/runtime/run.sh tests/runtime/eval.sh tests/runtime/alignment.sh \
  tests/runtime/precision.sh tests/runtime/episode-hat.sh tests/runtime/joint.sh tests/runtime/analyze.sh
EXTRA_DIST += tests/runtime/episode.sh tests/runtime/run.sh tests/runtime/eval.sh tests/runtime/episode/small.rule \
  tests/runtime/run/tiny.rule tests/runtime/alignment.sh tests/runtime/alignment.py tests/runtime/precision.sh \
  tests/runtime/episode-hat.sh tests/runtime/episode/hat.rule tests/runtime/joint.sh tests/runtime/joint/joint.rule \
  tests/runtime/analyze.sh tests/runtime/analyze/known.rule \
  tests/runtime/episode-gu.sh tests/runtime/episode/gu.rule tests/runtime/boundary.py tests/runtime/gu-run.sh
# Gu et al.: episodes against PyTorch, semi-supervised runs and evaluations.
TESTS += tests/runtime/episode-gu.sh tests/runtime/gu-run.sh
# MPI ranks: 2 ranks follow 1 process bit for bit; faults stop the job, named (skipped without MPI).
TESTS += tests/runtime/mpi.sh
EXTRA_DIST += tests/runtime/mpi.sh tests/runtime/mpi/mb4.rule
# Reliability: every error path of run and episode, faults, resumes.
RELIABILITY_TESTS = tests/runtime/run-errors.sh tests/runtime/run-resume.sh tests/runtime/episode-errors.sh \
  tests/runtime/special-files.sh
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
EXTRA_DIST += tests/runtime/embed.sh docs/embed/embed.c docs/embed/embed.rule docs/embed/README.md
EXTRA_DIST += $(RELIABILITY_TESTS) tests/runtime/run/errors.rule tests/runtime/run/bad-options.rule \
  tests/runtime/run/resume.rule tests/runtime/run/oom.rule tests/runtime/episode/errors.rule

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
  tests/backends/jit-vector.sh tests/backends/jit-leaks.sh tests/backends/llvm-cli.sh
TESTS += $(LLVM_TESTS)
EXTRA_DIST += $(LLVM_TESTS)

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
