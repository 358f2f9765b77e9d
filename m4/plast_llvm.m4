# PLAST_LLVM
# ----------
# Find LLVM through llvm-config (or --with-llvm-config=PATH), accept major
# versions 14 through 19, and check that the pieces plastcc uses link: the ORC
# LLJIT C API and the new pass manager's LLVMRunPasses.
# Sets and substitutes LLVM_CONFIG, LLVM_VERSION, LLVM_CFLAGS, LLVM_LIBS.
#
# Tested with LLVM 14.0.6 (Debian bookworm's llvm-dev, what a plain
# `configure` finds as /usr/bin/llvm-config) and 19.1.7 (llvm-19-dev); 15 to
# 18 are accepted because llgen.c and jit.c use only C APIs present in both
# ends of the range, with no #if on the version.  To build against another
# LLVM, configure a build folder of its own with its llvm-config:
#   mkdir build-llvm19 && cd build-llvm19
#   ../configure --with-llvm-config=/usr/lib/llvm-19/bin/llvm-config
AC_DEFUN([PLAST_LLVM], [
  AC_ARG_WITH([llvm-config],
    [AS_HELP_STRING([--with-llvm-config=PATH], [llvm-config of the LLVM to build against (14 to 19)])],
    [LLVM_CONFIG=$withval], [LLVM_CONFIG=])
  AS_IF([test -z "$LLVM_CONFIG"], [
    AC_PATH_PROGS([LLVM_CONFIG],
      [llvm-config llvm-config-19 llvm-config-18 llvm-config-17 llvm-config-16 llvm-config-15 llvm-config-14], [],
      [$PATH:/usr/lib/llvm-19/bin:/usr/lib/llvm-18/bin:/usr/lib/llvm-17/bin:/usr/lib/llvm-16/bin:/usr/lib/llvm-15/bin:/usr/lib/llvm-14/bin])
  ])
  AS_IF([test -z "$LLVM_CONFIG" || ! test -x "$LLVM_CONFIG"],
        [AC_MSG_ERROR([llvm-config not found: install llvm-dev or pass --with-llvm-config=PATH])])
  LLVM_VERSION=`$LLVM_CONFIG --version`
  plast_llvm_major=`echo "$LLVM_VERSION" | sed 's/\..*//'`
  AC_MSG_CHECKING([whether LLVM $LLVM_VERSION is between 14 and 19])
  AS_IF([test "$plast_llvm_major" -ge 14 2>/dev/null && test "$plast_llvm_major" -le 19],
        [AC_MSG_RESULT([yes])],
        [AC_MSG_RESULT([no]); AC_MSG_ERROR([LLVM $LLVM_VERSION is not supported; use 14 to 19])])
  dnl Keep only -I and -D from llvm-config's flags: its -O/-std/-W choices are LLVM's, not ours.
  LLVM_CFLAGS=`$LLVM_CONFIG --cflags | tr ' ' '\n' | grep -E '^-(I|D)' | tr '\n' ' '`
  dnl LLVM's libdir may hold libgomp.so -> libomp.so: with -L to it first, the
  dnl -lgomp of -fopenmp would link LLVM's OpenMP runtime instead of the C
  dnl compiler's (and a process would end up with both).  Search the folder of
  dnl the compiler's own libgomp first.
  plast_gomp=`$CC -print-file-name=libgomp.so 2>/dev/null`
  plast_gomp_dir=
  AS_CASE([$plast_gomp], [/*], [plast_gomp_dir="-L`dirname "$plast_gomp"`"])
  LLVM_LIBS="$plast_gomp_dir `$LLVM_CONFIG --ldflags` `$LLVM_CONFIG --libs core orcjit native passes` `$LLVM_CONFIG --system-libs`"
  plast_save_CFLAGS=$CFLAGS; plast_save_LIBS=$LIBS
  CFLAGS="$CFLAGS $LLVM_CFLAGS"; LIBS="$LLVM_LIBS $LIBS"
  AC_MSG_CHECKING([whether the ORC LLJIT and LLVMRunPasses C APIs link])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[
#include <llvm-c/LLJIT.h>
#include <llvm-c/Transforms/PassBuilder.h>
]], [[
    LLVMOrcLLJITRef j = 0;
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&j, 0);
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    (void)LLVMRunPasses(0, "default<O3>", 0, o);
    return e != 0;
]])], [AC_MSG_RESULT([yes])],
      [AC_MSG_RESULT([no]); AC_MSG_ERROR([LLVM at $LLVM_CONFIG lacks the ORC LLJIT or LLVMRunPasses C API])])
  CFLAGS=$plast_save_CFLAGS; LIBS=$plast_save_LIBS
  AC_DEFINE_UNQUOTED([PLAST_LLVM_VERSION], ["$LLVM_VERSION"], [LLVM version plastcc was built against])
  AC_SUBST([LLVM_CONFIG]) AC_SUBST([LLVM_VERSION]) AC_SUBST([LLVM_CFLAGS]) AC_SUBST([LLVM_LIBS])
])
