#include "fuse_shim.h"
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>

struct fuse_session *lfs_fuse_session_new(const char *options, const struct fuse_lowlevel_ops *ops, void *userdata) {
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    if (fuse_opt_add_arg(&args, "lustrefs") != 0) return NULL;
    if (options != NULL && options[0] != '\0') {
        if (fuse_opt_add_arg(&args, "-o") != 0 || fuse_opt_add_arg(&args, options) != 0) {
            fuse_opt_free_args(&args);
            return NULL;
        }
    }
    struct fuse_session *session = fuse_session_new(&args, ops, sizeof(*ops), userdata);
    fuse_opt_free_args(&args);
    return session;
}

int lfs_fuse_session_loop(struct fuse_session *session, unsigned max_idle_threads) {
    struct fuse_loop_config config;
    memset(&config, 0, sizeof(config));
    config.clone_fd = 0;
    config.max_idle_threads = max_idle_threads;
    return fuse_session_loop_mt(session, &config);
}

void lfs_fuse_file_info_set(struct fuse_file_info *fi, int keep_cache, int direct_io, int nonseekable) {
    fi->keep_cache = keep_cache ? 1 : 0;
    fi->cache_readdir = 0;
    fi->direct_io = direct_io ? 1 : 0;
    fi->nonseekable = nonseekable ? 1 : 0;
}

void lfs_fuse_file_info_cache_directory(struct fuse_file_info *fi, int keep_cache) {
    fi->keep_cache = keep_cache ? 1 : 0;
    fi->cache_readdir = 1;
}

int lfs_fuse_file_info_flags(const struct fuse_file_info *fi) {
    return fi->flags;
}

unsigned lfs_rename_noreplace(void) { return RENAME_NOREPLACE; }
unsigned lfs_rename_exchange(void) { return RENAME_EXCHANGE; }
