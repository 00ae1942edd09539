"""Allow ``python -m cdhelper``."""

from cdhelper.cli import main

if __name__ == "__main__":
    main()
