# runtime/local.mk -- the data layer of libplast (random streams, data sets,
# few-shot tasks) and its unit tests.  Included from the top-level Makefile.am;
# paths are relative to the top folder.  test_data exits 77 (skip) when the
# real Fashion-MNIST is not installed, after its fixture checks have passed.

libplast_la_SOURCES += runtime/rng.c runtime/rng.h runtime/data.c runtime/data_impl.h runtime/data_idx.c \
	runtime/data_npy_read.c runtime/data_npy_write.c runtime/data_gen.c runtime/data_fashion.c \
	runtime/task.c runtime/task.h runtime/task_gen.c

# The quality of a representation (paper 000): a linear probe, the earth
# mover's distance by optimal assignment, principal components.
libplast_la_SOURCES += runtime/probe.c runtime/emd.c
check_PROGRAMS += tests/runtime/test_metrics
TESTS += tests/runtime/test_metrics tests/runtime/metrics.sh
EXTRA_DIST += tests/runtime/metrics.sh tests/runtime/ref_metrics.py
tests_runtime_test_metrics_SOURCES = tests/runtime/test_metrics.c
tests_runtime_test_metrics_LDADD = runtime/libplast.la -lm

check_PROGRAMS += tests/runtime/test_data tests/runtime/test_rng tests/runtime/test_task tests/runtime/test_task_ssl
TESTS += tests/runtime/test_data tests/runtime/test_rng tests/runtime/test_task tests/runtime/test_task_ssl

tests_runtime_test_data_SOURCES = tests/runtime/test_data.c tests/runtime/check.h
tests_runtime_test_data_LDADD = runtime/libplast.la
tests_runtime_test_rng_SOURCES = tests/runtime/test_rng.c tests/runtime/check.h
tests_runtime_test_rng_LDADD = runtime/libplast.la
tests_runtime_test_task_SOURCES = tests/runtime/test_task.c tests/runtime/check.h
tests_runtime_test_task_LDADD = runtime/libplast.la
tests_runtime_test_task_ssl_SOURCES = tests/runtime/test_task_ssl.c tests/runtime/check.h
tests_runtime_test_task_ssl_LDADD = runtime/libplast.la -lm

# The thread count of a default run, from the cores other processes leave.
check_PROGRAMS += tests/runtime/test_cores
TESTS += tests/runtime/test_cores
tests_runtime_test_cores_SOURCES = tests/runtime/test_cores.c tests/runtime/check.h
tests_runtime_test_cores_LDADD = runtime/libplast.la

# The meta-optimiser's formulas, checked by hand computation.
check_PROGRAMS += tests/runtime/test_meta_step
TESTS += tests/runtime/test_meta_step
tests_runtime_test_meta_step_SOURCES = tests/runtime/test_meta_step.c
tests_runtime_test_meta_step_LDADD = runtime/libplast.la

# meta-state.txt: a round trip, and every hand edit refused with its line.
check_PROGRAMS += tests/runtime/test_meta_file
TESTS += tests/runtime/test_meta_file
tests_runtime_test_meta_file_SOURCES = tests/runtime/test_meta_file.c
tests_runtime_test_meta_file_LDADD = runtime/libplast.la

# The meta-MLP routines generated kernels call, against finite differences;
# their lane forms against one element at a time, bit for bit.
check_PROGRAMS += tests/runtime/test_mlp
TESTS += tests/runtime/test_mlp
tests_runtime_test_mlp_SOURCES = tests/runtime/test_mlp.c tests/runtime/check.h
tests_runtime_test_mlp_LDADD = runtime/libplast.la -lm


# The reverse sweep's checkpoint plans, played out.
check_PROGRAMS += tests/runtime/test_sweep_plan
TESTS += tests/runtime/test_sweep_plan
tests_runtime_test_sweep_plan_SOURCES = tests/runtime/test_sweep_plan.c tests/runtime/check.h
tests_runtime_test_sweep_plan_LDADD = runtime/libplast.la
