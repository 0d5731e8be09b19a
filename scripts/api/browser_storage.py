#!/usr/bin/env python3
"""Opens the dashboard's storage page in headless Chromium and reads what it shows of one association.

usage: browser_storage.py URL TOKEN CLUSTER FILE_SYSTEM_PATH [--screenshot FILE]
Prints one JSON line: the cluster's row on the clusters page and the association's row (its cells by column
name); exits 1 (with "error") when something did not appear.
"""
import argparse
import sys

from selenium.webdriver.common.by import By

from dashboard_driver import chromium, report, wait as wait_for


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("cluster")
    parser.add_argument("path")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    driver = chromium(1400, 1000)
    seen = {}

    def wait(what, check, seconds=90):
        return wait_for(driver, what, check, seconds)

    def association_row():
        table = driver.find_element(By.ID, "associations")
        headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "th")]
        for row in table.find_elements(By.CSS_SELECTOR, "tr")[1:]:
            cells = [td.text for td in row.find_elements(By.CSS_SELECTOR, "td")]
            entry = dict(zip(headers, cells))
            if entry.get("File system path") == args.path and entry.get("Files"):
                entry["bars"] = len(row.find_elements(By.CSS_SELECTOR, "svg.hsm-bar rect"))
                return entry
        return None


    def steps():
        driver.get(f"{args.url}/#token={args.token}")
        seen["clustersRow"] = wait("the cluster", lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#clusters tr") if args.cluster in r.text])[0]
        driver.find_element(By.ID, "nav-storage").click()
        seen["association"] = wait("the association with its HSM counts", association_row)
        seen["fileSystems"] = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#file-systems tr")[1:]]
        seen["queuePlot"] = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#queue-plot text")]
        if args.screenshot:
            driver.save_screenshot(args.screenshot)

    return report(driver, seen, steps)


if __name__ == "__main__":
    sys.exit(main())
