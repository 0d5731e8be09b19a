#!/usr/bin/env python3
"""Opens the dashboard's storage page in headless Chromium and reads what it shows of one association.

usage: browser_storage.py URL TOKEN CLUSTER FILE_SYSTEM_PATH [--screenshot FILE]
Prints one JSON line: the cluster's row on the clusters page and the association's row (its cells by column
name); exits 1 (with "error") when something did not appear.
"""
import argparse
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("cluster")
    parser.add_argument("path")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    seen = {}

    def wait(what, check, seconds=90):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                value = check()
                if value:
                    return value
            except Exception:  # the page re-renders every 3 s
                pass
            time.sleep(0.25)
        raise RuntimeError(f"timed out waiting for {what}; the page shows: {driver.find_element(By.TAG_NAME, 'main').text[:1500]}")

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

    try:
        driver.get(f"{args.url}/#token={args.token}")
        seen["clustersRow"] = wait("the cluster", lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#clusters tr") if args.cluster in r.text])[0]
        driver.find_element(By.ID, "nav-storage").click()
        seen["association"] = wait("the association with its HSM counts", association_row)
        seen["fileSystems"] = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#file-systems tr")[1:]]
        seen["queuePlot"] = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#queue-plot text")]
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
        print(json.dumps(seen))
        return 0
    except Exception as error:
        seen["error"] = str(error)
        print(json.dumps(seen))
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
