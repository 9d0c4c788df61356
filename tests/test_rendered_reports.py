"""The reports an auditor opens, looked at in a real browser: pytest-html's page and the Allure 3
report rendered by ``scripts/render-allure``, both opened from disk in headless Chromium.

One pytest run checks a tree of a conforming run and a violating one (whose directory name is
markup); the tests read what the browser shows. They need the ``playwright`` Python package, a
Chromium (``apt-get install chromium``; ``TORGHUT_CHROMIUM`` names another) and, for Allure,
Node.js with npm; each is skipped naming what is missing. ``TORGHUT_SCREENSHOTS=DIR`` saves a
PNG of each page looked at.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_torghut_rollout import __version__
from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.contract.models import CONTRACT
from pytest_torghut_rollout.plugin.allure_report import categories

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page, Route

REPO = Path(__file__).resolve().parent.parent
RENDER_ALLURE = REPO / "scripts" / "render-allure"
FIXTURES = REPO / "fixtures"
#: The violating run's directory: markup that would run in the auditor's browser if not escaped.
VIOLATING = "violating <img id=injected src=x onerror=document.title='pwned'>"
FAILING_ID = f"{VIOLATING}/rollout/phase-manifest.json::TM012-transition-adjacency"
PASSING_ID = "conforming/rollout/phase-manifest.json::TM012-transition-adjacency"
RULE_TEXT = REGISTRY["TM012"].title
FINDING = "transition 4 does not join adjacent phases"
#: A finding the failure text leaves out ("+3 more findings"): only the evidence shows it.
OTHER_FINDING = "transition 5 does not join adjacent phases"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Requests a report opened from disk may make: its own file and what it carries inline.
LOCAL = ("file:", "data:", "blob:", "about:")
TIMEOUT_MS = 30_000


@dataclass(frozen=True, kw_only=True)
class Reports:
    """What the inner pytest run and the renderer wrote."""

    html: Path
    allure_results: Path
    artifacts: Path


def chromium() -> str | None:
    """The Chromium to drive: TORGHUT_CHROMIUM, else Debian's chromium or a headless shell on PATH."""
    explicit = os.environ.get("TORGHUT_CHROMIUM")
    if explicit:
        return explicit
    return next(filter(None, map(shutil.which, ("chromium", "chromium-headless-shell", "chromium-browser"))), None)


def visible_text(page: Page) -> str:
    """The text the page shows, its frames' after it (as rendered: hidden elements left out), for one-line checks."""
    return "\n".join(frame.locator("body").inner_text(timeout=TIMEOUT_MS) for frame in page.frames)


