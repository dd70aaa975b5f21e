/*
 * powercut interposer: an LD_PRELOAD library that logs every change a process makes to files
 * under one directory, so that tools.powercut can rebuild the disk image a power cut would
 * have left (everything made durable by fsync, plus a random part of what was not).
 *
 * Environment:
 *   POWERCUT_DIR        absolute, symlink-free directory to watch (files and sub-directories)
 *   POWERCUT_LOG        file the records are appended to (never fsynced: the harness kills
 *                       the process, not the power)
 *   POWERCUT_REAL_SYNC  "1" to also run the real fsync/fdatasync; default: skip them, since
 *                       the harness models durability itself and real syncs only cost time
 *   POWERCUT_ENOSPC_FLAG  a path: while that file exists, a write that would make a watched
 *                       file longer fails with ENOSPC, as on a full disk (writes inside the
 *                       file's current size still succeed, like blocks already allocated)
 *
 * Each record is one write() to the O_APPEND log, so records of several processes and threads
 * never interleave. A global mutex is held across the real call and its record, so the order
 * of records is the order in which the calls took effect.
 *
 * Record: u8 op, u8 pad[3], i32 pid, i32 fd, i32 flags, i64 off, i64 len, u32 plen, u32 p2len,
 *         then plen bytes path, p2len bytes second path (rename), len bytes data (writes).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_OPEN = 1, OP_WRITE = 2, OP_TRUNC = 3, OP_SYNC = 4, OP_CLOSE = 5, OP_UNLINK = 6,
       OP_RENAME = 7, OP_MKDIR = 8, OP_RMDIR = 9, OP_LINK = 10 };

#define MAX_FD 65536

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static char watch_dir[PATH_MAX];
static size_t watch_len;
static int log_fd = -1;
static int real_sync;
static char enospc_flag[PATH_MAX];
static char *fd_path[MAX_FD];

static int (*r_open)(const char *, int, ...);
static int (*r_open64)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_close)(int);
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_pwrite64)(int, const void *, size_t, off_t);
static int (*r_ftruncate)(int, off_t);
static int (*r_ftruncate64)(int, off_t);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static int (*r_unlink)(const char *);
static int (*r_unlinkat)(int, const char *, int);
static int (*r_rename)(const char *, const char *);
static int (*r_renameat)(int, const char *, int, const char *);
static int (*r_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*r_mkdir)(const char *, mode_t);
static int (*r_rmdir)(const char *);
static int (*r_link)(const char *, const char *);
static int (*r_linkat)(int, const char *, int, const char *, int);

#define RESOLVE(name) do { if (!r_##name) r_##name = dlsym(RTLD_NEXT, #name); } while (0)

static void resolve_all(void) {
    RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64); RESOLVE(close);
    RESOLVE(write); RESOLVE(writev); RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(ftruncate);
    RESOLVE(ftruncate64); RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(unlink); RESOLVE(unlinkat);
    RESOLVE(rename); RESOLVE(renameat); RESOLVE(renameat2); RESOLVE(mkdir); RESOLVE(rmdir);
    RESOLVE(link); RESOLVE(linkat);
}

__attribute__((constructor)) static void powercut_init(void) {
    resolve_all();
    const char *dir = getenv("POWERCUT_DIR");
    const char *log = getenv("POWERCUT_LOG");
    const char *sync = getenv("POWERCUT_REAL_SYNC");
    real_sync = sync != NULL && strcmp(sync, "1") == 0;
    const char *flag = getenv("POWERCUT_ENOSPC_FLAG");
    if (flag != NULL && strlen(flag) < sizeof enospc_flag) strcpy(enospc_flag, flag);
    if (dir == NULL || log == NULL || strlen(dir) >= sizeof watch_dir) return;
    strcpy(watch_dir, dir);
    watch_len = strlen(watch_dir);
    while (watch_len > 1 && watch_dir[watch_len - 1] == '/') watch_dir[--watch_len] = '\0';
    log_fd = r_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Absolute form of path (relative to dirfd or the cwd); 0 when it is not under the watch dir. */
static int watched(int dirfd, const char *path, char *out) {
    if (log_fd < 0 || path == NULL) return 0;
    if (path[0] == '/') {
        if (strlen(path) >= PATH_MAX) return 0;
        strcpy(out, path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (getcwd(base, sizeof base) == NULL) return 0;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t n = readlink(link, base, sizeof base - 1);
            if (n < 0) return 0;
            base[n] = '\0';
        }
        if (snprintf(out, PATH_MAX, "%s/%s", base, path) >= PATH_MAX) return 0;
    }
    if (strncmp(out, watch_dir, watch_len) != 0) return 0;
    return out[watch_len] == '\0' || out[watch_len] == '/';
}

