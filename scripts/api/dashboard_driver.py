"""What the dashboard's browser scripts share: headless Chromium through Debian's chromium-driver, and a wait
that tolerates the page re-rendering (every 3 s) between finding an element and reading it."""
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def chromium(width=1280, height=1800):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, what, check, seconds=90):
    """check()'s first truthy value within `seconds`; else an error quoting what the page shows."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:  # an element may go between find and read
            pass
        time.sleep(0.25)
    try:
        shown = driver.find_element(By.TAG_NAME, "body").text[:1500]
    except Exception:
        shown = "(nothing)"
    raise RuntimeError(f"timed out waiting for {what}; the page shows: {shown}")


def settled(read, seconds=10):
    """read()'s value, read again while the page re-renders the element under it (a stale reference); unlike
    `wait`, an empty value is an answer too."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.time() + seconds
    while True:
        try:
            return read()
        except StaleElementReferenceException:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def report(driver, seen, body):
    """Runs body(), then prints what was seen as one JSON line: exit status 0, or 1 with the error in "error".
    The browser is closed either way."""
    import json

    try:
        body()
        print(json.dumps(seen))
        return 0
    except Exception as error:
        seen["error"] = str(error)
        print(json.dumps(seen))
        return 1
    finally:
        driver.quit()
