"""Remake docs/class_report.png: the demo class's report (`make demo` writes it) in headless Chromium.

    .venv/bin/python docs/class_report_screenshot.py [REPORT_HTML] [--height 1500]

REPORT_HTML defaults to build/demo/graded/report.html; run `make demo` first. The page is
rendered 1200 pixels wide; the PNG is written beside this script.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", nargs="?", default=ROOT / "build" / "demo" / "graded" / "report.html", type=Path)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "class_report.png")
    args = parser.parse_args()
    if not args.report.is_file():
        sys.exit(f"{args.report} does not exist: run `make demo` first")
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        sys.exit("chromium is not installed: run `make env`")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--screenshot={args.out.resolve()}",
                        f"--window-size=1200,{args.height}", args.report.resolve().as_uri()],
                       check=True, capture_output=True)
    print(args.out)


if __name__ == "__main__":
    main()
