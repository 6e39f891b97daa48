"""Headless Chromium for the browser tests (Debian's chromium and chromium-driver, installed by
.ci/run): one way to start it, shared by the Mini App's and the dashboard's tests."""

import shutil

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def headless_chromium(*, window: str, page_load_timeout: int = 30) -> webdriver.Chrome:
    """A started driver with a window of `window` ("WIDTH,HEIGHT") pixels; the caller quits it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    assert chromium and chromedriver, "install Debian's chromium and chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={window}", "--disable-extensions", "--no-first-run", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    return driver
