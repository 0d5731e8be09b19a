#!/usr/bin/env python3
"""Opens dcv-connect's URL in headless Chromium and waits for noVNC to connect to the head node's desktop.

usage: browser_desktop.py URL [--screenshot FILE] [--expect-refused]
Prints one JSON line: whether it connected, noVNC's status text and the desktop's size; exits 1 (with "error")
when it did not connect.
"""
import argparse
import sys

from dashboard_driver import chromium, report, wait


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--screenshot")
    parser.add_argument("--expect-refused", action="store_true", help="a URL that must not connect: wait 10 s and report")
    args = parser.parse_args()
    driver = chromium(1280, 900)
    seen = {}

    def steps():
        driver.get(args.url)
        if args.expect_refused:
            try:
                wait(driver, "noVNC to connect", lambda: driver.execute_script(
                    "return document.documentElement.classList.contains('noVNC_connected')"), seconds=10)
                seen["connected"] = True
            except RuntimeError:
                seen["connected"] = False
            seen["status"] = driver.execute_script("return (document.getElementById('noVNC_status') || {}).textContent || ''")
            return
        # noVNC marks the page connected once the VNC handshake is done and the first frame drawn.
        seen["connected"] = wait(driver, "noVNC to connect", lambda: driver.execute_script(
            "return document.documentElement.classList.contains('noVNC_connected')"), seconds=60)
        seen["status"] = driver.execute_script("return (document.getElementById('noVNC_status') || {}).textContent || ''")
        seen["canvas"] = driver.execute_script(
            "const c = document.querySelector('#noVNC_container canvas'); return c ? [c.width, c.height] : null")
        if args.screenshot:
            driver.save_screenshot(args.screenshot)

    return report(driver, seen, steps)


if __name__ == "__main__":
    sys.exit(main())
