import Foundation
import LustreFS
import ServiceLifecycle

/// A mount as a ServiceLifecycle service: `run` mounts, serves until the mount is taken away from outside
/// (`fusermount3 -u`), the group shuts down gracefully (SIGTERM, SIGINT) or the task is cancelled, and returns
/// once the mount is gone. The file system stays open; whoever opened it closes it.
package struct FuseMountService: Service {
    let fs: FileSystem
    let mountpoint: String
    let options: MountOptions
    let onMounted: @Sendable (FuseMount) -> Void

    package init(
        fs: FileSystem, mountpoint: String, options: MountOptions = MountOptions(), onMounted: @escaping @Sendable (FuseMount) -> Void = { _ in }
    ) {
        self.fs = fs
        self.mountpoint = mountpoint
        self.options = options
        self.onMounted = onMounted
    }

    package func run() async throws {
        let mount = try FuseMount.mount(fs, at: mountpoint, options: options)
        onMounted(mount)
        // Unmounting waits on the kernel and on the request loop: a thread of its own, never a task's.
        let stop: @Sendable () -> Void = { Thread { mount.unmount() }.start() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await mount.ended()
            } onGracefulShutdown: {
                stop()
            }
        } onCancel: {
            stop()
        }
        await mount.unmountWithoutBlocking()
    }
}
