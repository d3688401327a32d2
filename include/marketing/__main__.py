import sys

from marketing.cli import main

sys.exit(main())
