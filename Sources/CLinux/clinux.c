#define _GNU_SOURCE
#include "clinux.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

int clinux_fallocate(int fd, int mode, off_t offset, off_t length) {
    return fallocate(fd, mode, offset, length);
}

int clinux_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

int clinux_thread_identity(uid_t fsuid, gid_t fsgid, size_t group_count, const gid_t *groups) {
    // The raw system call: the kernel's setgroups acts on the calling thread only.
    if (syscall(SYS_setgroups, group_count, groups) != 0) return -1;
    setfsgid(fsgid);
    setfsuid(fsuid);
    return 0;
}
