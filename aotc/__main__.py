"""`python -m aotc`: what the installed `aotc` launcher runs, in isolated mode (see aotc/launch.py)."""

from aotc.cli import app

if __name__ == "__main__":
    app(prog_name="aotc")
