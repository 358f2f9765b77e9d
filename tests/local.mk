# Tests: golden .rule files (diagnostics, DAG dumps, emitted C), the rule
# library, and C unit tests.  Each folder's files are listed by a glob that
# automake cannot do, so they are listed explicitly by tests/list.mk.
include tests/list.mk
EXTRA_DIST += $(GOLDEN_TESTS) $(GOLDEN_FILES) tests/run-golden.sh.in tests/gen-list.sh
TESTS += $(GOLDEN_TESTS)
