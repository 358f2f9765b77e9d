/* outdir — a run's output folder: one run at a time, and files that are
 * either the old version or the new one, whatever happens.
 *
 * The lock is flock(2) on DIR/.plastcc.lock, which holds a line naming the
 * holder (pid, start time, command); the kernel releases it when the holder
 * exits, kill -9 included, so a stale lock file never blocks a later run.
 * A file is written to PATH.tmp, every write, flush and close checked, and
 * renamed over PATH: a reader, or a run resumed after a kill, sees the old
 * file or the new one, never a part.  Internal to plastcc and libplast. */
#ifndef PLAST_OUTDIR_H
#define PLAST_OUTDIR_H

#include <stddef.h>
#include <stdio.h>

/* Creates DIR (and its parents) when missing and locks it for this process;
 * HOLDER says who holds it, for the message another run gets.  Returns the
 * lock's file descriptor (close-on-exec: a compiler the run starts does not
 * inherit it), or -1 with ERR (naming the holder when another run has DIR). */
int plast_outdir_lock(const char *dir, const char *holder, char *err, size_t errlen);
void plast_outdir_unlock(int fd);

typedef struct plast_file {
    FILE *f;                 /* write here between plast_file_create and _commit */
    char path[4096];
    char tmp[4104];          /* path + ".tmp" */
} plast_file;

/* Opens PATH.tmp for writing; NULL with ERR ("cannot write PATH: why"). */
FILE *plast_file_create(plast_file *a, const char *path, char *err, size_t errlen);
/* Checks that every write reached the file, closes it and renames it to PATH;
 * -1 with ERR naming PATH (a full disk: "No space left on device"), PATH
 * untouched and the temporary removed.  Closes A either way. */
int plast_file_commit(plast_file *a, char *err, size_t errlen);
/* Drops the temporary (an error before the file was complete). */
void plast_file_discard(plast_file *a);

/* Appends LEN bytes to the file FD (opened O_APPEND) with one write, or
 * nothing: a short write (a full disk) is cut off again, so the file keeps
 * whole lines.  -1 with errno set. */
int plast_append_all(int fd, const char *buf, size_t len);

#endif
