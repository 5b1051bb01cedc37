"""Packaging details pyproject.toml cannot state (everything else lives there).

- The rule sets live in `rules/` at the top of the checkout, where people read and edit
  them; the wheel carries them as `taxopt/rules_data/` (taxopt.rules looks there first).
- Builds happen in a temporary folder, removed afterwards, so `pip install .` leaves no
  `build/` folder in the checkout.
"""

import atexit
import shutil
import tempfile

from setuptools import find_namespace_packages, setup
from setuptools.command.build import build


class BuildOutsideCheckout(build):
    def initialize_options(self) -> None:
        super().initialize_options()
        self.build_base = tempfile.mkdtemp(prefix="taxopt-build-")
        atexit.register(shutil.rmtree, self.build_base, ignore_errors=True)


setup(
    packages=[
        *find_namespace_packages(include=["taxopt", "taxopt.*"], exclude=["*.__pycache__"]),
        "taxopt.rules_data",
    ],
    package_dir={"taxopt.rules_data": "rules"},
    package_data={
        "taxopt": ["py.typed"],
        "taxopt.data": ["*.toml"],
        "taxopt.rules_data": ["*.toml", "states/*.toml"],
    },
    cmdclass={"build": BuildOutsideCheckout},
)
