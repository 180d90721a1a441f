"""The long fuzzing profile: 10,000 generated cases per property of tests/test_fuzz.py.

    python bench/fuzz_long.py            # 5 min 40 s on 2 cores (docs/reliability.md)

Runs pytest with DELTAPROP_FUZZ=long and prints each property's case count and the total time;
the result goes into docs/reliability.md.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    env = dict(os.environ, DELTAPROP_FUZZ="long")
    start = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--hypothesis-show-statistics",
                            os.path.join(HERE, "..", "tests", "test_fuzz.py")], env=env)
    print(f"long fuzz profile: exit code {code}, {time.perf_counter() - start:.0f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
