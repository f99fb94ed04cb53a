"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test creates each sanity test's virtual environment without pip and downloads get-pip.py
from ci-files.testing.ansible.com to put pip in it. Where that host is unreachable, ansible-test
says to save a bootstrap script at ~/.ansible/test/cache/get_pip_<version>.py; ``make sanity``
saves this one there. It behaves as get-pip.py does for ansible-test: install pip (from the
interpreter's own ensurepip wheel), then ``pip install`` the arguments it was given (the pinned
pip version and packages), through whatever package index pip is configured to use.
"""

import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def main():
    # In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its own process, and
    # the install below must see the machine's pip configuration (index, certificates).
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True)
    arguments = [a for a in sys.argv[1:] if a not in IGNORED]
    subprocess.run([sys.executable, "-m", "pip", "install", *arguments], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
