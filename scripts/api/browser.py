#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium (Debian's chromium and chromium-driver, through selenium):
the clusters page, a cluster's page (status, instances, Slurm nodes and queues), stopping and starting its
compute fleet, and a dry run of a bad configuration in the create form.

usage: browser.py URL TOKEN CLUSTER BAD_CONFIG_FILE [--screenshot FILE]
Prints one JSON line with what the pages showed; exits 1 (with "error") when something did not appear.
"""
import argparse
import sys

from selenium.webdriver.common.by import By

from dashboard_driver import chromium, report, settled, wait as wait_for


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("cluster")
    parser.add_argument("bad_config")
    parser.add_argument("--screenshot")
    args = parser.parse_args()

    driver = chromium()
    seen = {}

    def text(element_id):
        def read():
            found = driver.find_elements(By.ID, element_id)
            return found[0].text if found else None
        return settled(read)

    def click(element_id):
        settled(lambda: driver.find_element(By.ID, element_id).click())

    def wait(what, check, seconds=90):
        return wait_for(driver, what, check, seconds)


    def steps():
        driver.get(f"{args.url}/#token={args.token}")
        rows = wait("the cluster in the clusters table", lambda: [
            r.text for r in driver.find_elements(By.CSS_SELECTOR, "#clusters tr") if args.cluster in r.text])
        seen["clustersRow"] = rows[0]
        driver.find_element(By.LINK_TEXT, args.cluster).click()
        seen["status"] = wait("the cluster's status", lambda: text("cluster-status") if text("cluster-status") in ("CREATE_COMPLETE", "UPDATE_COMPLETE") else None)
        seen["instances"] = wait("the head node in the instances", lambda: [
            r.text for r in driver.find_elements(By.CSS_SELECTOR, "#instances tr")[1:] if "HeadNode" in r.text])
        seen["nodes"] = wait("Slurm's nodes", lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#nodes tr")[1:]])
        # The page re-renders every 3 s: each read below is repeated when its element went under it.
        seen["queues"] = settled(lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#queues tr")[1:]])
        seen["plot"] = settled(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#nodes-plot polyline")))
        seen["logStreams"] = wait("the cluster's log streams", lambda: [b.text for b in driver.find_elements(By.CSS_SELECTOR, "button.log-stream")])
        seen["logLines"] = wait("the last lines of a log", lambda: len((text("log-lines") or "").splitlines()))
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
        click("stop-fleet")
        seen["stopped"] = wait("the fleet to stop", lambda: text("fleet-status") if text("fleet-status") == "STOPPED" else None)
        click("start-fleet")
        seen["started"] = wait("the fleet to run", lambda: text("fleet-status") if text("fleet-status") == "RUNNING" else None)

        driver.get(f"{args.url}/#/create")
        wait("the create form", lambda: driver.find_elements(By.ID, "create-config"))
        driver.find_element(By.ID, "create-name").clear()
        driver.find_element(By.ID, "create-name").send_keys("browser-dry-run")
        config = open(args.bad_config).read()
        # Through the page's own field, without typing each character.
        driver.execute_script("document.getElementById('create-config').value = arguments[0];", config)
        click("dry-run")
        seen["findings"] = wait("the dry run's findings", lambda: [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#findings li")])
        seen["createMessage"] = text("create-message")

    return report(driver, seen, steps)


if __name__ == "__main__":
    sys.exit(main())
