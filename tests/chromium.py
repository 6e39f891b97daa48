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


def log_in(driver: webdriver.Chrome, base_url: str, user) -> None:
    """The browser logged in as `user` on the live server at base_url (the session of a test
    client, handed to the browser as its cookie)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    driver.get(f"{base_url}/admin/login/")
    driver.delete_all_cookies()
    driver.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                       "path": "/"})
