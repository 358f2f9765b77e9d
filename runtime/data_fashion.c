/*
 * data_fashion.c -- where Fashion-MNIST is installed, and loading it.
 *
 * $PLAST_DATA_DIR (or its fashion-mnist/ folder) when set, else Debian's
 * dataset-fashion-mnist in /usr/share/datasets/fashion-mnist.  A file is
 * looked for with access(2), never opened here: a FIFO in its place is found,
 * and refused by the IDX reader with its name, instead of blocking the search.
 */
#include "config.h"
#include "data_impl.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FASHION_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* dir/prefix-{images-idx3,labels-idx1}-ubyte[.gz] -> path (gzipped preferred). */
static int fashion_file(const char *dir, int test_split, const char *what, char *path,
                        size_t len)
{
    const char *prefix = test_split ? "t10k" : "train";
    int n = snprintf(path, len, "%s/%s-%s-ubyte.gz", dir, prefix, what);

    if (n < 0 || (size_t)n >= len)
        return -1;
    if (access(path, R_OK) == 0)
        return 0;
    path[n - 3] = '\0';
    return access(path, R_OK) == 0 ? 0 : -1;
}

/* Are both files of the split in dir? */
static int fashion_dir_has_split(const char *dir, int test_split)
{
    char path[4096];

    return fashion_file(dir, test_split, "images-idx3", path, sizeof path) == 0 &&
           fashion_file(dir, test_split, "labels-idx1", path, sizeof path) == 0;
}

/* Copy dir into buf; NULL (and a message, if buf has room) if it does not fit. */
static const char *fashion_found(char *buf, size_t len, const char *dir)
{
    if (strlen(dir) >= len) {
        snprintf(buf, len, "Fashion-MNIST folder name too long");
        return NULL;
    }
    memcpy(buf, dir, strlen(dir) + 1);
    return buf;
}

const char *plast_find_fashion_mnist(char *buf, size_t len, int test_split)
{
    const char *env = getenv("PLAST_DATA_DIR");
    const char *split = test_split ? "t10k" : "train";
    char sub[4096];

    if (env && *env) {
        if (fashion_dir_has_split(env, test_split))
            return fashion_found(buf, len, env);
        snprintf(sub, sizeof sub, "%s/fashion-mnist", env);
        if (fashion_dir_has_split(sub, test_split))
            return fashion_found(buf, len, sub);
        snprintf(buf, len, "Fashion-MNIST not found: PLAST_DATA_DIR=%s holds no "
                 "%s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz] (nor does its "
                 "fashion-mnist/ folder); unset it to use " FASHION_DEFAULT_DIR
                 " (apt-get install dataset-fashion-mnist)", env, split, split);
        return NULL;
    }
    if (fashion_dir_has_split(FASHION_DEFAULT_DIR, test_split))
        return fashion_found(buf, len, FASHION_DEFAULT_DIR);
    snprintf(buf, len, "Fashion-MNIST not found in " FASHION_DEFAULT_DIR " (no %s-*-ubyte.gz "
             "files): install it with `apt-get install dataset-fashion-mnist`, or set "
             "PLAST_DATA_DIR to a folder holding the IDX files", split);
    return NULL;
}

int plast_load_fashion_mnist(int test_split, plast_dataset *out, char *err, size_t errlen)
{
    char dir[4096], images[4096], labels[4096];
    const char *name = test_split ? "fashion-mnist/t10k" : "fashion-mnist/train";
    char *copy;

    memset(out, 0, sizeof *out);
    if (!plast_find_fashion_mnist(dir, sizeof dir, test_split))
        return plast_fail(err, errlen, "%s", dir);
    if (fashion_file(dir, test_split, "images-idx3", images, sizeof images) ||
        fashion_file(dir, test_split, "labels-idx1", labels, sizeof labels))
        return plast_fail(err, errlen, "%s: Fashion-MNIST files vanished", dir);
    if (plast_load_idx(images, labels, out, err, errlen))
        return -1;
    if ((copy = data_copy_string(name))) {
        free(out->name);
        out->name = copy;
    }
    return 0;
}

