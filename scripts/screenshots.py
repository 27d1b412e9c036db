"""Take the README's dashboard screenshots from the demo data: `.venv/bin/python scripts/screenshots.py`.

Seeds a throwaway SQLite database with `demo --days 14` (fixed seed), serves the app on a free localhost port
and drives Debian's headless Chromium (/usr/bin/chromium, never a downloaded browser) to docs/dashboard-*.png.
"""
from __future__ import annotations

import secrets
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
PAGES = {"load": "/dashboard/load?team=billing-emea", "outcomes": "/dashboard/outcomes",
         "rules-editor": "/dashboard/rules?team=billing-emea", "rules": "/dashboard/rules?team=billing-emea",
         "history": "/dashboard/rules/history?team=billing-emea"}


def main(out_dir: Path = ROOT / "docs") -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from aftercare import migrate
    from aftercare.app import create_app
    from aftercare.demo_history import seed_history
    from aftercare.managers import create_manager

    with tempfile.TemporaryDirectory(prefix="aftercare-shots-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        migrate.upgrade(url)
        app = create_app({"database": {"url": url}, "server": {"instance_dir": tmp}, "scheduler": {"enabled": False},
                          "logging": {"level": "WARNING", "json": False}})
        choose_pages(seed_history(app, days=14, seed=2026, say=print), sys.argv[1:])
        password = secrets.token_urlsafe(16)
        with app.extensions["aftercare"].db.session() as session:
            create_manager(session=session, username="dana.manager", password=password)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        out_dir.mkdir(exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page.goto(f"{base}/dashboard/sign-in")
            page.fill("#username", "dana.manager")
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard/load")
            for name, path in PAGES.items():
                page.goto(base + path)
                if name == "rules":  # the simulation, labelled measures and charts
                    page.click("#simulate")
                    page.wait_for_selector("#simulation")
                    page.locator("#simulation").scroll_into_view_if_needed()
                    page.locator("#simulation").screenshot(path=str(out_dir / f"dashboard-{name}.png"))
                elif name == "rules-editor":  # the form: a rule as a sentence, its conditions, the guards' help
                    page.screenshot(path=str(out_dir / f"dashboard-{name}.png"))
                elif name == "history":  # each version's changes as sentences, the newest JSON diff unfolded
                    page.click("article.version details summary")
                    page.screenshot(path=str(out_dir / f"dashboard-{name}.png"))
                else:
                    page.screenshot(path=str(out_dir / f"dashboard-{name}.png"), full_page=name != "outcomes")
                print(f"wrote {out_dir / f'dashboard-{name}.png'}")
            browser.close()
        server.shutdown()
        app.extensions["aftercare"].db.dispose()


# Close the loop's pages (docs/close-the-loop.md): why customers come back, known problems, and the demo's resolved one.
PAGES.update({"insights": "/dashboard/insights", "problems": "/dashboard/problems", "problem": ""})


def choose_pages(seeded: dict, wanted: list[str]) -> None:
    """The demo's resolved problem is the "problem" page; page names on the command line take only those
    (`scripts/screenshots.py insights problems problem`)."""
    PAGES["problem"] = f"/dashboard/problems/{seeded['problem']['id']}"
    for name in [n for n in PAGES if wanted and n not in wanted]:
        del PAGES[name]


if __name__ == "__main__":
    main()