def screenshot(page: Page, name: str) -> None:
    """Save a PNG of the page under TORGHUT_SCREENSHOTS, when it is set."""
    directory = os.environ.get("TORGHUT_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=False)


@pytest.fixture
def violating_tree(pytester: pytest.Pytester) -> Path:
    """The violating run alone, in the pytester directory."""
    return Path(
        shutil.copytree(FIXTURES / "invalid" / "TM012" / "transition-skips-paper-canary", pytester.path / "run")
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Check a conforming and a violating run once, writing the HTML report and Allure results."""
    work = tmp_path_factory.mktemp("rendered")
    tree = work / "tree"
    shutil.copytree(FIXTURES / "valid" / "flat", tree / "conforming")
    shutil.copytree(FIXTURES / "invalid" / "TM012" / "transition-skips-paper-canary", tree / VIOLATING)
    (tree / VIOLATING / "case.json").unlink()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--torghut-artifacts=tree",
        "--torghut-allow-tracked-notes",
        "--html=report.html",
        "--self-contained-html",
        "--alluredir=allure-results",
    ]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    assert f"FAILED {FAILING_ID}" in done.stdout
    assert "1 failed" in done.stdout
    return Reports(html=work / "report.html", allure_results=work / "allure-results", artifacts=tree)


@pytest.fixture(scope="module")
def allure_report(reports: Reports) -> Path:
    """The single-file Allure 3 report of the run, rendered by scripts/render-allure."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not found: rendering Allure 3 needs Node.js (apt-get install nodejs npm)")
    out = reports.allure_results.parent / "allure-report"
    command = [sys.executable, str(RENDER_ALLURE), str(reports.allure_results), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.html")) == ["index.html"]  # one file, nothing beside it to load
    return out / "index.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, the system's, driven by Playwright."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright Python package is not installed (pip install -e '.[test]')"
    )
    executable = chromium()
    if executable is None:
        pytest.skip("no Chromium found: apt-get install chromium, or set TORGHUT_CHROMIUM to its executable")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass(frozen=True, kw_only=True)
class Opened:
    """A report open in a page, with what it tried to fetch from outside and the dialogs it raised."""

    page: Page
    remote: list[str]
    dialogs: list[str]


Opener = Callable[[Path], Opened]


@pytest.fixture
def open_report(browser: Browser) -> Iterator[Opener]:
    """Return ``open(path)``: a page showing that file, every remote request refused and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)

    def open_file(path: Path) -> Opened:
        opened = Opened(page=context.new_page(), remote=[], dialogs=[])

        def route(route: Route) -> None:
            if route.request.url.startswith(LOCAL):
                route.continue_()
            else:
                opened.remote.append(route.request.url)
                route.abort()

        def dialog(dialog: Dialog) -> None:
            opened.dialogs.append(dialog.message)
            dialog.dismiss()

        opened.page.route("**/*", route)
        opened.page.on("dialog", dialog)
        opened.page.goto(path.as_uri())
        return opened

    try:
        yield open_file
    finally:
        context.close()


def assert_nothing_injected(opened: Opened) -> None:
    """The markup in the run's name stayed text: no element, no script, no request, no dialog."""
    page = opened.page
    assert page.locator("#injected").count() == 0
    assert page.title() != "pwned"
    assert opened.dialogs == []
    assert opened.remote == []  # a governance record opened from disk fetches nothing from anywhere


@pytest.mark.slow
def test_html_report_shows_the_failing_check_with_its_rule_and_evidence(open_report: Opener, reports: Reports) -> None:
    opened = open_report(reports.html)
    page = opened.page
    failing = page.locator("tbody.results-table-row", has_text=FAILING_ID)
    failing.wait_for()
    screenshot(page, "html-report-top")
    assert failing.locator(".col-result").inner_text().strip() == "Failed"
    passing = page.locator("tbody.results-table-row", has_text=PASSING_ID)
    assert passing.locator(".col-result").inner_text().strip() == "Passed"
    text = visible_text(page)
    assert "torghut rollout contract conformance" in text
    assert FAILING_ID in text  # the markup of the run's name shown as the text it is
    assert f"TM012 transition-adjacency: {RULE_TEXT}" in text  # the rule, from the row's extras
    assert "contract: Autonomous rollout contract: phase_transitions must be derived" in text  # `code` as code
    assert f"TM012 transition-adjacency: {FINDING}" in text
    assert "1 check found violations in 1 artifact" in text
    # Every finding, not only the first the failure text shows, is in the page: no link to follow.
    assert OTHER_FINDING not in text
    failing.get_by_text("Evidence (JSON)").click()
    assert OTHER_FINDING in visible_text(page)
    assert page.locator("a[href^='data:']").count() == 0  # browsers open no data: link from a page
    assert_nothing_injected(opened)


@pytest.mark.slow
def test_html_report_opens_on_the_governance_summary_of_every_run(open_report: Opener, reports: Reports) -> None:
    opened = open_report(reports.html)
    page = opened.page
    runs = page.locator("table.torghut-runs")
    runs.wait_for()
    screenshot(page, "html-governance-summary")
    text = visible_text(page)
    assert "Governance summary: fail" in text
    manifests = sorted(reports.artifacts.rglob("phase-manifest.json"))
    assert len(manifests) >= 2
    rows = runs.locator("tr")
    assert rows.count() == len(manifests) + 1  # the header, then one row per run
    summary = runs.inner_text()
    for manifest in manifests:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        assert data["run_id"] in summary, manifest
        assert hashlib.sha256(manifest.read_bytes()).hexdigest() in summary.replace("\n", ""), manifest
    # The violating run's row is tinted and counts its one failed check (the column before the digest).
    violating = runs.locator("tr", has_text=VIOLATING)
    assert violating.count() == 1
    assert violating.get_attribute("class") == "torghut-failed"
    assert violating.locator("td").all_inner_texts()[-2].strip() == "1"
    assert "not in a git work tree" in page.locator("table.torghut-environment").inner_text()
    assert page.locator(".torghut-partial").count() == 0  # a full run carries no partial banner


@pytest.mark.slow
def test_allure_report_shows_the_failing_check_with_its_rule_category_and_evidence(
    open_report: Opener, allure_report: Path
) -> None:
    opened = open_report(allure_report)
    page = opened.page
    # Only the failing check: the status filter, then the test itself.
    page.get_by_role("button", name="Failed").first.click()
    page.get_by_text("TM012-transition-adjacency").first.click()
    page.get_by_text(FINDING).first.wait_for()
    screenshot(page, "allure-failing-test")
    text = visible_text(page)
    # The status, and the category the plugin's categories.json gives it (applied by the renderer).
    assert "TM012-transition-adjacency\nFailed\nCritical\nCategory: Semantic violations" in text
    assert f"TM012 transition-adjacency: {FINDING}" in text
    # The description (Allure shows it in a frame of its own): the rule's title and statement.
    assert f"{RULE_TEXT}\n\ncontract: Autonomous rollout contract: phase_transitions must be derived" in text
    assert f"'{VIOLATING}/rollout/phase-manifest.json'" in text  # the artifact parameter, as text
    assert "torghut_rule\nTM012" in text
    assert OTHER_FINDING not in text
    page.get_by_text("Evidence", exact=True).first.click()
    page.get_by_text(OTHER_FINDING).first.wait_for()
    assert_nothing_injected(opened)


@pytest.mark.slow
def test_allure_report_shows_the_environment(open_report: Opener, reports: Reports, allure_report: Path) -> None:
    opened = open_report(allure_report)
    page = opened.page
    page.get_by_text("torghut.contract").first.wait_for()
    screenshot(page, "allure-overview")
    text = visible_text(page)
    assert f"torghut.contract\n{CONTRACT}" in text
    assert f"torghut.plugin\npytest-torghut-rollout {__version__}" in text
    assert f"torghut.artifacts\n{reports.artifacts.resolve()}" in text
    assert f"python\n{platform.python_version()}\n" in text
    assert "Total\n78\nFailed\n1\nPassed\n75\nSkipped\n2" in text
    assert_nothing_injected(opened)


def run_render(*args: str | Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run scripts/render-allure with ``args`` (and PATH, when given)."""
    env = dict(os.environ) if path is None else {**os.environ, "PATH": path}
    command = [sys.executable, str(RENDER_ALLURE), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results directory holding one (empty) result, enough to get past the argument checks."""
    directory = tmp_path / "allure-results"
    directory.mkdir()
    (directory / "0-result.json").write_text("{}", encoding="utf-8")
    return directory


def test_render_allure_without_node_says_what_to_install(tmp_path: Path, results: Path) -> None:
    done = run_render(results, tmp_path / "report", path=str(tmp_path / "empty-bin"))
    assert done.returncode == 3
    assert "render-allure: node and npm not found" in done.stderr
    assert "apt-get install nodejs npm" in done.stderr
    assert not (tmp_path / "report").exists()


def test_render_allure_refuses_a_directory_without_results(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = run_render(tmp_path / "empty", tmp_path / "report")
    assert done.returncode == 2
    assert f"{tmp_path / 'empty'}: no Allure results (*-result.json) in it" in done.stderr
    done = run_render(tmp_path / "missing", tmp_path / "report")
    assert done.returncode == 2
    assert f"{tmp_path / 'missing'}: not a directory" in done.stderr


def test_render_allure_overwrites_only_its_own_reports(tmp_path: Path, results: Path) -> None:
    out = tmp_path / "somebody-elses"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    done = run_render(results, out)
    assert done.returncode == 2
    assert f"{out}: not empty and not an earlier report of render-allure" in done.stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_allure_categories_compile_as_javascript_regexes(tmp_path: Path) -> None:
    # Allure 3 compiles them with JavaScript's RegExp: one that does not compile (Python's
    # inline (?s) flag) stops it from rendering any report.
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found: checking the categories as JavaScript needs Node.js (apt-get install nodejs)")
    regexes = [category["messageRegex"] for category in categories()]
    script = "for (const r of JSON.parse(process.argv[1])) new RegExp(r);"
    done = subprocess.run([node, "-e", script, json.dumps(regexes)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    message = f"TM012 transition-adjacency: {FINDING}\n  artifact: run1/rollout/phase-manifest.json"
    assert [c["name"] for c in categories() if re.fullmatch(c["messageRegex"], message)] == ["Semantic violations"]


def test_single_file_html_report_carries_every_finding_in_the_page(
    pytester: pytest.Pytester, violating_tree: Path
) -> None:
    pytester.runpytest(f"--torghut-artifacts={violating_tree}", "--html=report.html", "--self-contained-html")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    tests = json.loads(html.unescape(blob.group(1)))["tests"]
    (entry,) = tests["rollout/phase-manifest.json::TM012-transition-adjacency"]
    extras = {extra["name"]: extra for extra in entry["extras"]}
    assert extras["Evidence"]["format_type"] == "html"
    shown = extras["Evidence"]["content"]
    assert shown.startswith('<details class="torghut-evidence"><summary>Evidence (JSON)</summary><pre>')
    evidence = json.loads(html.unescape(re.sub(r"<[^>]+>", "", shown.split("</summary>", 1)[1])))
    assert [f["message"] for f in evidence["findings"]].count("transition 5 does not join adjacent phases") == 2
    assert "<code>phase_transitions</code>" in extras["TM012 rule"]["content"]
    assert not [e for e in entry["extras"] if e["format_type"] == "json"]
