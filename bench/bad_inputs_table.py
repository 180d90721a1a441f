"""Print the bad-input table of docs/reliability.md from real runs of tests/test_bad_inputs.py's cases.

    python bench/bad_inputs_table.py > /tmp/table.md
"""
import argparse
import os
import shlex
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import test_bad_inputs as cases  # noqa: E402


def _preview(name, content):
    if content is None:
        return f"`{name}` a folder"
    raw = content.encode() if isinstance(content, str) else content
    if len(raw) > 60 or b"PK" in raw[:2]:
        return f"`{name}` ({len(raw):,} bytes{', a zip' if raw[:2] == b'PK' else ''})"
    return f"`{name}` = `{raw!r}`"


def _how(case):
    files = "; ".join(_preview(n, c) for n, c in case.files.items())
    cmd = "deltaprop " + " ".join(shlex.quote(a) for a in case.argv)
    stdin = " (stdin: `" + case.stdin.decode().strip() + "`)" if case.stdin else ""
    return f"`{cmd}`{stdin}" + (f" with {files}" if files else "")


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ").strip()


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    print("| # | group | input kind | how to reproduce | what deltaprop answers | exit |")
    print("|---|---|---|---|---|---|")
    for i, case in enumerate(cases.CASES, 1):
        with tempfile.TemporaryDirectory() as folder:
            code, _, err = cases.run_case(case, folder)
        err = err.replace(folder + os.sep, "")
        print(f"| {i} | {case.group} | {case.kind} | {_cell(_how(case))} | `{_cell(err)}` | {code} |")
    print()
    print("| # | Python API call | error raised |")
    print("|---|---|---|")
    for i, (kind, call, _, _) in enumerate(cases.API_CASES, 1):
        try:
            call()
            answer = "(no error)"
        except Exception as exc:  # noqa: BLE001 - the table reports whatever happens
            answer = f"{type(exc).__name__}: {exc}"
        print(f"| {i} | {kind} | `{_cell(answer)}` |")


if __name__ == "__main__":
    main()
