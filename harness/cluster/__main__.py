import sys

from harness.cluster.local import main

sys.exit(main())
