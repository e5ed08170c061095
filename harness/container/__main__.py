import sys

from harness.container.pod import main

sys.exit(main())
