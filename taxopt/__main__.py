import sys

from taxopt.cli import main

sys.exit(main())
