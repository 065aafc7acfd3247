"""The repository stands alone: no tracked file cites a document that is not in it.

The design notes the project started from are not part of the repository, so code, tests
and docs cite the project's own docs (docs/*.md) instead.
"""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: names of documents outside the repository (spelled in pieces so this file passes itself)
FOREIGN = ("contracts" + ".md", "neuron-model" + ".md", "chip-figures" + ".md", "../" + "shared", "/work/" + "shared")
SCOPE = ("chipemu", "mapper", "programs", "tests", "docs", "bench", "examples", "README.md", "pyproject.toml")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "--", *SCOPE], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        files = [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an sdist)
        files = [p for s in SCOPE for p in ((ROOT / s).rglob("*") if (ROOT / s).is_dir() else [ROOT / s])]
    return [p for p in files if p.is_file()]


def test_no_file_cites_a_document_outside_the_repository():
    bad = []
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary data (npz, png)
        for lineno, line in enumerate(text.splitlines(), 1):
            for name in FOREIGN:
                if name in line:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno}: {name}")
    assert not bad, "cite docs/*.md instead of documents outside the repository:\n" + "\n".join(bad)


@pytest.mark.parametrize("doc", ["cli.md", "formats.md", "neuron.md", "chips.md", "report.md"])
def test_interface_docs_exist_and_are_linked_from_readme(doc):
    assert (ROOT / "docs" / doc).is_file()
    assert f"docs/{doc}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_docs_links_point_to_files_that_exist():
    import re
    missing = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", md.read_text(encoding="utf-8")):
            if not (md.parent / target).exists():
                missing.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not missing, "\n".join(missing)


def test_cli_doc_names_every_command_and_flag():
    """docs/cli.md describes every subcommand and every option the parser accepts."""
    import argparse

    from chipemu.cli import build_parser

    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, p in sub.choices.items():
        if f"chipemu {name}" not in doc:
            missing.append(f"command {name}")
        for action in p._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and f"`{flag}" not in doc:
                    missing.append(f"{name} {flag}")
    assert not missing, "docs/cli.md does not describe: " + ", ".join(missing)


def test_chip_doc_names_every_chip_key():
    from chipemu.chips import load_chip

    doc = (ROOT / "docs" / "chips.md").read_text(encoding="utf-8")
    d = load_chip("tiny").to_dict()
    keys = [k for k, v in d.items() if not isinstance(v, dict)]
    keys += [k for v in d.values() if isinstance(v, dict) for k in v]
    missing = [k for k in keys if f"`{k}`" not in doc]
    assert not missing, "docs/chips.md does not describe: " + ", ".join(missing)
