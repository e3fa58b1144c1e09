"""Package layout: one import package, ``mailspec``, spread over the top-level folders.

The folders ``codegen/``, ``generated/`` and ``adapters/`` install as subpackages of
``mailspec``, so a wheel never squats generic top-level names in site-packages. Every
other setting lives in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "mailspec": "mailspec",
    "mailspec.codegen": "codegen",
    "mailspec.generated": "generated",
    "mailspec.adapters": "adapters",
}
# mailspec's own specs ship beside the clients generated from them, as package data:
# `mailspec generate --check` on an installed mailspec compares the two
DATA_FOLDERS = {"mailspec._data.spec": "spec"}  # not mailspec.spec: that is a function

packages = []
for package, folder in FOLDERS.items():
    packages.append(package)
    packages.extend(f"{package}.{sub}" for sub in find_packages(folder))

setup(package_dir=FOLDERS | DATA_FOLDERS, packages=packages + list(DATA_FOLDERS))
