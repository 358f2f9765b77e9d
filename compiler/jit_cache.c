/* jit_cache — the JIT's compiled kernels kept on disk (see jit_cache.h). */
#include "config.h"
#include "jit_cache.h"
#include "llgen.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <llvm-c/BitWriter.h>
#include <llvm/Config/llvm-config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FORMAT = 1 };
static const char MAGIC[8] = "PLASTJO";   /* and its NUL */

typedef struct entry_header {
    char magic[8];
    uint32_t format, pad;
    uint64_t key[2];
    uint64_t length;          /* of the object after the header */
    uint64_t checksum;        /* fnv1a of those bytes */
} entry_header;

/* Two independent 64-bit hashes of the same bytes: FNV-1a, and a
 * multiply-rotate over 8-byte words (murmur's finaliser per word). */
typedef struct hasher { uint64_t a, b, word; int fill; } hasher;

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static void hash_bytes(hasher *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    h->a = fnv1a(h->a, p, n);
    for (size_t i = 0; i < n; i++) {
        h->word |= (uint64_t)p[i] << (8 * h->fill);
        if (++h->fill == 8) {
            h->b = ((h->b ^ mix(h->word)) << 27 | (h->b ^ mix(h->word)) >> 37) * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
            h->word = 0;
            h->fill = 0;
        }
    }
}

/* A string and its terminator, so that "ab" "c" and "a" "bc" differ. */
static void hash_string(hasher *h, const char *s)
{
    hash_bytes(h, s ? s : "", strlen(s ? s : "") + 1);
}

void jit_cache_key_of(LLVMModuleRef m, LLVMTargetMachineRef tm, jit_cache_key *k)
{
    hasher h = { 0xcbf29ce484222325ULL, 0x243f6a8885a308d3ULL, 0, 0 };
    hash_string(&h, "plastcc " PACKAGE_VERSION ", LLVM " LLVM_VERSION_STRING);
    /* the build itself: a plastcc (or LLVM linked into it) rebuilt with the
     * same version numbers may generate other code from the same module */
    struct stat exe;
    if (stat("/proc/self/exe", &exe) == 0) {
        int64_t id[3] = { (int64_t)exe.st_size, (int64_t)exe.st_mtim.tv_sec, (int64_t)exe.st_mtim.tv_nsec };
        hash_bytes(&h, id, sizeof id);
    }
    uint32_t format = FORMAT;
    hash_bytes(&h, &format, sizeof format);
    hash_string(&h, llgen_pipeline());
    char *triple = LLVMGetTargetMachineTriple(tm), *cpu = LLVMGetTargetMachineCPU(tm),
         *features = LLVMGetTargetMachineFeatureString(tm);
    hash_string(&h, triple);
    hash_string(&h, cpu);
    hash_string(&h, features);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(m);
    hash_bytes(&h, LLVMGetBufferStart(bc), LLVMGetBufferSize(bc));
    uint64_t size = LLVMGetBufferSize(bc);
    hash_bytes(&h, &size, sizeof size);
    LLVMDisposeMemoryBuffer(bc);
    k->h[0] = h.a;
    k->h[1] = mix(h.b ^ h.word ^ (uint64_t)h.fill);
}

int jit_cache_dir(char *buf, size_t len)
{
    const char *off = getenv("PLASTCC_CACHE");
    if (off && !strcmp(off, "0")) return -1;
    const char *dir = getenv("PLASTCC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (dir && *dir) n = snprintf(buf, len, "%s", dir);
    else if (xdg && *xdg == '/') n = snprintf(buf, len, "%s/plastcc", xdg);
    else if (home && *home) n = snprintf(buf, len, "%s/.cache/plastcc", home);
    else return -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int entry_path(char *buf, size_t len, const char *dir, const jit_cache_key *k)
{
    int n = snprintf(buf, len, "%s/%016llx%016llx.o", dir, (unsigned long long)k->h[0], (unsigned long long)k->h[1]);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* All of N bytes from FD into P. */
static int read_all(int fd, void *p, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = read(fd, (char *)p + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return 0;
}

LLVMMemoryBufferRef jit_cache_get(const char *dir, const jit_cache_key *k)
{
    char path[4200];
    if (entry_path(path, sizeof path, dir, k) < 0) return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    entry_header hd;
    struct stat st;
    char *obj = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read_all(fd, &hd, sizeof hd) == 0 &&
        !memcmp(hd.magic, MAGIC, sizeof MAGIC) && hd.format == FORMAT && hd.key[0] == k->h[0] &&
        hd.key[1] == k->h[1] && hd.length > 0 && (uint64_t)st.st_size == sizeof hd + hd.length &&
        (obj = malloc(hd.length)) && read_all(fd, obj, hd.length) == 0 &&
        fnv1a(0xcbf29ce484222325ULL, (const unsigned char *)obj, hd.length) == hd.checksum)
        buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, hd.length, path);
    free(obj);
    close(fd);
    return buf;
}

void jit_cache_put(const char *dir, const jit_cache_key *k, LLVMMemoryBufferRef obj)
{
    char path[4200], tmp[4300];
    if (entry_path(path, sizeof path, dir, k) < 0) return;
    if (plast_mkdirs(dir) != 0) return;   /* and its parents: ~/.cache may not exist yet */
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return;
    const unsigned char *bytes = (const unsigned char *)LLVMGetBufferStart(obj);
    size_t n = LLVMGetBufferSize(obj);
    entry_header hd;
    memset(&hd, 0, sizeof hd);
    memcpy(hd.magic, MAGIC, sizeof MAGIC);
    hd.format = FORMAT;
    hd.key[0] = k->h[0];
    hd.key[1] = k->h[1];
    hd.length = n;
    hd.checksum = fnv1a(0xcbf29ce484222325ULL, bytes, n);
    int ok = write_all(fd, &hd, sizeof hd) == 0 && write_all(fd, bytes, n) == 0;
    ok &= close(fd) == 0;
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
}
