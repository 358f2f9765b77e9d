dnl PLAST_MPI: --with-mpi[=yes|no|auto] (default auto).  Finds an MPI C
dnl library through `mpicc --showme` (Open MPI) or `mpicc -show` (MPICH),
dnl and sets MPI_CFLAGS, MPI_LIBS, HAVE_MPI (config.h) and the automake
dnl conditional HAVE_MPI.  Only the plastcc binary links MPI; libplast
dnl stays free of it (it takes a plast_comm).
AC_DEFUN([PLAST_MPI], [
  AC_ARG_WITH([mpi],
    [AS_HELP_STRING([--with-mpi], [run meta-batches and evaluations over MPI ranks (default: when an MPI is found)])],
    [], [with_mpi=auto])
  MPI_CFLAGS=
  MPI_LIBS=
  MPI_DESC=
  AS_IF([test "x$with_mpi" != "xno"], [
    AC_PATH_PROG([MPICC], [mpicc], [])
    AS_IF([test -n "$MPICC"], [
      MPI_CFLAGS=`$MPICC --showme:compile 2>/dev/null || $MPICC -compile_info 2>/dev/null | sed 's/^[[^ ]]* //'`
      MPI_LIBS=`$MPICC --showme:link 2>/dev/null || $MPICC -link_info 2>/dev/null | sed 's/^[[^ ]]* //'`
      save_CFLAGS=$CFLAGS; save_LIBS=$LIBS
      CFLAGS="$CFLAGS $MPI_CFLAGS"; LIBS="$LIBS $MPI_LIBS"
      AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <mpi.h>]],
                                      [[char v[MPI_MAX_LIBRARY_VERSION_STRING]; int n; MPI_Get_library_version(v, &n);]])],
                     [have_mpi=yes], [have_mpi=no])
      CFLAGS=$save_CFLAGS; LIBS=$save_LIBS
    ], [have_mpi=no])
    AS_IF([test "x$have_mpi" = "xno" && test "x$with_mpi" = "xyes"],
          [AC_MSG_ERROR([--with-mpi: no usable MPI found (apt-get install openmpi-bin libopenmpi-dev)])])
    AS_IF([test "x$have_mpi" = "xyes"], [
      AC_DEFINE([HAVE_MPI], [1], [Define when plastcc is built with MPI.])
      MPI_DESC="$MPICC"
    ], [MPI_CFLAGS=; MPI_LIBS=])
  ], [have_mpi=no])
  AC_SUBST([MPI_CFLAGS])
  AC_SUBST([MPI_LIBS])
  AM_CONDITIONAL([HAVE_MPI], [test "x$have_mpi" = "xyes"])
])
