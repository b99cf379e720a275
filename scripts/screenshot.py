"""The README's picture of the report, from the report the current code wrote (``make screenshot``).

Opens ``reports/seeds/report.html`` (``make eval`` writes it) in headless Chromium and saves the
top of the page as ``reports/seeds/report-screenshot.png``, so that the numbers in the picture
are the numbers in the report beside it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", default="reports/seeds/report.html")
    ap.add_argument("--out", default="reports/seeds/report-screenshot.png")
    ap.add_argument("--size", default="1280,900", help="window WIDTH,HEIGHT in pixels")
    args = ap.parse_args()
    report = Path(args.report).resolve()
    if not report.is_file():
        raise SystemExit(f"screenshot: {report} not found; run make eval first")
    if not (CHROMIUM.exists() and DRIVER.exists()):
        raise SystemExit(f"screenshot: needs {CHROMIUM} and {DRIVER} (make setup installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory() as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = str(CHROMIUM)
        flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
        flags += f" --disable-component-update --disable-sync --hide-scrollbars --window-size={args.size}"
        for arg in [*flags.split(), f"--user-data-dir={profile}"]:
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
        try:
            driver.get(report.as_uri())
            if not driver.save_screenshot(args.out):
                raise SystemExit(f"screenshot: Chromium could not write {args.out}")
        finally:
            driver.quit()
    print(f"wrote {args.out} from {args.report}")


if __name__ == "__main__":
    main()
