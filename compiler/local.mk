# The compiler: a convenience library (shared by plastcc, the tests and the
# fuzz target) and the plastcc binary.
noinst_LIBRARIES += compiler/libplastcc.a
compiler_libplastcc_a_SOURCES = \
  compiler/diag.c compiler/diag.h \
  compiler/ast.c compiler/ast.h \
  compiler/parse.h compiler/parser.y compiler/lexer.l \
  compiler/sema.c compiler/sema.h compiler/sema_impl.h \
  compiler/sema_rule.c compiler/sema_config.c
compiler_libplastcc_a_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
# flex's and bison's output is not ours to warn about
compiler_libplastcc_a_CPPFLAGS = $(AM_CPPFLAGS)
BUILT_SOURCES += compiler/parser.h

bin_PROGRAMS += plastcc
plastcc_SOURCES = compiler/driver.c compiler/driver.h
plastcc_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
plastcc_LDADD = compiler/libplastcc.a runtime/libplast.la $(LLVM_LIBS) -lz -lm
plastcc_LDFLAGS = $(OPENMP_CFLAGS)