static void emit(int op, int fd, int flags, int64_t off, int64_t len, const char *p,
                 const char *p2, const void *data) {
    uint32_t plen = p ? (uint32_t)strlen(p) : 0, p2len = p2 ? (uint32_t)strlen(p2) : 0;
    uint64_t dlen = data ? (uint64_t)len : 0;
    size_t total = 40 + plen + p2len + dlen;
    unsigned char stackbuf[8192];
    unsigned char *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (buf == NULL) abort(); /* a lost record would make the proof unsound */
    int32_t pid = (int32_t)getpid();
    memset(buf, 0, 40);
    buf[0] = (unsigned char)op;
    memcpy(buf + 4, &pid, 4);
    memcpy(buf + 8, &fd, 4);
    memcpy(buf + 12, &flags, 4);
    memcpy(buf + 16, &off, 8);
    memcpy(buf + 24, &len, 8);
    memcpy(buf + 32, &plen, 4);
    memcpy(buf + 36, &p2len, 4);
    if (plen) memcpy(buf + 40, p, plen);
    if (p2len) memcpy(buf + 40 + plen, p2, p2len);
    if (dlen) memcpy(buf + 40 + plen + p2len, data, dlen);
    size_t done = 0;
    while (done < total) {
        ssize_t n = r_write(log_fd, buf + done, total - done);
        if (n <= 0) abort();
        done += (size_t)n;
    }
    if (buf != stackbuf) free(buf);
}

static const char *tracked(int fd) {
    return (fd >= 0 && fd < MAX_FD) ? fd_path[fd] : NULL;
}

static int after_open(int fd, int flags, const char *abs, int existed) {
    if (fd >= 0 && fd < MAX_FD) {
        free(fd_path[fd]);
        fd_path[fd] = strdup(abs);
        /* flags bit 30 tells the replay that this open created the file */
        emit(OP_OPEN, fd, (flags & ~(1 << 30)) | (existed ? 0 : (1 << 30)), 0, 0, abs, NULL,
             NULL);
    }
    return fd;
}

static int do_open(int dirfd, const char *path, int flags, mode_t mode, int variant) {
    char abs[PATH_MAX];
    resolve_all();
    if (!watched(dirfd, path, abs)) {
        switch (variant) {
        case 0: return r_open(path, flags, mode);
        case 1: return r_open64(path, flags, mode);
        case 2: return r_openat(dirfd, path, flags, mode);
        default: return r_openat64(dirfd, path, flags, mode);
        }
    }
    pthread_mutex_lock(&lock);
    struct stat st;
    int existed = stat(abs, &st) == 0;
    int fd;
    switch (variant) {
    case 0: fd = r_open(path, flags, mode); break;
    case 1: fd = r_open64(path, flags, mode); break;
    case 2: fd = r_openat(dirfd, path, flags, mode); break;
    default: fd = r_openat64(dirfd, path, flags, mode); break;
    }
    int saved = errno;
    if (fd >= 0) after_open(fd, flags, abs, existed);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return fd;
}

#define MODE_ARG(flags) \
    mode_t mode = 0; \
    if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); \
        mode = (mode_t)va_arg(ap, int); va_end(ap); }

int open(const char *path, int flags, ...) { MODE_ARG(flags); return do_open(AT_FDCWD, path, flags, mode, 0); }
int open64(const char *path, int flags, ...) { MODE_ARG(flags); return do_open(AT_FDCWD, path, flags, mode, 1); }
int openat(int d, const char *path, int flags, ...) { MODE_ARG(flags); return do_open(d, path, flags, mode, 2); }
int openat64(int d, const char *path, int flags, ...) { MODE_ARG(flags); return do_open(d, path, flags, mode, 3); }
int creat(const char *path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, 0); }
int creat64(const char *path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, 1); }

int close(int fd) {
    resolve_all();
    if (!tracked(fd)) return r_close(fd);
    pthread_mutex_lock(&lock);
    int rc = r_close(fd);
    int saved = errno;
    if (tracked(fd)) {
        emit(OP_CLOSE, fd, 0, 0, 0, fd_path[fd], NULL, NULL);
        free(fd_path[fd]);
        fd_path[fd] = NULL;
    }
    pthread_mutex_unlock(&lock);
    errno = saved;
    return rc;
}

