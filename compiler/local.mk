# The compiler: a convenience library (shared by plastcc, the tests and the
# fuzz target) and the plastcc binary.
noinst_LIBRARIES += compiler/libplastcc.a
compiler_libplastcc_a_SOURCES = \
  compiler/diag.c compiler/diag.h \
  compiler/ast.c compiler/ast.h \
  compiler/parse.h compiler/parser.y compiler/lexer.l \
  compiler/sema.c compiler/sema.h compiler/sema_impl.h \
  compiler/sema_rule.c compiler/sema_config.c compiler/sema_joint.c compiler/sema_unroll.c \
  compiler/space.h compiler/ops.def compiler/ops_end.h compiler/ops.c compiler/ops.h compiler/dag.c compiler/dag.h compiler/factor.c compiler/diff.c compiler/diff.h \
  compiler/kernel.c compiler/kernel.h compiler/surrogate.c compiler/surrogate.h compiler/build.h compiler/build_rule.c compiler/build_model.c \
  compiler/lower.c compiler/lower_fuse.c compiler/lower.h compiler/emit_c.c compiler/emit_c.h \
  compiler/pipeline.c compiler/pipeline.h compiler/backend.h compiler/backend.c compiler/bind.c compiler/bind.h compiler/schedule.c compiler/schedule.h compiler/learned.c compiler/learned.h \
  compiler/fingerprint.c compiler/fingerprint.h compiler/run_joint.c compiler/run_joint.h compiler/lsq.c compiler/lsq.h \
  compiler/llgen.c compiler/llgen.h compiler/llgen_impl.h compiler/llgen_ir.c compiler/llgen_ops.c compiler/llgen_mlp.c \
  compiler/vmath.h \
  compiler/llgen_loop.c compiler/llgen_fuse.c compiler/llgen_kernel.c compiler/jit.c compiler/jit.h compiler/jit_cache.c compiler/jit_cache.h
compiler_libplastcc_a_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS)
# flex's and bison's output is not ours to warn about
compiler_libplastcc_a_CPPFLAGS = $(AM_CPPFLAGS)
BUILT_SOURCES += compiler/parser.h compiler/kernel_abi.h

# The kernel ABI is written once, in runtime/plast.h: the emitted C opens with
# its block from `#ifndef PLAST_KERNEL_ABI` to the `#endif`, copied into a C
# string at build time.
CLEANFILES += compiler/kernel_abi.h compiler/kernel_abi.h.tmp
EXTRA_DIST += compiler/kernel_abi.awk
compiler/kernel_abi.h: $(top_srcdir)/runtime/plast.h $(top_srcdir)/compiler/kernel_abi.awk
	$(AM_V_GEN)$(MKDIR_P) compiler && \
	  $(AWK) -f $(top_srcdir)/compiler/kernel_abi.awk $(top_srcdir)/runtime/plast.h > $@.tmp && mv $@.tmp $@

bin_PROGRAMS += plastcc
plastcc_SOURCES = compiler/driver.c compiler/driver.h compiler/cmd_emit.c compiler/cmd_gradcheck.c compiler/cmd_episode.c compiler/cmd_run.c compiler/cmd_eval.c compiler/eval_compare.c compiler/cmd_analyze.c compiler/cmd_curves.c compiler/comm.c compiler/comm.h \
  compiler/cmd_llvm.c compiler/state_npy.c compiler/state_npy.h \
  compiler/cmd_latents.c compiler/latents.h compiler/latents_measure.c compiler/latents_combine.c
plastcc_CFLAGS = $(AM_CFLAGS) $(LLVM_CFLAGS) $(MPI_CFLAGS)
plastcc_LDADD = compiler/libplastcc.a runtime/libplast.la $(PLASTCC_LLVM_LIBS) $(MPI_LIBS) -lz -lm -ldl
plastcc_LDFLAGS = $(OPENMP_CFLAGS)
