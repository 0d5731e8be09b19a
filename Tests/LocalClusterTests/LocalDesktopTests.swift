import LocalCluster
import Testing

/// HeadNode.Dcv.AllowedIps as a local desktop can honour it: its listener is on 127.0.0.1, so a CIDR that
/// does not hold that address refuses the session.
struct LocalDesktopTests {
    @Test(arguments: [
        ("0.0.0.0/0", true), ("127.0.0.1/32", true), ("127.0.0.0/8", true), ("127.0.0.1", true), ("10.0.0.0/8", false),
        ("192.168.1.0/24", false), ("127.0.0.2/32", false), ("not-a-cidr", false), ("127.0.0.1/33", false),
    ])
    func allowedIpsMustHoldLoopback(cidr: String, allowed: Bool) {
        #expect(LocalDesktop.allowsLoopback(cidr) == allowed, "\(cidr)")
    }
}
