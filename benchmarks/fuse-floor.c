// The FUSE floor: a file system that keeps only names and modes in memory and answers every request at once,
// mounted the way ours is (libfuse's multi-threaded loop, default_permissions, 60 s attribute and entry
// timeouts). What it does per operation is the kernel's and libfuse's share of any FUSE file system on this
// machine, so mdtest's phases on it are the ceiling for ours. No data: files stay empty.
//
// Written for the benchmarks because no packaged example keeps the same options; build and run:
//   cc -O2 -o fuse-floor fuse-floor.c $(pkg-config --cflags --libs fuse3) && ./fuse-floor MOUNTPOINT
// It serves until unmounted (fusermount3 -u) or sent SIGTERM.
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 60.0
#define BUCKETS (1u << 20)

struct node {
    fuse_ino_t ino, parent;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    int live;
    char *name;
    struct node *next; // in its (parent, name) bucket
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node **buckets;
static struct node **nodes; // by inode number
static size_t capacity, count;

static uint64_t bucket_of(fuse_ino_t parent, const char *name) {
    uint64_t h = 1469598103934665603ull ^ parent;
    for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    return h & (BUCKETS - 1);
}

static struct node *find(fuse_ino_t parent, const char *name) {
    for (struct node *n = buckets[bucket_of(parent, name)]; n; n = n->next)
        if (n->live && n->parent == parent && strcmp(n->name, name) == 0) return n;
    return NULL;
}

static struct node *node_of(fuse_ino_t ino) { return ino < count && nodes[ino] && nodes[ino]->live ? nodes[ino] : NULL; }

static struct node *add(fuse_ino_t parent, const char *name, mode_t mode, uid_t uid, gid_t gid) {
    if (count == capacity) {
        capacity = capacity ? capacity * 2 : 1024;
        nodes = realloc(nodes, capacity * sizeof(*nodes));
    }
    struct node *n = calloc(1, sizeof(*n));
    n->ino = count;
    n->parent = parent;
    n->mode = mode;
    n->uid = uid;
    n->gid = gid;
    n->live = 1;
    n->name = strdup(name);
    nodes[count++] = n;
    if (parent) {
        uint64_t b = bucket_of(parent, name);
        n->next = buckets[b];
        buckets[b] = n;
    }
    return n;
}

static void attributes(const struct node *n, struct stat *st) {
    memset(st, 0, sizeof(*st));
    st->st_ino = n->ino;
    st->st_mode = n->mode;
    st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
    st->st_uid = n->uid;
    st->st_gid = n->gid;
}

// A name's entry as ours replies it: generation 1, attributes and name cached for TIMEOUT seconds.
static struct fuse_entry_param entry_of(const struct node *n) {
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    e.ino = n->ino;
    e.generation = 1;
    e.attr_timeout = TIMEOUT;
    e.entry_timeout = TIMEOUT;
    attributes(n, &e.attr);
    return e;
}

static void reply_entry(fuse_req_t req, const struct node *n) {
    struct fuse_entry_param e = entry_of(n);
    fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
    pthread_mutex_lock(&lock);
    struct node *n = find(parent, name);
    struct node copy;
    if (n) copy = *n;
    pthread_mutex_unlock(&lock);
    if (n) reply_entry(req, &copy);
    else fuse_reply_err(req, ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)fi;
    struct stat st;
    pthread_mutex_lock(&lock);
    struct node *n = node_of(ino);
    if (n) attributes(n, &st);
    pthread_mutex_unlock(&lock);
    if (n) fuse_reply_attr(req, &st, TIMEOUT);
    else fuse_reply_err(req, ENOENT);
}

static void make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
    const struct fuse_ctx *who = fuse_req_ctx(req);
    pthread_mutex_lock(&lock);
    struct node *n = node_of(parent) && !find(parent, name) ? add(parent, name, mode & ~who->umask, who->uid, who->gid) : NULL;
    struct node copy;
    if (n) copy = *n;
    pthread_mutex_unlock(&lock);
    if (!n) {
        fuse_reply_err(req, EEXIST);
        return;
    }
    if (!fi) {
        reply_entry(req, &copy);
        return;
    }
    struct fuse_entry_param e = entry_of(&copy);
    fi->fh = copy.ino;
    fuse_reply_create(req, &e, fi);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
    make(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
    make(req, parent, name, S_IFREG | (mode & 07777), fi);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
    pthread_mutex_lock(&lock);
    struct node *n = find(parent, name);
    if (n) n->live = 0; // the name stays allocated: the floor measures requests, not memory
    pthread_mutex_unlock(&lock);
    fuse_reply_err(req, n ? 0 : ENOENT);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    fi->fh = ino;
    fuse_reply_open(req, fi);
}

static void op_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)ino;
    (void)size;
    (void)off;
    (void)fi;
    fuse_reply_buf(req, NULL, 0);
}

// Listings with attributes, as ours sends them: one pass over every node (the benchmark has one directory).
static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
    (void)fi;
    char *buf = malloc(size);
    size_t used = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = (size_t)off + 1; i < count; i++) {
        struct node *n = nodes[i];
        if (!n || !n->live || n->parent != ino) continue;
        struct fuse_entry_param e = entry_of(n);
        size_t need = fuse_add_direntry_plus(req, buf + used, size - used, n->name, &e, (off_t)i);
        if (need > size - used) break;
        used += need;
    }
    pthread_mutex_unlock(&lock);
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    (void)ino;
    (void)nlookup;
    fuse_reply_none(req);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
        return 2;
    }
    buckets = calloc(BUCKETS, sizeof(*buckets));
    add(0, "", 0, 0, 0); // inode 0: never used
    add(0, "", S_IFDIR | 0755, getuid(), getgid()); // inode 1: the root
    struct fuse_lowlevel_ops ops = {
        .lookup = op_lookup,
        .forget = op_forget,
        .getattr = op_getattr,
        .mkdir = op_mkdir,
        .unlink = op_unlink,
        .open = op_open,
        .read = op_read,
        .flush = op_ok,
        .release = op_ok,
        .opendir = op_open,
        .readdirplus = op_readdirplus,
        .releasedir = op_ok,
        .create = op_create,
    };
    char *args_v[] = {argv[0], "-o", "default_permissions,fsname=fuse-floor", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, args_v);
    struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
    if (!se || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, argv[1]) != 0) {
        fprintf(stderr, "fuse-floor: cannot mount on %s\n", argv[1]);
        return 1;
    }
    struct fuse_loop_config config;
    memset(&config, 0, sizeof(config));
    config.clone_fd = 0;
    config.max_idle_threads = 16;
    int status = fuse_session_loop_mt(se, &config);
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return status ? 1 : 0;
}
