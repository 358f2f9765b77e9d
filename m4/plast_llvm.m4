# PLAST_LLVM
# ----------
# Find LLVM through llvm-config (or --with-llvm-config=PATH), accept major
# versions 14 through 19, and check that the pieces plastcc uses link: the ORC
# LLJIT C API and the new pass manager's LLVMRunPasses.
# Sets and substitutes LLVM_CONFIG, LLVM_VERSION, LLVM_CFLAGS, LLVM_LIBS, and
# PLASTCC_LLVM_LIBS (plastcc's: LLVM's static libraries where they link).
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
  dnl perfjitevents, where LLVM has it, names the JIT's functions to perf
  dnl (PLASTCC_PERF, compiler/jit.c); elsewhere the listener is NULL.
  plast_llvm_components="core orcjit native passes"
  AS_CASE([" `$LLVM_CONFIG --components` "], [*" perfjitevents "*],
          [plast_llvm_components="$plast_llvm_components perfjitevents"])
  LLVM_LIBS="$plast_gomp_dir `$LLVM_CONFIG --ldflags` `$LLVM_CONFIG --libs $plast_llvm_components` `$LLVM_CONFIG --system-libs`"
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
  dnl plastcc itself links LLVM's static libraries where they are installed
  dnl (llvm-dev has them): only the parts it calls, and their static
  dnl constructors, end up in it.  Loading the shared libLLVM runs all of
  dnl its constructors, which fault in about 34 MB of its code (and relocate
  dnl 7.4 MB): 52 MB of RSS for `plastcc --version`, 28 MB linked statically,
  dnl and the floor under every episode's peak.  gold links the 52 MB binary
  dnl in 3 s where ld.bfd takes 70.  The tests and benchmarks that link the
  dnl compiler library keep the shared library (LLVM_LIBS).
  AC_ARG_ENABLE([static-llvm],
    [AS_HELP_STRING([--disable-static-llvm], [link plastcc with the shared libLLVM even where LLVM's static libraries are installed])],
    [], [enable_static_llvm=auto])
  PLASTCC_LLVM_LIBS=$LLVM_LIBS
  PLAST_LLVM_LINK="as a shared library"
  AS_IF([test "x$enable_static_llvm" != xno], [
    AC_MSG_CHECKING([whether plastcc links LLVM's static libraries with gold])
    plast_static=`$LLVM_CONFIG --link-static --libs $plast_llvm_components 2>/dev/null` &&
      plast_static_sys=`$LLVM_CONFIG --link-static --system-libs 2>/dev/null` || plast_static=
    plast_static_libs="-fuse-ld=gold $plast_gomp_dir `$LLVM_CONFIG --ldflags` $plast_static $plast_static_sys -lstdc++"
    AS_IF([test -n "$plast_static"], [
      CFLAGS="$CFLAGS $LLVM_CFLAGS"; LIBS="$plast_static_libs $LIBS"
      AC_LINK_IFELSE([AC_LANG_PROGRAM([[
#include <llvm-c/LLJIT.h>
#include <llvm-c/Transforms/PassBuilder.h>
]], [[
    LLVMOrcLLJITRef j = 0;
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&j, 0);
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    (void)LLVMRunPasses(0, "default<O3>", 0, o);
    return e != 0;
]])], [PLASTCC_LLVM_LIBS=$plast_static_libs])
      CFLAGS=$plast_save_CFLAGS; LIBS=$plast_save_LIBS
    ])
    AS_IF([test "x$PLASTCC_LLVM_LIBS" = "x$plast_static_libs"], [AC_MSG_RESULT([yes]); PLAST_LLVM_LINK=statically], [
      AC_MSG_RESULT([no])
      AS_IF([test "x$enable_static_llvm" = xyes], [AC_MSG_ERROR([LLVM's static libraries or gold are missing])])
    ])
  ])
  AC_DEFINE_UNQUOTED([PLAST_LLVM_VERSION], ["$LLVM_VERSION"], [LLVM version plastcc was built against])
  AC_SUBST([LLVM_CONFIG]) AC_SUBST([LLVM_VERSION]) AC_SUBST([LLVM_CFLAGS]) AC_SUBST([LLVM_LIBS]) AC_SUBST([PLASTCC_LLVM_LIBS])
])
