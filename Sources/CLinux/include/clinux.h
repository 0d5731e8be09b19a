// Linux calls that Swift's Glibc module does not export: they are declared only under _GNU_SOURCE, or have
// no wrapper that acts on one thread alone.
#ifndef PCLUSTER_CLINUX_H
#define PCLUSTER_CLINUX_H

#include <sys/types.h>
#include <sys/xattr.h>

/// fallocate(2); returns 0 or -1 with errno set.
int clinux_fallocate(int fd, int mode, off_t offset, off_t length);

/// renameat2(2) with RENAME_NOREPLACE or RENAME_EXCHANGE; returns 0 or -1 with errno set.
int clinux_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags);

/// Sets the calling thread's file-system user and group and its supplementary groups, and nothing of the
/// other threads' (glibc's setgroups changes every thread of the process). Returns 0 or -1 with errno set.
int clinux_thread_identity(uid_t fsuid, gid_t fsgid, size_t group_count, const gid_t *groups);

#endif
