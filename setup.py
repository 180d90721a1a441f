"""The compiled engine: a C extension built when deltaprop is installed (metadata is in pyproject.toml).

It is optional: where no C compiler is found the build goes on without it, and deltaprop trains
with the NumPy engine alone (``deltaprop.fast.AVAILABLE`` says which).
"""
import sys

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "deltaprop._kernels", ["src/deltaprop/_kernels.c"], depends=["src/deltaprop/_kernel.h"],
    extra_compile_args=[] if sys.platform == "win32" else ["-O3", "-std=c11", "-pthread", "-fno-math-errno"],
    extra_link_args=[] if sys.platform == "win32" else ["-pthread"], optional=True)])
