/* outdir — the lock of an output folder and files written whole (outdir.h). */
#include "config.h"
#include "outdir.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the lock ---- */

/* The holder line of a lock file another run keeps: "pid N since T: WHAT".
 * A holder names itself just after it takes the lock: an empty file is
 * read again for a moment. */
static void read_holder(int fd, char *buf, size_t len)
{
    for (int tries = 0; tries < 50; tries++) {
        ssize_t got = pread(fd, buf, len - 1, 0);
        buf[got > 0 ? got : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (buf[0]) return;
        usleep(10000);
    }
    snprintf(buf, len, "a run that has not named itself");
}

static void write_holder(int fd, const char *holder)
{
    char line[1024], when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    int n = snprintf(line, sizeof line, "pid %ld since %s: %s\n", (long)getpid(), when, holder);
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    /* written over the last holder's line, then cut to length: never empty */
    if (pwrite(fd, line, len, 0) == (ssize_t)len && ftruncate(fd, (off_t)len) == 0) return;
    /* else: the name is a courtesy to the next run; the lock holds without it */
}

int plast_outdir_lock(const char *dir, const char *holder, char *err, size_t errlen)
{
    if (plast_mkdirs(dir) != 0) return plast_fail(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/.plastcc.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return plast_fail(err, errlen, "cannot lock %s: %s: %s", dir, path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[1024];
        read_holder(fd, who, sizeof who);
        close(fd);
        if (e == EWOULDBLOCK)
            return plast_fail(err, errlen, "%s is in use by another run (%s); wait for it to end, or choose "
                              "another folder", dir, who);
        return plast_fail(err, errlen, "cannot lock %s: %s", dir, strerror(e));
    }
    write_holder(fd, holder);
    return fd;
}

void plast_outdir_unlock(int fd)
{
    if (fd >= 0) close(fd);
}

/* ---- files written whole ---- */

FILE *plast_file_create(plast_file *a, const char *path, char *err, size_t errlen)
{
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp", a->path);
    a->f = fopen(a->tmp, "w");
    if (!a->f) plast_fail(err, errlen, "cannot write %s: %s", a->path, strerror(errno));
    errno = 0;   /* so that commit can tell a write error's cause */
    return a->f;
}

int plast_file_commit(plast_file *a, char *err, size_t errlen)
{
    int failed = ferror(a->f), e = errno;
    if (fflush(a->f) != 0 && !failed) failed = 1, e = errno;
    if (fclose(a->f) != 0 && !failed) failed = 1, e = errno;
    a->f = NULL;
    if (!failed && rename(a->tmp, a->path) == 0) return 0;
    if (!failed) e = errno;
    remove(a->tmp);
    return plast_fail(err, errlen, "cannot write %s: %s", a->path, e ? strerror(e) : "write error");
}

void plast_file_discard(plast_file *a)
{
    if (a->f) fclose(a->f);
    a->f = NULL;
    remove(a->tmp);
}

int plast_append_all(int fd, const char *buf, size_t len)
{
    off_t before = lseek(fd, 0, SEEK_END);
    ssize_t got = write(fd, buf, len);
    if (got == (ssize_t)len) return 0;
    int e = got < 0 ? errno : ENOSPC;   /* a short write to a regular file: the disk is full */
    int cut = before >= 0 ? ftruncate(fd, before) : -1;
    (void)cut;   /* if even that fails, a resume drops the partial line (train_log.c) */
    errno = e;
    return -1;
}
