// The libfuse3 low-level API as Swift sees it, plus the two calls whose names libfuse picks by macro
// (the multi-threaded loop is versioned by FUSE_USE_VERSION), so Swift calls one stable symbol.
#ifndef LUSTREFS_FUSE_SHIM_H
#define LUSTREFS_FUSE_SHIM_H

#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

/// Builds a session from "-o" style options (comma separated, may be NULL).
struct fuse_session *lfs_fuse_session_new(const char *options, const struct fuse_lowlevel_ops *ops, void *userdata);

/// Runs the multi-threaded loop until the session exits (unmount or lfs_fuse_session_exit).
int lfs_fuse_session_loop(struct fuse_session *session, unsigned max_idle_threads);

/// fuse_file_info's bit fields, which Swift cannot set directly.
void lfs_fuse_file_info_set(struct fuse_file_info *fi, int keep_cache, int direct_io, int nonseekable);

/// An opened directory whose listing the kernel may cache (FOPEN_CACHE_DIR) and, with `keep_cache`, keep
/// from earlier opens (FOPEN_KEEP_CACHE): it drops it on its own changes to the directory and on ours.
void lfs_fuse_file_info_cache_directory(struct fuse_file_info *fi, int keep_cache);

/// The flags of an open or create request.
int lfs_fuse_file_info_flags(const struct fuse_file_info *fi);

/// The RENAME_* flag values of this kernel's headers.
unsigned lfs_rename_noreplace(void);
unsigned lfs_rename_exchange(void);

#endif