/* 1 when the disk is "full" and this write would grow the file. */
static int disk_full(int fd, size_t n, off_t off, int positional) {
    if (enospc_flag[0] == '\0' || access(enospc_flag, F_OK) != 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    off_t at = positional ? off : lseek(fd, 0, SEEK_CUR);
    if (!positional && (fcntl(fd, F_GETFL) & O_APPEND)) at = st.st_size;
    return at + (off_t)n > st.st_size;
}

static ssize_t logged_write(int fd, const void *buf, size_t n, off_t off, int positional,
                            int large) {
    pthread_mutex_lock(&lock);
    if (disk_full(fd, n, off, positional)) {
        pthread_mutex_unlock(&lock);
        errno = ENOSPC;
        return -1;
    }
    ssize_t rc;
    if (positional) rc = large ? r_pwrite64(fd, buf, n, off) : r_pwrite(fd, buf, n, off);
    else rc = r_write(fd, buf, n);
    int saved = errno;
    if (rc > 0 && tracked(fd)) {
        off_t at = positional ? off : lseek(fd, 0, SEEK_CUR) - rc;
        emit(OP_WRITE, fd, 0, (int64_t)at, (int64_t)rc, fd_path[fd], NULL, buf);
    }
    pthread_mutex_unlock(&lock);
    errno = saved;
    return rc;
}

ssize_t write(int fd, const void *buf, size_t n) {
    resolve_all();
    if (!tracked(fd)) return r_write(fd, buf, n);
    return logged_write(fd, buf, n, 0, 0, 0);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    resolve_all();
    if (!tracked(fd)) return r_pwrite(fd, buf, n, off);
    return logged_write(fd, buf, n, off, 1, 0);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
    resolve_all();
    if (!tracked(fd)) return r_pwrite64(fd, buf, n, off);
    return logged_write(fd, buf, n, off, 1, 1);
}
ssize_t writev(int fd, const struct iovec *iov, int cnt) {
    resolve_all();
    if (!tracked(fd)) return r_writev(fd, iov, cnt);
    /* gather into one buffer so the record is one contiguous write */
    size_t total = 0;
    for (int i = 0; i < cnt; i++) total += iov[i].iov_len;
    char *tmp = malloc(total ? total : 1);
    if (tmp == NULL) abort();
    size_t at = 0;
    for (int i = 0; i < cnt; i++) { memcpy(tmp + at, iov[i].iov_base, iov[i].iov_len); at += iov[i].iov_len; }
    ssize_t rc = logged_write(fd, tmp, total, 0, 0, 0);
    free(tmp);
    return rc;
}

static int logged_trunc(int fd, off_t len, int large) {
    pthread_mutex_lock(&lock);
    struct stat st;
    if (enospc_flag[0] != '\0' && access(enospc_flag, F_OK) == 0 && fstat(fd, &st) == 0
        && len > st.st_size) {
        pthread_mutex_unlock(&lock);
        errno = ENOSPC;
        return -1;
    }
    int rc = large ? r_ftruncate64(fd, len) : r_ftruncate(fd, len);
    int saved = errno;
    if (rc == 0 && tracked(fd)) emit(OP_TRUNC, fd, 0, 0, (int64_t)len, fd_path[fd], NULL, NULL);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return rc;
}
int ftruncate(int fd, off_t len) { resolve_all(); if (!tracked(fd)) return r_ftruncate(fd, len); return logged_trunc(fd, len, 0); }
int ftruncate64(int fd, off_t len) { resolve_all(); if (!tracked(fd)) return r_ftruncate64(fd, len); return logged_trunc(fd, len, 1); }

static int logged_sync(int fd, int data_only) {
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (real_sync) rc = data_only ? r_fdatasync(fd) : r_fsync(fd);
    int saved = errno;
    /* flags: 1 = fdatasync (the replay treats both alike: SQLite relies on fdatasync) */
    if (rc == 0 && tracked(fd)) emit(OP_SYNC, fd, data_only, 0, 0, fd_path[fd], NULL, NULL);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return rc;
}
int fsync(int fd) { resolve_all(); if (!tracked(fd)) return r_fsync(fd); return logged_sync(fd, 0); }
int fdatasync(int fd) { resolve_all(); if (!tracked(fd)) return r_fdatasync(fd); return logged_sync(fd, 1); }

static int path_op(int op, int rc, const char *abs, const char *abs2) {
    int saved = errno;
    if (rc == 0) emit(op, -1, 0, 0, 0, abs, abs2, NULL);
    errno = saved;
    return rc;
}

int unlink(const char *path) {
    char abs[PATH_MAX];
    resolve_all();
    if (!watched(AT_FDCWD, path, abs)) return r_unlink(path);
    pthread_mutex_lock(&lock);
    int rc = path_op(OP_UNLINK, r_unlink(path), abs, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}
int unlinkat(int d, const char *path, int flags) {
    char abs[PATH_MAX];
    resolve_all();
    if (!watched(d, path, abs)) return r_unlinkat(d, path, flags);
    pthread_mutex_lock(&lock);
    int rc = path_op((flags & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, r_unlinkat(d, path, flags), abs, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}
int rmdir(const char *path) {
    char abs[PATH_MAX];
    resolve_all();
    if (!watched(AT_FDCWD, path, abs)) return r_rmdir(path);
    pthread_mutex_lock(&lock);
    int rc = path_op(OP_RMDIR, r_rmdir(path), abs, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}
int mkdir(const char *path, mode_t mode) {
    char abs[PATH_MAX];
    resolve_all();
    if (!watched(AT_FDCWD, path, abs)) return r_mkdir(path, mode);
    pthread_mutex_lock(&lock);
    int rc = path_op(OP_MKDIR, r_mkdir(path, mode), abs, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int renamed(int d1, const char *a, int d2, const char *b, int rc_if_unwatched_call,
                   int (*call)(void *), void *ctx) {
    (void)rc_if_unwatched_call;
    char abs1[PATH_MAX], abs2[PATH_MAX];
    int w1 = watched(d1, a, abs1), w2 = watched(d2, b, abs2);
    if (!w1 && !w2) return call(ctx);
    pthread_mutex_lock(&lock);
    int rc = call(ctx);
    /* a move into or out of the watched tree is a create or an unlink from its point of view */
    if (w1 && w2) rc = path_op(OP_RENAME, rc, abs1, abs2);
    else if (w1) rc = path_op(OP_UNLINK, rc, abs1, NULL);
    else rc = path_op(OP_OPEN, rc, abs2, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}

struct rn_ctx { int d1; const char *a; int d2; const char *b; unsigned int fl; int kind; };
static int rn_call(void *p) {
    struct rn_ctx *c = p;
    if (c->kind == 0) return r_rename(c->a, c->b);
    if (c->kind == 1) return r_renameat(c->d1, c->a, c->d2, c->b);
    return r_renameat2(c->d1, c->a, c->d2, c->b, c->fl);
}
int rename(const char *a, const char *b) {
    resolve_all();
    struct rn_ctx c = { AT_FDCWD, a, AT_FDCWD, b, 0, 0 };
    return renamed(AT_FDCWD, a, AT_FDCWD, b, 0, rn_call, &c);
}
int renameat(int d1, const char *a, int d2, const char *b) {
    resolve_all();
    struct rn_ctx c = { d1, a, d2, b, 0, 1 };
    return renamed(d1, a, d2, b, 0, rn_call, &c);
}
int renameat2(int d1, const char *a, int d2, const char *b, unsigned int fl) {
    resolve_all();
    struct rn_ctx c = { d1, a, d2, b, fl, 2 };
    return renamed(d1, a, d2, b, 0, rn_call, &c);
}

/* A hard link adds a name for an existing file (how the watch folder moves without overwriting). */
int link(const char *a, const char *b) {
    char abs1[PATH_MAX], abs2[PATH_MAX];
    resolve_all();
    int w1 = watched(AT_FDCWD, a, abs1), w2 = watched(AT_FDCWD, b, abs2);
    if (!w2) return r_link(a, b);
    pthread_mutex_lock(&lock);
    int rc = r_link(a, b);
    rc = w1 ? path_op(OP_LINK, rc, abs1, abs2) : path_op(OP_OPEN, rc, abs2, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}
int linkat(int d1, const char *a, int d2, const char *b, int flags) {
    char abs1[PATH_MAX], abs2[PATH_MAX];
    resolve_all();
    int w1 = watched(d1, a, abs1), w2 = watched(d2, b, abs2);
    if (!w2) return r_linkat(d1, a, d2, b, flags);
    pthread_mutex_lock(&lock);
    int rc = r_linkat(d1, a, d2, b, flags);
    rc = w1 ? path_op(OP_LINK, rc, abs1, abs2) : path_op(OP_OPEN, rc, abs2, NULL);
    pthread_mutex_unlock(&lock);
    return rc;
}
