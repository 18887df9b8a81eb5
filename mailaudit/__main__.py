"""`python -m mailaudit`."""

from mailaudit.cli import main

if __name__ == "__main__":
    main()
